import uuid

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse


def _absolute(request: HttpRequest, path: str) -> str:
    if settings.ONETIME_BASE_URL:
        return f"{settings.ONETIME_BASE_URL}{path}"
    return request.build_absolute_uri(path)


def secret_url(request: HttpRequest, secret_id: uuid.UUID) -> str:
    """Return the link the sender gives to the recipient."""
    return _absolute(request, reverse("vault:secret", args=[secret_id]))


def receipt_url(request: HttpRequest, token: str) -> str:
    """Return the sender's private receipt link."""
    return _absolute(request, reverse("vault:receipt", args=[token]))
