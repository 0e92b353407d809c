"""Error pages (HTML for the site, JSON under /api/) and health checks."""

import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from onetime.core import metrics
from onetime.core.auth import bearer_matches
from onetime.core.errors import UNAVAILABLE_RETRY_AFTER, ServiceError, error_page

logger = logging.getLogger(__name__)


class _NotFound(ServiceError):
    status_code = 404
    code = "not_found"
    default_detail = _("There is no page at this address. Check that the link was copied in full.")
    title = _("Page not found")


class _ServerError(ServiceError):
    status_code = 500
    code = "server_error"
    default_detail = _("Something went wrong on our side. Please try again.")
    title = _("Something went wrong")


class _CsrfFailed(ServiceError):
    status_code = 403
    code = "csrf_failed"
    default_detail = _("The form has expired. Go back, reload the page and try again.")
    title = _("The form has expired")


class _BadRequest(ServiceError):
    status_code = 400
    code = "bad_request"
    default_detail = _("The request is invalid.")


class _BadHost(ServiceError):
    status_code = 400
    code = "bad_host"
    default_detail = _("This server does not serve the host named in the request.")
    title = _("Unknown host")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, _NotFound())


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, DisallowedHost):
        return error_page(request, _BadHost())
    return error_page(request, _BadRequest())


def server_error(request: HttpRequest) -> HttpResponse:
    return error_page(request, _ServerError())


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_page(request, _CsrfFailed())


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 while the process serves requests."""
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when the database answers a query, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.error("readiness check failed: %s", type(exc).__name__)
        return JsonResponse(
            {"status": "unavailable"},
            status=503,
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
        )
    return JsonResponse({"status": "ok"})


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; behind ``Authorization: Bearer METRICS_TOKEN`` when it is set."""
    token = settings.METRICS_TOKEN
    if token and not bearer_matches(request, token):
        return HttpResponse("unauthorized\n", status=401, headers={"WWW-Authenticate": "Bearer"})
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
