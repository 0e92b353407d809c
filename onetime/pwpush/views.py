"""
Password Pusher's web links (/p/<token>, /p/<token>/r) open OneTime's recipient page; any
other /api/v2/ address is one Password Pusher does not serve.
"""

import uuid

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from onetime.pwpush.documents import NOT_FOUND


@require_safe
def push_page(request: HttpRequest, secret_id: uuid.UUID) -> HttpResponse:
    """
    Redirect to the secret's page, which asks for a click before it reveals anything: the
    link stays safe for link-preview robots. Changes nothing.
    """
    return HttpResponseRedirect(reverse("vault:secret", args=[secret_id]))


@csrf_exempt  # changes nothing, whatever the method
def not_found(request: HttpRequest, rest: str) -> JsonResponse:
    """Anything else under /api/v2/: Password Pusher serves no such endpoint."""
    return JsonResponse(NOT_FOUND, status=404, content_type="application/json; charset=utf-8")
