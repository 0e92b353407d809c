"""
Serializer fields of the JSON API that take exactly the JSON type the schema documents.

DRF's own fields coerce: CharField turns a number into a string, IntegerField parses
``"3600"``, ``"٣٦٠٠"`` (any Unicode digits) and ``3600.0``. A client that sends the wrong
type has a bug, and a secret of ``42`` that comes back as ``"42"`` is not byte-exact, so
these fields refuse anything but their own type with a 400.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# JSON Schema for "no NUL character" (DRF's CharField refuses NUL). Not a `pattern` of the
# field itself: drf-spectacular wraps a blank-allowed string with a pattern in a oneOf with
# the empty string, which the pattern matches too, and oneOf then refuses "".
NO_NUL: dict[str, Any] = {"not": {"pattern": "\\x00"}}


class StrictField:
    """A field whose OpenAPI schema adds ``schema_extra()`` (core/openapi.py applies it)."""

    def schema_extra(self) -> dict[str, Any]:
        """Return keywords to add to the field's schema, computed when it is generated."""
        return {}


class StrictCharField(StrictField, serializers.CharField):
    """A JSON string and nothing else; never a NUL character."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))

    def schema_extra(self) -> dict[str, Any]:
        return dict(NO_NUL)


class StrictIntegerField(StrictField, serializers.IntegerField):
    """A JSON integer and nothing else: not a string of digits, not a boolean, not 1.0."""

    default_error_messages = {
        "invalid": _("Send a whole number as a JSON number, without quotes or decimals."),
    }

    def to_internal_value(self, data: Any) -> int:
        # bool is an int in Python; JSON's true and false are not numbers.
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data
