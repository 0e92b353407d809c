"""
The web links OneTimeSecret's clients build (<base>/secret/<key>, /receipt/<key>,
/private/<key>): redirects to OneTime's own pages, which never consume on a GET. The
redirect itself reads nothing and changes nothing, so link previews cannot harm.
"""

import uuid

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_safe


@require_safe
def secret(request: HttpRequest, secret_id: uuid.UUID) -> HttpResponseRedirect:
    """Send the recipient to the page that asks before it reveals (/s/<uuid>)."""
    return HttpResponseRedirect(reverse("vault:secret", args=[secret_id]))


@require_safe
def receipt(request: HttpRequest, token: str) -> HttpResponseRedirect:
    """Send the sender to the receipt page (/r/<token>)."""
    return HttpResponseRedirect(reverse("vault:receipt", args=[token]))
