"""Routes that a setting switches off: the compatibility APIs (docs/compatibility.md)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation

View = Callable[..., HttpResponse]


def switched(setting: str, view: View) -> View:
    """
    Return ``view`` answering 404, as an address this server does not serve, while the
    boolean ``setting`` is off. Read per request, so that tests can switch it; the schema
    leaves the view out as well (core/openapi.py).

    The peers' APIs speak English and their clients match English words, so these routes
    answer in English whatever the request's language: the view's messages, and OneTime's own
    answers there (this 404, a 405). The next request's LocaleMiddleware activates its own.
    """

    @wraps(view)
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        translation.activate("en")
        request.LANGUAGE_CODE = "en"
        if not getattr(settings, setting):
            raise Http404
        return view(request, *args, **kwargs)

    answer.switch = setting  # type: ignore[attr-defined]
    return answer
