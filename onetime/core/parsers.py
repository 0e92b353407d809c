import re
from collections.abc import Iterable
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from onetime.core.errors import InvalidInput


class SafeJSONParser(JSONParser):
    """JSONParser that answers 400 for JSON nested too deeply to parse, instead of a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deeply") from None


# The compatibility APIs' bodies: JSON, a form, or a multipart form (docs/compatibility.md).
FORM_OR_JSON = [SafeJSONParser, FormParser, MultiPartParser]


def request_params(request: Request) -> dict[str, Any]:
    """
    Return the request's parameters as Rack and Rails read them (the compatibility APIs):
    the query string, with the body's (a JSON object or a form) over it; for a key given
    twice, the last value.
    """
    params: dict[str, Any] = {
        key: request.query_params.getlist(key)[-1] for key in request.query_params
    }
    data = request.data
    if isinstance(data, QueryDict):
        params.update((key, data.getlist(key)[-1]) for key in data)
    elif isinstance(data, dict):
        params.update(data)
    else:
        raise InvalidInput(_("Send the parameters as a JSON object, a form or a query string."))
    return params


class CharsetJSONRenderer(JSONRenderer):
    """JSON as the peers send it: ``application/json; charset=utf-8``."""

    charset = "utf-8"


class AlwaysJson(DefaultContentNegotiation):
    """JSON whatever Accept says: the peers never answer 406."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


_LEADING_INTEGER = re.compile(r"\s*([+-]?)([0-9]+)")
# Beyond this many digits a number is out of every range the peers' parameters have.
_MAX_DIGITS = 18


def to_i(text: str) -> int:
    """
    Return ``text`` read as Ruby's String#to_i reads it, as the peers read integer
    parameters: the integer it starts with ("90s" → 90; ASCII digits only), 0 when it starts
    with none. More than 18 digits read as ±10**18, out of every range here (and never a
    conversion of thousands of digits).
    """
    match = _LEADING_INTEGER.match(text)
    if match is None:
        return 0
    sign, digits = match.groups()
    value = int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS
    return -value if sign == "-" else value
