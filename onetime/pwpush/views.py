"""Password Pusher's web links (/p/<token>, /p/<token>/r) open OneTime's recipient page."""

import uuid

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_safe


@require_safe
def push_page(request: HttpRequest, secret_id: uuid.UUID) -> HttpResponse:
    """
    Redirect to the secret's page, which asks for a click before it reveals anything: the
    link stays safe for link-preview robots. Changes nothing.
    """
    return HttpResponseRedirect(reverse("vault:secret", args=[secret_id]))
