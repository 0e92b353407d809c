"""Routes of what every app shares: health checks, metrics, the API's schema and docs."""

from django.urls import path
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from onetime.core import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    # GET and HEAD only, answered before DRF's dispatch (see MethodNotAllowedMiddleware).
    path("api/schema/", require_safe(SpectacularAPIView.as_view()), name="schema"),
    path(
        "api/docs/",
        require_safe(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
]
