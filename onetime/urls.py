from django.urls import include, path
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from onetime.bot import views as bot_views
from onetime.codes import api as codes_api
from onetime.core import views as core_views

urlpatterns = [
    path("", include("onetime.vault.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics_view, name="metrics"),
    path("telegram/webhook/", bot_views.webhook, name="telegram-webhook"),
    path("api/v1/codes/verify", codes_api.CodeVerifyApi.as_view(), name="api_code_verify"),
    # GET and HEAD only, answered before DRF's dispatch (see MethodNotAllowedMiddleware).
    path("api/schema/", require_safe(SpectacularAPIView.as_view()), name="schema"),
    path(
        "api/docs/",
        require_safe(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
]

handler400 = "onetime.core.views.bad_request"
handler404 = "onetime.core.views.page_not_found"
handler500 = "onetime.core.views.server_error"
