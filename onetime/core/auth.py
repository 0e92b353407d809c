import hmac

from django.http import HttpRequest


def bearer_matches(request: HttpRequest, expected: str) -> bool:
    """Return True when ``Authorization: Bearer <expected>`` was sent (constant-time compare)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    )
