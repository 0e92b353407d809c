"""
Errors that services raise and every front end (web, API) turns into an answer.

Each error has the HTTP status it maps to, a stable machine ``code`` for API clients and
a human, translated ``detail``. The API answers ``{"status": code, "detail": ...}``.
"""

import contextlib
import logging
import math
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# How long a client should wait before retrying when the database is unavailable.
UNAVAILABLE_RETRY_AFTER = 5


class ServiceError(Exception):
    status_code = 400
    code = "invalid"
    default_detail: str | Promise = _("The request is invalid.")
    # The error page's heading: a few words; the detail explains below it.
    title: str | Promise = _("Invalid request")

    def __init__(self, detail: str | Promise | None = None, **extra: Any) -> None:
        self.detail = detail if detail is not None else self.default_detail
        self.extra = extra
        super().__init__(self.code)

    def headers(self) -> dict[str, str]:
        return {}


class InvalidInput(ServiceError):
    pass


class TooLarge(ServiceError):
    status_code = 413
    code = "too_large"
    default_detail = _("The request is too large.")
    title = _("Too large")


class MethodNotAllowed(ServiceError):
    status_code = 405
    code = "method_not_allowed"
    default_detail = _("This method is not allowed here.")
    title = _("Not allowed")


class RateLimited(ServiceError):
    status_code = 429
    code = "rate_limited"
    default_detail = _("You have sent more requests than the service allows in a short time.")
    title = _("Too many requests")

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ServiceError):
    status_code = 503
    code = "unavailable"
    default_detail = _("The service is temporarily unavailable. Please try again shortly.")
    title = _("Temporarily unavailable")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)}


def wait_text(seconds: int) -> str:
    """Return how long to wait before trying again, in the active language, rounded up."""
    if seconds < 60:
        return ngettext("Try again in %(n)d second.", "Try again in %(n)d seconds.", seconds) % {
            "n": seconds
        }
    minutes = math.ceil(seconds / 60)
    return ngettext("Try again in %(n)d minute.", "Try again in %(n)d minutes.", minutes) % {
        "n": minutes
    }


def error_body(code: str, detail: str | Promise, **extra: Any) -> dict[str, Any]:
    return {"status": code, "detail": str(detail), **extra}


def json_error(
    status: int,
    code: str,
    detail: str | Promise,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    """Return an error answer for API paths outside DRF views (404s, middleware)."""
    return JsonResponse(
        error_body(code, detail, **extra),
        status=status,
        headers=headers,
        json_dumps_params={"ensure_ascii": False},
    )


def is_api_request(request: HttpRequest) -> bool:
    """Return True for JSON routes: /api/…, and Password Pusher's /p….json (compatibility)."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


_API_CODES = {
    exceptions.ParseError: ("invalid_json", _("The request body is not valid JSON.")),
    exceptions.UnsupportedMediaType: (
        "unsupported_media_type",
        _("Send the request body as JSON (Content-Type: application/json)."),
    ),
    exceptions.MethodNotAllowed: (MethodNotAllowed.code, MethodNotAllowed.default_detail),
    exceptions.NotAcceptable: ("not_acceptable", _("Only application/json can be returned.")),
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn every error an API view can raise into JSON with ``status`` and ``detail``."""
    if isinstance(exc, OperationalError | InterfaceError):
        # The exception text names the server, never request data; keep only its type.
        logger.error("database unavailable: %s", type(exc).__name__)
        exc = Unavailable()
    if isinstance(exc, ServiceError):
        return Response(
            error_body(exc.code, exc.detail, **exc.extra),
            status=exc.status_code,
            headers=exc.headers(),
        )
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _first_message(exc.detail), errors=exc.detail)
        return Response(body, status=400)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(error_body("not_found", _("Not found.")), status=404)
    if isinstance(exc, exceptions.APIException):
        code, detail = _API_CODES.get(type(exc), (str(exc.default_code), str(exc.detail)))
        return Response(error_body(code, detail), status=exc.status_code)
    return None


def _first_message(detail: Any) -> str:
    """Return the first human message in DRF's nested validation details, with its field."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = _first_message(value)
            return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def error_page(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    """Render a service error as JSON for API paths and as a page for everything else."""
    with _language_of(request):
        if is_api_request(request):
            response: HttpResponse = json_error(
                exc.status_code, exc.code, exc.detail, headers=exc.headers(), **exc.extra
            )
        else:
            response = render(
                request,
                "core/error.html",
                {
                    "title": exc.title,
                    "detail": exc.detail,
                    "status": exc.status_code,
                    "wait": wait_text(exc.retry_after) if isinstance(exc, RateLimited) else "",
                },
                status=exc.status_code,
            )
            for name, value in exc.headers().items():
                response[name] = value
        response.setdefault("Content-Language", translation.get_language())
    return response


def _language_of(request: HttpRequest) -> contextlib.AbstractContextManager[None]:
    """
    Return a context in the request's language. Answers of the middleware that runs before
    LocaleMiddleware (405s of /healthz and static files, a refused Host) would otherwise
    speak whatever language the worker thread's previous request left active.
    """
    if hasattr(request, "LANGUAGE_CODE"):  # LocaleMiddleware has activated it
        return contextlib.nullcontext()
    return translation.override(translation.get_language_from_request(request))
