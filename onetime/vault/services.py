"""
Use cases of one-time secrets. The web pages and the JSON API both call these.

A reveal first reads the row without a lock or a transaction: that read alone answers every
request for a secret that is not live (unknown, purged, revealed, burned, locked, expired),
so reloads and unknown ids never queue behind the request that is revealing. A live secret
without a passphrase is then claimed in a transaction: one statement locks the row, turns it
from active to revealed, wipes its ciphertext and hands the old ciphertext to the caller
whose statement changed the row; only that caller decrypts, and a blob that cannot be
decrypted rolls the claim back, so the secret stays revealable once the keys are repaired.
Every other change (passphrase attempts, burns) happens inside a transaction that holds the
secret's row lock (SELECT … FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction
mode takes the database write lock at BEGIN), so that concurrent callers queue up and each
sees the state the previous one left.
"""

import hashlib
import logging
import secrets as random_tokens
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from prometheus_client import Counter

from onetime.core import metrics, ratelimit
from onetime.core.batches import delete_in_batches, update_in_batches
from onetime.core.errors import InvalidInput, ServiceError, TooLarge, Unavailable
from onetime.vault import crypto
from onetime.vault.models import Secret

logger = logging.getLogger(__name__)

State = Secret.State


class SecretNotFound(ServiceError):
    status_code = 404
    code = "not_found"
    default_detail = _("There is no such secret. Check that the link was copied in full.")


class SecretGone(ServiceError):
    """The secret was revealed, burned or locked («destroyed»), or it expired."""

    status_code = 410

    def __init__(self, state: str, *, unwiped: bool = False) -> None:
        self.state = state
        # Expired by the clock while its row is still active (ciphertext and all).
        self.unwiped = unwiped
        self.code = "expired" if state == State.EXPIRED else "destroyed"
        super().__init__(
            _("The secret has expired") if state == State.EXPIRED else _("The secret is destroyed")
        )


class PassphraseRequired(ServiceError):
    status_code = 403
    code = "passphrase_required"
    default_detail = _("This secret is protected by a passphrase. Enter it to reveal the secret.")


class WrongPassphrase(ServiceError):
    status_code = 403
    code = "wrong_passphrase"

    def __init__(self, attempts_left: int) -> None:
        detail = ngettext(
            "Wrong passphrase. %(n)d attempt left before the secret is destroyed.",
            "Wrong passphrase. %(n)d attempts left before the secret is destroyed.",
            attempts_left,
        ) % {"n": attempts_left}
        super().__init__(detail, attempts_left=attempts_left)


class InvalidPassphrase(InvalidInput):
    """The passphrase itself is unusable (too long, a NUL, not Unicode), not wrong."""


class ReceiptNotFound(ServiceError):
    status_code = 404
    code = "not_found"
    default_detail = _("There is no such receipt, or it is older than the retention period.")


@dataclass(frozen=True)
class CreatedSecret:
    secret: Secret
    # Returned once, to the sender; only its hash is stored.
    receipt_token: str


def _receipt_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _encode_secret(plaintext: str) -> bytes:
    if not plaintext:
        raise InvalidInput(_("The secret is empty."))
    if "\x00" in plaintext:
        raise InvalidInput(_("The secret contains a NUL character, which is not allowed."))
    try:
        data = plaintext.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            _("The secret is not valid Unicode text (it contains a lone surrogate).")
        ) from None
    limit = settings.ONETIME_MAX_SECRET_BYTES
    if len(data) > limit:
        raise TooLarge(
            _("The secret is %(size)d bytes long; the limit is %(limit)d bytes (UTF-8).")
            % {"size": len(data), "limit": limit}
        )
    return data


# Argon2id hashes any length, but a bound keeps a request's work bounded.
PASSPHRASE_MAX_LENGTH = 1024


def _check_passphrase(passphrase: str) -> None:
    if "\x00" in passphrase:
        raise InvalidPassphrase(_("The passphrase contains a NUL character, which is not allowed."))
    try:
        passphrase.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPassphrase(_("The passphrase is not valid Unicode text.")) from None
    if len(passphrase) > PASSPHRASE_MAX_LENGTH:
        raise InvalidPassphrase(
            _("The passphrase is longer than %(n)d characters.") % {"n": PASSPHRASE_MAX_LENGTH}
        )


