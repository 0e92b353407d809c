import re
import uuid

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.urls import reverse

# Addresses a server listens on that no client can open: every interface.
_ANY_ADDRESS = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 - compared, not bound


def site_url() -> str:
    """
    Return the service's address for links made outside a request (the bot): ONETIME_BASE_URL,
    else http://HOST:PORT as this server listens, with 127.0.0.1 for a wildcard HOST. Without
    ONETIME_BASE_URL such links open only on this machine (runbot warns at start).
    """
    if settings.ONETIME_BASE_URL:
        return str(settings.ONETIME_BASE_URL)
    host = str(settings.HOST)
    if host in _ANY_ADDRESS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{settings.PORT}"


def _absolute(request: HttpRequest | None, path: str) -> str:
    if settings.ONETIME_BASE_URL or request is None:
        return f"{site_url()}{path}"
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


def absolute_url(request: HttpRequest | None, path: str) -> str:
    """Return ``path`` on this service as a link, as secret_url makes its links."""
    return _absolute(request, path)


def secret_url(request: HttpRequest | None, secret_id: uuid.UUID) -> str:
    """Return the link the sender gives to the recipient (``request``: None outside one)."""
    return _absolute(request, reverse("vault:secret", args=[secret_id]))


def receipt_url(request: HttpRequest | None, token: str) -> str:
    """Return the sender's private receipt link (``request``: None outside one)."""
    return _absolute(request, reverse("vault:receipt", args=[token]))


# A secret's id as links write it: the 8-4-4-4-12 layout only. uuid.UUID() also reads 32 bare
# hex digits, braces and "urn:uuid:", which the log filter would not recognise to cut short.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def secret_id_from(text: str) -> uuid.UUID | None:
    """Return the secret id a link's path segment holds; None if it holds none."""
    return uuid.UUID(text) if _CANONICAL_UUID.fullmatch(text) else None
