import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from django.utils.translation import gettext_lazy as _

from onetime.core.errors import MethodNotAllowed, TooLarge, Unavailable, error_page

logger = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], HttpResponse]

# No inline script or style anywhere; forms post only to this origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Swagger UI (the API docs page) sets inline styles on its elements.
CSP_API_DOCS = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + (
    "; connect-src 'self'"
)


class MethodNotAllowedMiddleware:
    """
    Give every 405 one clear answer, JSON under /api/ and a page elsewhere, with an Allow
    header naming what the route serves.

    Django's require_http_methods and WhiteNoise answer 405 with an empty body, and DRF's
    views render theirs with the view's own renderer (plain text for the API docs, YAML for
    the schema). OPTIONS is served nowhere (no CORS, no discovery): it answers 405 too, so
    no Allow header lists it.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Allow" in response:
            methods = [m.strip() for m in response["Allow"].split(",")]
            response["Allow"] = ", ".join(m for m in methods if m and m != "OPTIONS")
        if response.status_code != 405:
            return response
        answer = error_page(request, MethodNotAllowed())
        answer["Allow"] = response.get("Allow", "")
        return answer


class CollapseSlashesMiddleware:
    """
    Read repeated slashes in a path as one, as Rack and Rails do: a tool whose base URL ends
    in "/" asks for //api/v1/share (docs/compatibility.md), and a page for //s/<id>.
    """

    SLASHES = re.compile("//+")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "//" in request.path_info:
            request.path_info = self.SLASHES.sub("/", request.path_info)
            request.path = self.SLASHES.sub("/", request.path)
        return self.get_response(request)


class HealthCheckMiddleware:
    """
    Answer /healthz and /readyz before anything checks the Host header: container and
    load-balancer probes come by IP address, which ALLOWED_HOSTS rightly refuses elsewhere.
    """

    PATHS = frozenset({"/healthz", "/readyz"})

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in self.PATHS:
            return self.get_response(request)
        request.resolver_match = match = resolve(request.path_info)
        response: HttpResponse = match.func(request)
        return response


class SecurityHeadersMiddleware:
    """
    Set the headers every answer needs: never cached, never indexed, never framed, no
    referrer, no content sniffing, a strict Content-Security-Policy.

    It is the outermost middleware and sets all of them itself, so that answers which never
    pass through Django's SecurityMiddleware and XFrameOptionsMiddleware carry them too:
    health checks, a 405 of a static file, a 413 or a refused Host answered early, a 500
    that a middleware raised. Only static files that are served keep WhiteNoise's caching.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        static_file = request.path.startswith(settings.STATIC_URL) and response.status_code < 400
        if not static_file:
            response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        docs = request.path.startswith("/api/docs/")
        for name, value in security_headers(CSP_API_DOCS if docs else CSP).items():
            response.setdefault(name, value)
        return response


def security_headers(csp: str = CSP) -> dict[str, str]:
    """Return the headers every answer carries (also the server front's own 408)."""
    return {
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
        "Content-Security-Policy": csp,
        "X-Frame-Options": settings.X_FRAME_OPTIONS,
        "Referrer-Policy": settings.SECURE_REFERRER_POLICY,
        "X-Content-Type-Options": "nosniff",
    }


class RequestSizeMiddleware:
    """Answer 413 before reading a body larger than Django would accept."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return error_page(request, TooLarge(_("The request body is too large.")))
        return self.get_response(request)


class LanguageSwitchMiddleware:
    """
    Let ``?lang=en`` (or ``ru``) pick the language and remember it in a cookie.

    A plain link works without JavaScript and, unlike Django's set_language view, needs no
    redirect whose URL would carry the page's capability id.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        lang = request.GET.get("lang")
        if lang not in dict(settings.LANGUAGES):
            return self.get_response(request)
        request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = lang
        response = self.get_response(request)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            lang,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=True,
        )
        return response


class DatabaseUnavailableMiddleware:
    """Answer 503 with Retry-After, not a 500, while the database cannot be reached."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        # The exception text names the server, never request data.
        logger.error("database unavailable: %s", type(exception).__name__)
        return error_page(request, Unavailable())