def _check_ttl(ttl: int | None) -> int:
    if ttl is None:
        return int(settings.ONETIME_DEFAULT_TTL)
    low, high = settings.ONETIME_MIN_TTL, settings.ONETIME_MAX_TTL
    if not low <= ttl <= high:
        raise InvalidInput(
            _("The lifetime must be between %(low)d and %(high)d seconds.")
            % {"low": low, "high": high}
        )
    return ttl


def secret_create(
    *, plaintext: str, ttl: int | None, passphrase: str | None, client_ip: str
) -> CreatedSecret:
    """Encrypt and store a new secret; return it with the sender's receipt token."""
    ratelimit.rate_limit_hit(ratelimit.CREATE, client_ip)
    data = _encode_secret(plaintext)
    if passphrase:
        _check_passphrase(passphrase)
    lifetime = _check_ttl(ttl)
    now = timezone.now()
    secret_id = uuid.uuid4()
    receipt_token = random_tokens.token_urlsafe(24)  # 192 bits
    secret = Secret.objects.create(
        id=secret_id,
        ciphertext=crypto.seal(
            data,
            secret_id=secret_id,
            keys=settings.ONETIME_ENCRYPTION_KEYS,
            passphrase=passphrase or None,
        ),
        passphrase_required=bool(passphrase),
        receipt_hash=_receipt_hash(receipt_token),
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    metrics.SECRETS_CREATED.inc()
    logger.info("secret %s created, ttl %ds", str(secret_id)[:8], lifetime)
    return CreatedSecret(secret=secret, receipt_token=receipt_token)


def retention() -> timedelta:
    """Return how long a tombstone is kept (ONETIME_TOMBSTONE_DAYS)."""
    return timedelta(days=settings.ONETIME_TOMBSTONE_DAYS)


def secret_get(*, secret_id: uuid.UUID, client_ip: str) -> Secret:
    """Return the active secret without consuming it; raise SecretNotFound or SecretGone."""
    ratelimit.rate_limit_hit(ratelimit.LOOKUP, client_ip)
    return _read_active(secret_id)


def _read_active(secret_id: uuid.UUID) -> Secret:
    """
    Return the active secret, read without a lock or a transaction (the metadata GET, and
    the first step of a reveal); raise SecretNotFound or SecretGone.
    """
    now = timezone.now()
    secret = (
        Secret.objects.only("id", "state", "passphrase_required", "expires_at", "ended_at")
        .filter(pk=secret_id)
        .first()
    )
    if secret is None or secret.is_purged_at(now, retention=retention()):
        raise SecretNotFound
    state = secret.state_at(now)
    if state != State.ACTIVE:
        raise SecretGone(state, unwiped=secret.state == State.ACTIVE)
    return secret


_ENDED_METRIC: dict[str, Counter] = {
    State.REVEALED: metrics.SECRETS_REVEALED,
    State.EXPIRED: metrics.SECRETS_EXPIRED,
    State.BURNED: metrics.SECRETS_BURNED,
    State.LOCKED: metrics.SECRETS_BURNED,
}


def _end(secret: Secret, state: str, ended_at: datetime) -> None:
    """Turn an active secret into a tombstone, wiping its ciphertext."""
    # Compare-and-set on top of the row lock: the update only applies to an active row.
    updated = Secret.objects.filter(pk=secret.pk, state=State.ACTIVE).update(
        state=state, ciphertext=None, ended_at=ended_at
    )
    if updated != 1:  # pragma: no cover - the row lock makes this unreachable
        raise SecretGone(State.REVEALED)
    secret.state, secret.ciphertext, secret.ended_at = state, None, ended_at
    transaction.on_commit(_ENDED_METRIC[state].inc)


def secret_reveal(*, secret_id: uuid.UUID, passphrase: str | None, client_ip: str) -> str:
    """
    Return the plaintext and destroy the secret, at most once however many callers race.

    Only the caller that claimed the secret decrypts it. Wrong passphrases are counted under
    the row lock; the last allowed one destroys the secret. A blob that the server's keys
    cannot open raises Unavailable and leaves the secret untouched (the claim is rolled
    back), so it can be revealed once repaired.
    """
    ratelimit.rate_limit_hit(ratelimit.REVEAL, client_ip)
    if passphrase:
        _check_passphrase(passphrase)
    try:
        return _reveal(secret_id, passphrase)
    except SecretGone as gone:
        if gone.unwiped:
            _wipe_expired(secret_id)
        raise


def _reveal(secret_id: uuid.UUID, passphrase: str | None) -> str:
    # Not live (404 or 410): answered from this read, with no lock and no transaction.
    secret = _read_active(secret_id)
    if secret.passphrase_required:
        if not passphrase:
            raise PassphraseRequired
        return _reveal_locked(secret_id, passphrase)
    plaintext = _reveal_claimed(secret_id)
    if plaintext is not None:
        return plaintext
    # The secret changed between the read and the claim (another reveal, a burn, its TTL).
    # The claim waited for that change to commit, so a second read tells which.
    _read_active(secret_id)
    # Still active: only the TTL, which ran out between the read and the claim, can have
    # made the claim miss (unless the clock stepped back since).
    raise SecretGone(State.EXPIRED, unwiped=True)


def _wipe_expired(secret_id: uuid.UUID) -> None:
    """
    Wipe a secret whose TTL ran out, now rather than at the next cleanup pass: one
    compare-and-set UPDATE in autocommit, which matches only a row still active and past
    its expiry (a no-op for a tombstone or a secret already wiped).
    """
    wiped = Secret.objects.filter(
        pk=secret_id, state=State.ACTIVE, expires_at__lte=timezone.now()
    ).update(state=State.EXPIRED, ciphertext=None, ended_at=F("expires_at"))
    metrics.SECRETS_EXPIRED.inc(wiped)


# PostgreSQL: one statement locks the row, claims it and returns the ciphertext it held. The
# old value comes from the locking subquery, since RETURNING sees the updated row (NULL).
# Against a concurrent claim, FOR UPDATE waits for it to end, then re-checks the WHERE on the
# row it left: exactly one claim matches. Raw SQL because Django's update() returns no rows.
_CLAIM_SQL = f"""
    UPDATE {Secret._meta.db_table}
    SET state = 'revealed', ciphertext = NULL, ended_at = %s
    FROM (
        SELECT id, ciphertext FROM {Secret._meta.db_table}
        WHERE id = %s AND state = 'active' AND expires_at > %s
        FOR UPDATE
    ) AS claimed
    WHERE {Secret._meta.db_table}.id = claimed.id
    RETURNING claimed.ciphertext
"""  # noqa: S608 - the table name is ours, the values are bound parameters


def _claim(secret_id: uuid.UUID, now: datetime) -> bytes | None:
    """
    Turn the secret from active to revealed if it is active and not expired at ``now``;
    return the ciphertext it held, or None when it was not. Run inside a transaction: the
    row stays locked, and the claim undone by a rollback, until the caller's block ends.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [now, secret_id, now])
            row = cursor.fetchone()
        return None if row is None else bytes(row[0])
    # SQLite: the IMMEDIATE transaction took the database's write lock at BEGIN, so the row
    # cannot change between these two statements (select_for_update is a no-op there).
    ciphertext = (
        Secret.objects.select_for_update()
        .filter(pk=secret_id, state=State.ACTIVE, expires_at__gt=now)
        .values_list("ciphertext", flat=True)
        .first()
    )
    if ciphertext is None:
        return None
    Secret.objects.filter(pk=secret_id).update(state=State.REVEALED, ciphertext=None, ended_at=now)
    return bytes(ciphertext)


def _reveal_claimed(secret_id: uuid.UUID) -> str | None:
    """
    Claim a secret without a passphrase, then decrypt it, in one transaction; return None,
    having changed nothing, when the claim found it no longer active.
    """
    with transaction.atomic():
        # The clock is read for the claim, not at the first read: a secret that expired in
        # between is not revealed.
        ciphertext = _claim(secret_id, timezone.now())
        if ciphertext is None:
            return None
        try:
            plaintext = crypto.unseal(
                ciphertext,
                secret_id=secret_id,
                keys=settings.ONETIME_ENCRYPTION_KEYS,
                passphrase=None,
            )
        except crypto.DecryptionError as exc:
            logger.error("secret %s cannot be decrypted: %s", str(secret_id)[:8], exc)
            raise Unavailable from None  # leaves the block: the claim is rolled back
        except crypto.PassphraseRequired:  # pragma: no cover - only a row altered by hand
            logger.error("secret %s has a passphrase its row does not record", str(secret_id)[:8])
            raise Unavailable from None
        transaction.on_commit(metrics.SECRETS_REVEALED.inc)
    logger.info("secret %s revealed", str(secret_id)[:8])
    return plaintext.decode("utf-8")


def _reveal_locked(secret_id: uuid.UUID, passphrase: str) -> str:
    """Reveal a passphrase-protected secret under the row lock, counting wrong guesses."""
    error: ServiceError | None = None
    plaintext = b""
    with transaction.atomic():
        secret = Secret.objects.select_for_update().filter(pk=secret_id).first()
        # The clock is read once the lock is held: a reveal that queued behind others must
        # not open a secret that expired while it waited.
        now = timezone.now()
        if secret is None or secret.is_purged_at(now, retention=retention()):
            raise SecretNotFound
        state = secret.state_at(now)
        if state != State.ACTIVE:
            # Expired included: wiped by secret_reveal once this transaction has ended.
            raise SecretGone(state, unwiped=secret.state == State.ACTIVE)
        assert secret.ciphertext is not None
        try:
            plaintext = crypto.unseal(
                bytes(secret.ciphertext),
                secret_id=secret.id,
                keys=settings.ONETIME_ENCRYPTION_KEYS,
                passphrase=passphrase,
            )
        except crypto.DecryptionError as exc:
            logger.error("secret %s cannot be decrypted: %s", str(secret.id)[:8], exc)
            raise Unavailable from None
        except crypto.WrongPassphrase:
            error = _count_wrong_passphrase(secret, now)
        else:
            _end(secret, State.REVEALED, now)
            logger.info("secret %s revealed", str(secret.id)[:8])
    # Raised after the commit, so that a failed attempt is recorded.
    if error is not None:
        raise error
    return plaintext.decode("utf-8")


def _count_wrong_passphrase(secret: Secret, now: datetime) -> ServiceError:
    attempts = secret.failed_attempts + 1
    left = max(0, settings.ONETIME_PASSPHRASE_ATTEMPTS - attempts)
    Secret.objects.filter(pk=secret.pk).update(failed_attempts=attempts)
    logger.info("secret %s: wrong passphrase, %d attempts left", str(secret.id)[:8], left)
    if left == 0:
        _end(secret, State.LOCKED, now)
        return SecretGone(State.LOCKED)
    return WrongPassphrase(attempts_left=left)


def receipt_get(*, token: str, client_ip: str) -> Secret:
    """Return the secret behind a sender's receipt token, as of now."""
    ratelimit.rate_limit_hit(ratelimit.LOOKUP, client_ip)
    now = timezone.now()
    secret = Secret.objects.defer("ciphertext").filter(receipt_hash=_receipt_hash(token)).first()
    if secret is None or secret.is_purged_at(now, retention=retention()):
        raise ReceiptNotFound
    if secret.state_at(now) == State.EXPIRED and secret.state == State.ACTIVE:
        # Show it as the tombstone it is; the wipe itself is left to reveal, burn and cleanup
        # so that a GET never writes.
        secret.state, secret.ended_at = State.EXPIRED, secret.expires_at
    return secret


def receipt_burn(*, token: str, client_ip: str) -> Secret:
    """Destroy the secret now, unless it already ended; return its receipt. Idempotent."""
    ratelimit.rate_limit_hit(ratelimit.LOOKUP, client_ip)
    with transaction.atomic():
        secret = (
            Secret.objects.select_for_update()
            .defer("ciphertext")
            .filter(receipt_hash=_receipt_hash(token))
            .first()
        )
        now = timezone.now()  # once the lock is held (see secret_reveal)
        if secret is None or secret.is_purged_at(now, retention=retention()):
            raise ReceiptNotFound
        if secret.state == State.ACTIVE:
            if secret.state_at(now) == State.EXPIRED:
                _end(secret, State.EXPIRED, secret.expires_at)
            else:
                _end(secret, State.BURNED, now)
                logger.info("secret %s burned by its sender", str(secret.id)[:8])
    return secret


def secrets_expire(*, now: datetime, batch_size: int, dry_run: bool = False) -> int:
    """Wipe active secrets past their TTL into expired tombstones; return how many."""
    expired = Secret.objects.filter(state=State.ACTIVE, expires_at__lte=now).order_by("expires_at")
    if dry_run:
        return expired.count()
    total = update_in_batches(
        expired,
        batch_size=batch_size,
        state=State.EXPIRED,
        ciphertext=None,
        ended_at=F("expires_at"),
    )
    metrics.SECRETS_EXPIRED.inc(total)
    return total


def tombstones_purge(*, now: datetime, batch_size: int, dry_run: bool = False) -> int:
    """Delete tombstones that ended more than ONETIME_TOMBSTONE_DAYS ago; return how many."""
    old = (
        Secret.objects.exclude(state=State.ACTIVE)
        .filter(ended_at__lt=now - retention())
        .order_by("ended_at")
    )
    if dry_run:
        return old.count()
    return delete_in_batches(old, batch_size=batch_size)
