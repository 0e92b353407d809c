"""
OneTimeSecret's API v1 as OneTime speaks it (docs/compatibility.md): how its flat parameters
read, how a lifetime is clamped, how OneTime's states map onto its receipt states, and the
receipt ("metadata") document, with the fields, key order and types of OneTimeSecret
v0.26.6 (apps/api/v1/controllers/class_methods.rb#receipt_hsh, docs/research/peer-apis.md §2.7).

Pure: no request, no database, no settings; the API passes what it needs.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onetime.core.errors import InvalidInput
from onetime.core.parsers import to_i

# OneTimeSecret answers a key shorter than this "Not Found" (V1_MIN_IDENTIFIER_LENGTH).
MIN_KEY_LENGTH = 20

# The peer's messages, word for word: clients match them (corbaltcode maps the first two).
NOTHING_TO_SHARE = "You did not provide anything to share"
UNKNOWN_SECRET = "Unknown secret"  # noqa: S105 - a message, not a password
NOT_FOUND = "Not Found"
NOT_AUTHORIZED = "Not authorized"
NO_EMAIL = "An account is required to send emails."
RATE_LIMITED = "Rate limit exceeded. Please try again later."
UNAVAILABLE = "The service is temporarily unavailable. Please try again later."


def too_large(limit: int) -> str:
    return f"Secret value exceeds the maximum size of {limit} bytes"


# A generated password: OneTimeSecret's default length; OneTime's bounds (vault/passwords.py).
GENERATE_LENGTH = 12
GENERATE_CLASSES = ("upper", "lower", "digits")

# OneTime's states → the states OneTimeSecret v1 reports. A secret destroyed by wrong
# passphrases ("locked") reads as burned; "viewed" (and "orphaned") are never emitted.
STATES = {
    "active": "new",
    "revealed": "received",
    "burned": "burned",
    "locked": "burned",
    "expired": "expired",
}


def integer(value: Any) -> int:
    """
    Return ``value`` as Ruby's to_i reads it: the integer at the start of a string ("90s" →
    90), 0 when there is none ("", "abc"); a JSON number truncated to an integer.
    """
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 1e18 else 0
    return to_i(value) if isinstance(value, str) else 0


def text(value: Any) -> str:
    """Return a flat parameter as text: "" for none; a JSON array or object is no text."""
    if value is None or isinstance(value, list | dict):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def clamp_ttl(value: Any, *, default: int, low: int, high: int) -> int:
    """
    Return the lifetime a ``ttl`` parameter asks for, as OneTimeSecret reads it: absent →
    ``default``; otherwise its integer prefix (non-numeric → 0), clamped to [low, high].
    """
    if value is None:
        return default
    return max(low, min(high, integer(value)))


def recipients(value: Any) -> list[str]:
    """Return the non-empty recipients a ``recipient`` parameter (one or a list) names."""
    values = value if isinstance(value, list) else [value]
    return [item for item in (text(v).strip() for v in values) if item]


@dataclass(frozen=True)
class Share:
    """What share, create and generate were asked for, checked as OneTimeSecret checks it."""

    secret: str
    ttl: int
    passphrase: str | None


def share_request(
    params: Mapping[str, Any],
    *,
    generated: str | None,
    default_ttl: int,
    min_ttl: int,
    max_ttl: int,
) -> Share:
    """
    Return the secret to create from the parameters of share or create, or, for generate,
    with the ``generated`` password instead of ``secret``; raise InvalidInput with the
    peer's message.
    """
    secret = generated if generated is not None else text(params.get("secret"))
    if not secret:
        raise InvalidInput(NOTHING_TO_SHARE)
    if recipients(params.get("recipient")):
        raise InvalidInput(NO_EMAIL)
    ttl = clamp_ttl(params.get("ttl"), default=default_ttl, low=min_ttl, high=max_ttl)
    passphrase = params.get("passphrase")
    if isinstance(passphrase, list | dict):
        # Never dropped: the secret would be made without the protection asked for.
        raise InvalidInput("Send the passphrase as text.")
    return Share(secret=secret, ttl=ttl, passphrase=text(passphrase) or None)


def generate_length(params: Mapping[str, Any], *, low: int, high: int) -> int:
    """Return the length of password generate was asked for (``length``, default 12)."""
    value = params.get("length")
    length = GENERATE_LENGTH if value in (None, "") else integer(value)
    if length > high:
        raise InvalidInput(f"Generated password length must be no more than {high} characters")
    if length < low:
        raise InvalidInput(f"Generated password length must be at least {low} characters")
    return length


def valid_key(key: str) -> bool:
    return len(key) >= MIN_KEY_LENGTH


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def seconds_between(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds()))


@dataclass(frozen=True)
class Receipt:
    """What a receipt document is made from: a secret (live or a tombstone) as of ``now``."""

    metadata_key: str
    secret_key: str
    state: str  # OneTime's
    created: datetime
    expires: datetime
    ended: datetime | None
    purged_at: datetime  # when the receipt turns 404 (the tombstone's purge)
    metadata_url: str
    now: datetime


# OneTimeSecret v0.24's names, appended after the v1 names they repeat (V1_ADDITIVE_FIELD_MAP).
ADDITIVE = {
    "identifier": "metadata_key",
    "secret_identifier": "secret_key",
    "has_passphrase": "passphrase_required",
    "recipients": "recipient",
    "receipt_ttl": "metadata_ttl",
    "receipt_url": "metadata_url",
    "secret_value": "value",
}


def receipt_document(
    receipt: Receipt,
    *,
    created: bool = False,
    passphrase_required: bool | None = None,
    value: str | None = None,
) -> dict[str, Any]:
    """
    Return the receipt document in OneTimeSecret v0.26.6's key order and types: epoch
    seconds and lifetimes as integers, ``recipient`` an array, ``share_domain`` "". A
    received secret drops ``secret_ttl`` and gains ``received``. ``passphrase_required`` and
    ``value`` appear when given.

    ``secret_key`` (the share link's id) is only in the answer that ``created`` the secret:
    a receipt never gives the share link away (PRODUCT.md §2.3), since a receipt link may be
    passed on by mistake, and every OneTime secret has one, made here or not.
    """
    state = STATES[receipt.state]
    live = state == "new"
    document: dict[str, Any] = {
        "custid": "anon",
        "metadata_key": receipt.metadata_key,
        "secret_key": receipt.secret_key,
        "ttl": seconds_between(receipt.created, receipt.expires),
        "metadata_ttl": seconds_between(receipt.now, receipt.purged_at),
        "secret_ttl": seconds_between(receipt.now, receipt.expires) if live else None,
        "metadata_url": receipt.metadata_url,
        "state": state,
        "updated": epoch(receipt.ended or receipt.created),
        "created": epoch(receipt.created),
        "received": epoch(receipt.ended) if state == "received" and receipt.ended else 0,
        "recipient": [],
        "share_domain": "",
    }
    if state == "received":
        del document["secret_ttl"]
    else:
        del document["received"]
    if state == "received" or not created:
        del document["secret_key"]
    if value is not None:
        document["value"] = value
    if passphrase_required is not None:
        document["passphrase_required"] = passphrase_required
    for new, old in ADDITIVE.items():
        if old in document:
            document[new] = document[old]
    return document
