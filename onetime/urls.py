"""The project's routes: each app wires its own in its urls module; this file includes them."""

from django.urls import include, path

urlpatterns = [
    path("", include("onetime.vault.urls")),
    path("", include("onetime.codes.urls")),
    path("", include("onetime.bot.urls")),
    path("", include("onetime.pwpush.urls")),
    path("", include("onetime.ots.urls")),
    path("", include("onetime.core.urls")),
]

handler400 = "onetime.core.views.bad_request"
handler404 = "onetime.core.views.page_not_found"
handler500 = "onetime.core.views.server_error"
