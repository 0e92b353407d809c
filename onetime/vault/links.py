import uuid

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.urls import reverse


def _absolute(request: HttpRequest, path: str) -> str:
    if settings.ONETIME_BASE_URL:
        return f"{settings.ONETIME_BASE_URL}{path}"
    return f"{request.scheme}://{_served_host(request)}{path}"


def _served_host(request: HttpRequest) -> str:
    """
    Return the host name of the request, which ALLOWED_HOSTS has accepted, with its port
    only when that is the port this server serves on. ALLOWED_HOSTS checks no port, so any
    port a client writes into Host would otherwise reach the links its sender passes on.
    """
    domain, port = split_domain_port(request.get_host())
    if port and port == str(request.get_port()):
        return f"{domain}:{port}"
    return domain


def secret_url(request: HttpRequest, secret_id: uuid.UUID) -> str:
    """Return the link the sender gives to the recipient."""
    return _absolute(request, reverse("vault:secret", args=[secret_id]))


def receipt_url(request: HttpRequest, token: str) -> str:
    """Return the sender's private receipt link."""
    return _absolute(request, reverse("vault:receipt", args=[token]))
