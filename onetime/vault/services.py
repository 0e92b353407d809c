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
import re
import secrets as random_tokens
import string
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from prometheus_client import Counter

from onetime.codes import services as codes
from onetime.core import envelope as zk
from onetime.core import metrics, ratelimit
from onetime.core.batches import delete_in_batches, update_in_batches
from onetime.core.errors import InvalidInput, ServiceError, TooLarge, Unavailable
from onetime.notices.services import Event, notification_enqueue, notifications_enqueue
from onetime.vault import crypto
from onetime.vault.models import Secret

logger = logging.getLogger(__name__)

State = Secret.State


class SecretNotFound(ServiceError):
    status_code = 404
    code = "not_found"
    default_detail = _("There is no such secret. Check that the link was copied in full.")
    title = _("Secret not found")


class SecretGone(ServiceError):
    """The secret was revealed, burned or locked («destroyed»), or it expired."""

    status_code = 410

    def __init__(
        self,
        state: str,
        *,
        unwiped: Secret | None = None,
        by: str = "",
        client: bool | None = None,
    ) -> None:
        self.state = state
        # Whether its sender's client encrypted it (for the page), when the row was read.
        self.client = client
        # What this very attempt used up, when it destroyed the secret: "codes" or
        # "passphrases". Only the person who made it is told why; later visitors are not.
        self.by = by
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


class TelegramCodeRequired(ServiceError):
    status_code = 403
    code = "telegram_code_required"

    def __init__(self, secret: Secret) -> None:
        super().__init__(
            _(
                "Only the Telegram account %(account)s can open this secret. Send /code to "
                "the bot and enter the code it answers."
            )
            % {"account": secret.telegram_recipient},
            telegram_recipient=secret.telegram_recipient,
            telegram_bot=recipient_bot(secret),
        )


def telegram_bot() -> str | None:
    """Return the service's bot as "@name"; None without a bot or when its name is unknown."""
    bot = codes.bot_username()
    return f"@{bot}" if bot else None


def recipient_bot(secret: Secret) -> str | None:
    """
    Return the bot ("@name") that sends the secret's recipient a code; None when the secret
    is for anyone with the link, or the bot's name is not known.
    """
    return telegram_bot() if secret.telegram_recipient else None


def locked_by_codes(secret: Secret) -> bool:
    """Return True when wrong Telegram codes destroyed the secret (not wrong passphrases)."""
    return secret.state == State.LOCKED and secret.failed_codes >= codes.FAILURES_PER_CODE


class WrongTelegramCode(ServiceError):
    status_code = 403
    code = "wrong_telegram_code"

    def __init__(self, attempts_left: int) -> None:
        detail = ngettext(
            "The code is wrong, expired or not from the right account. %(n)d attempt left "
            "before the secret is destroyed.",
            "The code is wrong, expired or not from the right account. %(n)d attempts left "
            "before the secret is destroyed.",
            attempts_left,
        ) % {"n": attempts_left}
        super().__init__(detail, attempts_left=attempts_left)


class InvalidTelegramAccount(InvalidInput):
    """A telegram_recipient or notify_telegram that names no possible Telegram account."""

    code = "invalid_telegram_account"


class TelegramNotConfigured(InvalidInput):
    code = "telegram_not_configured"
    default_detail = _(
        "This server has no Telegram bot (TELEGRAM_BOT_TOKEN is not set), so a secret cannot "
        "be bound to a Telegram account or notify one."
    )


class WrongNotifyCode(InvalidInput):
    """The code that should prove the sender's own account for notifications is wrong."""

    code = "wrong_notify_code"
    default_detail = _(
        "The code does not prove that account: it is wrong, expired or from another account. "
        "Send /code to the bot for a fresh one."
    )


class InvalidPassphrase(InvalidInput):
    """The passphrase itself is unusable (too long, a NUL, not Unicode), not wrong."""


class SecretExists(ServiceError):
    """An envelope whose secret was already created (the same create sent twice)."""

    status_code = 409
    code = "already_created"
    default_detail = _(
        "This encrypted secret was already stored: the same request was sent twice. Its link "
        "was shown when it was first sent; encrypt the secret again for a new one."
    )
    title = _("Already created")


class NeedsClient(InvalidInput):
    """A request that a client-encrypted secret cannot take (or that only it can)."""

    code = "wrong_encryption_mode"


class InvalidCiphertext(InvalidInput):
    code = "invalid_ciphertext"


class NeedsJavaScript(ServiceError):
    """A client-encrypted secret asked for by a page that cannot decrypt it (no JavaScript)."""

    status_code = 409
    code = "needs_client"
    default_detail = _(
        "This secret was encrypted on its sender's device, and only a browser with JavaScript "
        "(over HTTPS) or the onetime command-line client can decrypt it. Nothing was consumed: "
        "open the link again with JavaScript on, or run onetime open with it."
    )
    title = _("This secret needs JavaScript")


class NotDeletable(ServiceError):
    """A secret whose link does not let its holder destroy it (only the receipt does)."""

    status_code = 403
    code = "not_deletable"
    default_detail = _("Only its sender, with the receipt link, can destroy this secret.")
    title = _("Not allowed")


class ReceiptNotFound(ServiceError):
    status_code = 404
    code = "not_found"
    default_detail = _("There is no such receipt, or it is older than the retention period.")
    title = _("Receipt not found")


def _check_proof(proof: bytes | None) -> None:
    if proof is not None and len(proof) != zk.PROOF_BYTES:
        raise NeedsClient(_("passphrase_proof must be 32 bytes (43 characters of base64url)."))


def _check_envelope(envelope: bytes, passphrase_proof: bytes | None) -> zk.Header:
    """Return the header of a client's envelope, checked as far as the server can."""
    try:
        header = zk.parse(envelope)
    except zk.EnvelopeError as exc:
        raise InvalidCiphertext(
            _("The ciphertext is not a version-1 envelope (docs/zero-knowledge.md): %(reason)s.")
            % {"reason": exc}
        ) from None
    size, limit = len(envelope) - zk.OVERHEAD, settings.ONETIME_MAX_SECRET_BYTES
    if size > limit:
        raise TooLarge(
            _("The secret is %(size)d bytes long; the limit is %(limit)d bytes (UTF-8).")
            % {"size": size, "limit": limit}
        )
    if header.passphrase and passphrase_proof is None:
        raise NeedsClient(
            _("The envelope has a passphrase mixed in: send its passphrase_proof as well.")
        )
    if not header.passphrase and passphrase_proof is not None:
        raise NeedsClient(_("The envelope has no passphrase: send no passphrase_proof."))
    _check_proof(passphrase_proof)
    return header


@dataclass(frozen=True)
class Revealed:
    """What a reveal hands out: the plaintext, or the client's envelope (§2.7)."""

    plaintext: str | None = None
    envelope: bytes | None = None


@dataclass(frozen=True)
class CreatedSecret:
    secret: Secret
    # Returned once, to the sender; only its hash is stored.
    receipt_token: str


# Letters and digits only, so that a token never starts with "-" (read as an option by a
# command-line tool that takes it as an argument); 32 of them carry 190 random bits.
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def _receipt_token() -> str:
    return "".join(random_tokens.choice(_TOKEN_ALPHABET) for _ in range(32))


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


# Telegram's usernames: 5-32 letters, digits and underscores, starting with a letter (some
# bought ones have 4). The API's schema states both patterns (vault/api.py).
TELEGRAM_USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")
# Telegram's user ids have at most 52 significant bits (Bot API, User.id); 18 digits bound
# them where a pattern can say it, and keep them within a bigint.
TELEGRAM_USER_ID = re.compile(r"[1-9][0-9]{0,17}")
TELEGRAM_USER_ID_MAX = 10**18 - 1


@dataclass(frozen=True)
class TelegramAccountName:
    """A Telegram account as a sender named it: by numeric id or by username."""

    display: str  # "@Alice" or "123456789", as written
    user_id: int | None
    username: str | None  # lower case, without "@"


def parse_telegram_account(value: str | int, *, field: str) -> TelegramAccountName:
    """
    Return the account ``value`` names ("@alice", "alice" or a numeric user id), exactly as
    written: whitespace is refused here, as the API's schema refuses it (the web form strips).
    """
    text = str(value) if not isinstance(value, bool) else ""
    if TELEGRAM_USER_ID.fullmatch(text):
        return TelegramAccountName(display=text, user_id=int(text), username=None)
    match = TELEGRAM_USERNAME.fullmatch(text)
    if match is not None:
        name = match.group(1)
        return TelegramAccountName(display=f"@{name}", user_id=None, username=name.lower())
    raise InvalidTelegramAccount(
        _(
            "%(field)s must be a Telegram @username (5 to 32 letters, digits and underscores) "
            "or a numeric Telegram user id."
        )
        % {"field": field}
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
    *,
    plaintext: str | None,
    ttl: int | None,
    passphrase: str | None,
    client_ip: str,
    envelope: bytes | None = None,
    passphrase_proof: bytes | None = None,
    telegram_recipient: str | int | None = None,
    notify_telegram: str | int | None = None,
    notify_code: str | None = None,
    notify_chat_id: int | None = None,
    deletable_by_viewer: bool = False,
) -> CreatedSecret:
    """
    Encrypt and store a new secret; return it with the sender's receipt token.

    Either ``plaintext`` (with an optional ``passphrase``), which the server encrypts, or a
    client's ``envelope`` (with the ``passphrase_proof`` when a passphrase is mixed in),
    which the server stores as it is: the envelope's seed gives the secret's id.

    ``telegram_recipient`` names the one Telegram account that may open it. The sender is
    notified in Telegram of what happens to it when ``notify_telegram`` names their own
    account and ``notify_code`` proves it (a code from the bot, used up here), or, for a
    secret made through the bot, at ``notify_chat_id``. With ``deletable_by_viewer``, whoever
    holds the link may also destroy it unread (secret_burn_by_viewer).
    """
    ratelimit.rate_limit_hit(ratelimit.CREATE, client_ip)
    header = None
    if envelope is not None:
        if plaintext is not None or passphrase:
            raise NeedsClient(
                _(
                    "With a ciphertext, send no secret and no passphrase: the client that "
                    "encrypted it sends passphrase_proof instead of the passphrase."
                )
            )
        header = _check_envelope(envelope, passphrase_proof)
    else:
        if passphrase_proof is not None:
            raise NeedsClient(_("passphrase_proof goes with a ciphertext, not with a secret."))
        data = _encode_secret(plaintext or "")
        if passphrase:
            _check_passphrase(passphrase)
    lifetime = _check_ttl(ttl)
    recipient = (
        parse_telegram_account(telegram_recipient, field="telegram_recipient")
        if telegram_recipient not in (None, "")
        else None
    )
    notify = None
    if notify_telegram not in (None, ""):
        assert notify_telegram is not None
        notify = parse_telegram_account(notify_telegram, field="notify_telegram")
        if not notify_code:
            raise WrongNotifyCode(
                _("Enter the code the bot sent you, to prove that %(account)s is yours.")
                % {"account": notify.display}
            )
    elif notify_code:
        raise InvalidInput(_("notify_code needs notify_telegram: the account it proves."))
    if (recipient or notify or notify_chat_id) and not settings.TELEGRAM_BOT_TOKEN:
        raise TelegramNotConfigured
    if notify is not None:
        # Last, once everything else is known to be valid: the code is used up (or a wrong
        # one counted against the account) in its own committed transaction.
        try:
            account = codes.code_verify(
                code=str(notify_code), telegram_user_id=notify.user_id, username=notify.username
            )
        except codes.InvalidCode:
            raise WrongNotifyCode from None
        notify_chat_id = account.telegram_user_id
    recipient_id = None
    if recipient is not None:
        # Bound now when the username's account is known; otherwise when it first asks the
        # bot for a code (secrets_bind_recipient).
        recipient_id = recipient.user_id or codes.account_id_for_username(str(recipient.username))
    now = timezone.now()
    receipt_token = _receipt_token()
    recipient_name = recipient.display if recipient else ""
    keys = settings.ONETIME_ENCRYPTION_KEYS
    if header is None:
        secret_id = uuid.uuid4()
        blob = crypto.seal(
            data,
            secret_id=secret_id,
            keys=keys,
            passphrase=passphrase or None,
            telegram_recipient=recipient_name,
        )
    else:
        assert envelope is not None
        secret_id = header.secret_id
        blob = crypto.seal_envelope(
            envelope,
            secret_id=secret_id,
            keys=keys,
            proof=passphrase_proof,
            telegram_recipient=recipient_name,
        )
    try:
        # A savepoint where an id can collide: on PostgreSQL a failed INSERT would spoil a
        # caller's transaction.
        with transaction.atomic() if header else nullcontext():
            secret = Secret.objects.create(
                id=secret_id,
                ciphertext=blob,
                passphrase_required=bool(passphrase) or (header is not None and header.passphrase),
                key_check=zk.b64encode(header.key_check) if header else "",
                telegram_recipient=recipient_name,
                recipient_username=recipient.username
                if recipient and recipient_id is None
                else None,
                recipient_id=recipient_id,
                notify_chat_id=notify_chat_id,
                deletable_by_viewer=deletable_by_viewer,
                receipt_hash=_receipt_hash(receipt_token),
                created_at=now,
                expires_at=now + timedelta(seconds=lifetime),
            )
    except IntegrityError:
        # Only the id can collide (the receipt token has 190 random bits), and only an
        # envelope sets it: the same envelope sent again.
        raise SecretExists from None
    metrics.SECRETS_CREATED.inc()
    logger.info(
        "secret %s created, ttl %ds%s%s%s",
        str(secret_id)[:8],
        lifetime,
        ", encrypted by the client" if header else "",
        ", for one Telegram account" if recipient else "",
        ", notifying its sender" if notify_chat_id else "",
    )
    return CreatedSecret(secret=secret, receipt_token=receipt_token)


def secrets_bind_recipient(*, telegram_user_id: int, username: str | None) -> int:
    """
    Bind the active secrets waiting for ``username`` to the account that now holds it (the
    bot calls this when the account asks for a code); return how many.

    From then on the secret follows the account, not the name: whoever takes the username
    over later cannot open it.
    """
    if not username:
        return 0
    bound = Secret.objects.filter(
        recipient_username=username.lstrip("@").lower(),
        recipient_id__isnull=True,
        state=State.ACTIVE,
    ).update(recipient_id=telegram_user_id, recipient_username=None)
    if bound:
        logger.info("%d secrets bound to telegram user %d", bound, telegram_user_id)
    return bound


def retention() -> timedelta:
    """Return how long a tombstone is kept (ONETIME_TOMBSTONE_DAYS)."""
    return timedelta(days=settings.ONETIME_TOMBSTONE_DAYS)


def secret_get(*, secret_id: uuid.UUID, client_ip: str) -> Secret:
    """Return the active secret without consuming it; raise SecretNotFound or SecretGone."""
    ratelimit.rate_limit_hit(ratelimit.LOOKUP, client_ip)
    return _read_active(secret_id)


def passphrase_attempts_left(secret: Secret) -> int:
    """Return how many wrong passphrases ``secret`` still allows, for its page."""
    failed = Secret.objects.filter(pk=secret.pk).values_list("failed_attempts", flat=True).first()
    return max(0, settings.ONETIME_PASSPHRASE_ATTEMPTS - (failed or 0))


def _read_active(secret_id: uuid.UUID) -> Secret:
    """
    Return the active secret, read without a lock or a transaction (the metadata GET, and
    the first step of a reveal); raise SecretNotFound or SecretGone.
    """
    now = timezone.now()
    secret = (
        Secret.objects.only(
            "id",
            "state",
            "passphrase_required",
            "key_check",
            "telegram_recipient",
            "notify_chat_id",
            "expires_at",
            "ended_at",
        )
        .filter(pk=secret_id)
        .first()
    )
    if secret is None or secret.is_purged_at(now, retention=retention()):
        raise SecretNotFound
    state = secret.state_at(now)
    if state != State.ACTIVE:
        raise SecretGone(
            state,
            unwiped=secret if secret.state == State.ACTIVE else None,
            client=secret.client_encrypted,
        )
    return secret


_ENDED_METRIC: dict[str, Counter] = {
    State.REVEALED: metrics.SECRETS_REVEALED,
    State.EXPIRED: metrics.SECRETS_EXPIRED,
    State.BURNED: metrics.SECRETS_BURNED,
    State.LOCKED: metrics.SECRETS_BURNED,
}


_EVENT: dict[str, str] = {
    State.REVEALED: Event.READ,
    State.EXPIRED: Event.EXPIRED,
    State.BURNED: Event.BURNED,
    State.LOCKED: Event.LOCKED,
}


def _notify(secret_id: uuid.UUID, chat_id: int | None, state: str, ended_at: datetime) -> None:
    """Queue the sender's notification, in the transaction that ends the secret."""
    if chat_id is not None:
        notification_enqueue(
            chat_id=chat_id, secret_id=secret_id, event=_EVENT[state], happened_at=ended_at
        )


def _end(secret: Secret, state: str, ended_at: datetime) -> None:
    """Turn an active secret into a tombstone, wiping its ciphertext; notify its sender."""
    # Compare-and-set on top of the row lock: the update only applies to an active row.
    updated = Secret.objects.filter(pk=secret.pk, state=State.ACTIVE).update(
        state=state, ciphertext=None, ended_at=ended_at
    )
    if updated != 1:  # pragma: no cover - the row lock makes this unreachable
        raise SecretGone(State.REVEALED)
    secret.state, secret.ciphertext, secret.ended_at = state, None, ended_at
    _notify(secret.id, secret.notify_chat_id, state, ended_at)
    transaction.on_commit(_ENDED_METRIC[state].inc)


def secret_reveal(
    *,
    secret_id: uuid.UUID,
    passphrase: str | None,
    client_ip: str,
    telegram_code: str | None = None,
    passphrase_proof: bytes | None = None,
    envelope_ok: bool = True,
) -> Revealed:
    """
    Return the plaintext (or a client-encrypted secret's envelope) and destroy the secret, at
    most once however many callers race.

    Only the caller that claimed the secret decrypts it. Wrong passphrases and, for a
    Telegram-bound secret, wrong codes are counted under the row lock; the last allowed one
    destroys the secret. A blob that the server's keys cannot open raises Unavailable and
    leaves the secret untouched (the claim is rolled back), so it can be revealed once
    repaired. A client-encrypted secret with a passphrase takes ``passphrase_proof`` instead
    of the passphrase, and counts wrong proofs as wrong passphrases. A caller that cannot
    decrypt an envelope (``envelope_ok`` false: a page without JavaScript) gets
    NeedsJavaScript for a client-encrypted secret, which is left as it was.
    """
    ratelimit.rate_limit_hit(ratelimit.REVEAL, client_ip)
    if passphrase:
        _check_passphrase(passphrase)
    _check_proof(passphrase_proof)
    try:
        return _reveal(secret_id, passphrase or passphrase_proof, telegram_code, envelope_ok)
    except SecretGone as gone:
        if gone.unwiped is not None:
            _wipe_expired(gone.unwiped)
        raise


# What opens a passphrase layer: the passphrase (server-encrypted secrets) or the proof that
# the client derived from it (client-encrypted ones).
Passphrase = str | bytes


def _reveal(
    secret_id: uuid.UUID,
    passphrase: Passphrase | None,
    telegram_code: str | None,
    envelope_ok: bool,
) -> Revealed:
    # Not live (404 or 410): answered from this read, with no lock and no transaction.
    secret = _read_active(secret_id)
    if secret.client_encrypted and not envelope_ok:
        raise NeedsJavaScript
    if passphrase is not None:
        if secret.client_encrypted and isinstance(passphrase, str):
            raise NeedsClient(
                _(
                    "This secret was encrypted on its sender's device: its passphrase never goes "
                    "to the server. Open the link in a browser with JavaScript, or with onetime "
                    "open: they send a proof derived from the passphrase instead."
                )
            )
        if not secret.client_encrypted and isinstance(passphrase, bytes):
            raise NeedsClient(
                _("This secret was encrypted on the server: send its passphrase, not a proof.")
            )
    if secret.telegram_recipient and not telegram_code:
        raise TelegramCodeRequired(secret)
    if secret.passphrase_required and not passphrase:
        raise PassphraseRequired
    if secret.telegram_recipient or secret.passphrase_required:
        return _reveal_locked(secret_id, passphrase, telegram_code)
    revealed = _reveal_claimed(secret_id, secret.client_encrypted)
    if revealed is not None:
        return revealed
    # The secret changed between the read and the claim (another reveal, a burn, its TTL).
    # The claim waited for that change to commit, so a second read tells which.
    secret = _read_active(secret_id)
    # Still active: only the TTL, which ran out between the read and the claim, can have
    # made the claim miss (unless the clock stepped back since).
    raise SecretGone(State.EXPIRED, unwiped=secret, client=secret.client_encrypted)


def _wipe_expired(secret: Secret) -> None:
    """
    Wipe a secret whose TTL ran out, now rather than at the next cleanup pass: one
    compare-and-set UPDATE, which matches only a row still active and past its expiry (a
    no-op for a tombstone or a secret already wiped). With a sender to notify, the UPDATE
    and the notification share a transaction.
    """
    with transaction.atomic() if secret.notify_chat_id else nullcontext():
        wiped = Secret.objects.filter(
            pk=secret.pk, state=State.ACTIVE, expires_at__lte=timezone.now()
        ).update(state=State.EXPIRED, ciphertext=None, ended_at=F("expires_at"))
        if wiped:
            _notify(secret.id, secret.notify_chat_id, State.EXPIRED, secret.expires_at)
    metrics.SECRETS_EXPIRED.inc(wiped)


# PostgreSQL: one statement locks the row, claims it and returns the ciphertext it held. The
# old value comes from the locking subquery, since RETURNING sees the updated row (NULL).
# Against a concurrent claim, FOR UPDATE waits for it to end, then re-checks the WHERE on the
# row it left: exactly one claim matches. Raw SQL because Django's update() returns no rows.
_CLAIM_SQL = f"""
    UPDATE {Secret._meta.db_table}
    SET state = 'revealed', ciphertext = NULL, ended_at = %s
    FROM (
        SELECT id, ciphertext, notify_chat_id FROM {Secret._meta.db_table}
        WHERE id = %s AND state = 'active' AND expires_at > %s
        FOR UPDATE
    ) AS claimed
    WHERE {Secret._meta.db_table}.id = claimed.id
    RETURNING claimed.ciphertext, claimed.notify_chat_id
"""  # noqa: S608 - the table name is ours, the values are bound parameters


def _claim(secret_id: uuid.UUID, now: datetime) -> tuple[bytes, int | None] | None:
    """
    Turn the secret from active to revealed if it is active and not expired at ``now``;
    return the ciphertext it held and the chat to notify, or None when it was not. Run
    inside a transaction: the row stays locked, and the claim undone by a rollback, until
    the caller's block ends.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [now, secret_id, now])
            row = cursor.fetchone()
    else:
        # SQLite: the IMMEDIATE transaction took the database's write lock at BEGIN, so the
        # row cannot change between these two statements (select_for_update is a no-op).
        row = (
            Secret.objects.select_for_update()
            .filter(pk=secret_id, state=State.ACTIVE, expires_at__gt=now)
            .values_list("ciphertext", "notify_chat_id")
            .first()
        )
        if row is not None:
            Secret.objects.filter(pk=secret_id).update(
                state=State.REVEALED, ciphertext=None, ended_at=now
            )
    return None if row is None else (bytes(row[0]), row[1])


def _unseal(
    secret_id: uuid.UUID,
    blob: bytes,
    *,
    client_encrypted: bool,
    passphrase: Passphrase | None,
    telegram_recipient: str,
) -> Revealed:
    """Open the server's layer of ``blob``: the plaintext, or the client's envelope."""
    keys = settings.ONETIME_ENCRYPTION_KEYS
    if client_encrypted:
        proof = passphrase if isinstance(passphrase, bytes) else None
        envelope = crypto.unseal_envelope(
            blob,
            secret_id=secret_id,
            keys=keys,
            proof=proof,
            telegram_recipient=telegram_recipient,
        )
        return Revealed(envelope=envelope)
    text = passphrase if isinstance(passphrase, str) else None
    plaintext = crypto.unseal(
        blob,
        secret_id=secret_id,
        keys=keys,
        passphrase=text,
        telegram_recipient=telegram_recipient,
    )
    return Revealed(plaintext=plaintext.decode("utf-8"))


def _reveal_claimed(secret_id: uuid.UUID, client_encrypted: bool) -> Revealed | None:
    """
    Claim a secret without a passphrase, then decrypt it, in one transaction; return None,
    having changed nothing, when the claim found it no longer active.
    """
    with transaction.atomic():
        # The clock is read for the claim, not at the first read: a secret that expired in
        # between is not revealed.
        now = timezone.now()
        claimed = _claim(secret_id, now)
        if claimed is None:
            return None
        ciphertext, notify_chat_id = claimed
        try:
            # Only secrets for anyone with the link come here: a bound one whose row says
            # otherwise (altered by hand) does not decrypt, and stays unopened.
            revealed = _unseal(
                secret_id,
                ciphertext,
                client_encrypted=client_encrypted,
                passphrase=None,
                telegram_recipient="",
            )
        except crypto.DecryptionError as exc:
            logger.error("secret %s cannot be decrypted: %s", str(secret_id)[:8], exc)
            raise Unavailable from None  # leaves the block: the claim is rolled back
        except crypto.PassphraseRequired:  # pragma: no cover - only a row altered by hand
            logger.error("secret %s has a passphrase its row does not record", str(secret_id)[:8])
            raise Unavailable from None
        _notify(secret_id, notify_chat_id, State.REVEALED, now)
        transaction.on_commit(metrics.SECRETS_REVEALED.inc)
    logger.info("secret %s revealed", str(secret_id)[:8])
    return revealed


def _reveal_locked(
    secret_id: uuid.UUID, passphrase: Passphrase | None, telegram_code: str | None
) -> Revealed:
    """
    Reveal a secret that needs a passphrase or a Telegram code under the row lock, counting
    wrong guesses of each.
    """
    error: ServiceError | None = None
    revealed = Revealed()
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
            raise SecretGone(
                state,
                unwiped=secret if secret.state == State.ACTIVE else None,
                client=secret.client_encrypted,
            )
        assert secret.ciphertext is not None
        # Taken before the code is used up, so that a wrong passphrase can give it back.
        before_code = transaction.savepoint()
        if secret.telegram_recipient:
            try:
                # The codes domain's own check, with its per-account failure counts and
                # pauses (committed with this transaction). An account not bound yet is named
                # by its username, which no account has used the bot under since the secret
                # was made: that fails like a wrong code.
                codes.code_verify(
                    code=str(telegram_code),
                    telegram_user_id=secret.recipient_id,
                    username=None if secret.recipient_id else secret.recipient_username,
                )
            except codes.InvalidCode:
                error = _count_wrong_code(secret, now)
        if error is None:
            try:
                revealed = _unseal(
                    secret.id,
                    bytes(secret.ciphertext),
                    client_encrypted=secret.client_encrypted,
                    passphrase=(passphrase or None) if secret.passphrase_required else None,
                    telegram_recipient=secret.telegram_recipient,
                )
            except crypto.DecryptionError as exc:
                logger.error("secret %s cannot be decrypted: %s", str(secret.id)[:8], exc)
                raise Unavailable from None
            except (crypto.WrongPassphrase, crypto.PassphraseRequired):
                # A right code with a wrong passphrase does not use the code up.
                transaction.savepoint_rollback(before_code)
                error = _count_wrong_passphrase(secret, now)
            else:
                _end(secret, State.REVEALED, now)
                logger.info("secret %s revealed", str(secret.id)[:8])
    # Raised after the commit, so that a failed attempt is recorded.
    if error is not None:
        raise error
    return revealed


def _count_wrong(secret: Secret, now: datetime, *, counter: str, limit: int, guess: str) -> int:
    """
    Count one more wrong ``guess`` in the row's ``counter`` field, under the row lock; the
    ``limit``-th destroys the secret. Return the attempts left (0: destroyed).
    """
    attempts: int = getattr(secret, counter) + 1
    left = max(0, limit - attempts)
    Secret.objects.filter(pk=secret.pk).update(**{counter: attempts})
    logger.info("secret %s: wrong %s, %d attempts left", str(secret.id)[:8], guess, left)
    if left == 0:
        _end(secret, State.LOCKED, now)
    return left


def _count_wrong_code(secret: Secret, now: datetime) -> ServiceError:
    limit = codes.FAILURES_PER_CODE
    left = _count_wrong(secret, now, counter="failed_codes", limit=limit, guess="Telegram code")
    if left:
        return WrongTelegramCode(attempts_left=left)
    return SecretGone(State.LOCKED, by="codes", client=secret.client_encrypted)


def _count_wrong_passphrase(secret: Secret, now: datetime) -> ServiceError:
    limit = settings.ONETIME_PASSPHRASE_ATTEMPTS
    left = _count_wrong(secret, now, counter="failed_attempts", limit=limit, guess="passphrase")
    if left:
        return WrongPassphrase(attempts_left=left)
    return SecretGone(State.LOCKED, by="passphrases", client=secret.client_encrypted)


def _as_of(secret: Secret, now: datetime) -> Secret:
    """
    Show a secret whose TTL ran out as the expired tombstone it is; the wipe itself is left
    to reveal, burn and cleanup, so that a read never writes.
    """
    if secret.state_at(now) == State.EXPIRED and secret.state == State.ACTIVE:
        secret.state, secret.ended_at = State.EXPIRED, secret.expires_at
    return secret


def receipt_get(*, token: str, client_ip: str) -> Secret:
    """Return the secret behind a sender's receipt token, as of now."""
    ratelimit.rate_limit_hit(ratelimit.LOOKUP, client_ip)
    now = timezone.now()
    secret = Secret.objects.defer("ciphertext").filter(receipt_hash=_receipt_hash(token)).first()
    if secret is None or secret.is_purged_at(now, retention=retention()):
        raise ReceiptNotFound
    return _as_of(secret, now)


def secret_record(*, secret_id: uuid.UUID, client_ip: str | None) -> Secret:
    """
    Return the secret as of now, live or a tombstone, without its ciphertext; raise
    SecretNotFound for an unknown or purged id. Counts as a lookup when ``client_ip`` is
    given (a caller that has just counted a reveal passes None).
    """
    if client_ip is not None:
        ratelimit.rate_limit_hit(ratelimit.LOOKUP, client_ip)
    now = timezone.now()
    secret = Secret.objects.defer("ciphertext").filter(pk=secret_id).first()
    if secret is None or secret.is_purged_at(now, retention=retention()):
        raise SecretNotFound
    return _as_of(secret, now)


def _burn(secret: Secret | None, not_found: type[ServiceError], by: str) -> Secret:
    """
    Destroy ``secret``, read under its row lock, unless it already ended (one past its TTL
    becomes the expired tombstone it is); return it.
    """
    now = timezone.now()  # once the lock is held (see secret_reveal)
    if secret is None or secret.is_purged_at(now, retention=retention()):
        raise not_found
    if secret.state == State.ACTIVE:
        if secret.state_at(now) == State.EXPIRED:
            _end(secret, State.EXPIRED, secret.expires_at)
        else:
            _end(secret, State.BURNED, now)
            logger.info("secret %s burned by %s", str(secret.id)[:8], by)
    return secret


def _locked(**lookup: object) -> Secret | None:
    return Secret.objects.select_for_update().defer("ciphertext").filter(**lookup).first()


def receipt_burn(*, token: str, client_ip: str, only_active: bool = False) -> Secret:
    """
    Destroy the secret now, unless it already ended; return its receipt. Idempotent; with
    ``only_active``, a secret that had already ended (read, burned, destroyed, expired)
    raises SecretGone instead, so that only the call that burned it hears so.
    """
    ratelimit.rate_limit_hit(ratelimit.LOOKUP, client_ip)
    with transaction.atomic():
        secret = _locked(receipt_hash=_receipt_hash(token))
        was_active = secret is not None and secret.state == State.ACTIVE
        secret = _burn(secret, ReceiptNotFound, "its sender")
    if only_active and not (was_active and secret.state == State.BURNED):
        raise SecretGone(secret.state, client=secret.client_encrypted)
    return secret


def secret_burn_by_viewer(*, secret_id: uuid.UUID, client_ip: str) -> Secret:
    """
    Destroy the secret through its link, without reading it, if its sender allowed that
    (``deletable_by_viewer``); return it. Idempotent, like the receipt's burn.
    """
    ratelimit.rate_limit_hit(ratelimit.LOOKUP, client_ip)
    with transaction.atomic():
        secret = _locked(pk=secret_id)
        if secret is not None and not secret.deletable_by_viewer:
            raise NotDeletable
        return _burn(secret, SecretNotFound, "a holder of its link")


def secrets_expire(*, now: datetime, batch_size: int, dry_run: bool = False) -> int:
    """
    Wipe active secrets past their TTL into expired tombstones, notifying the senders who
    asked for it; return how many.
    """
    expired = Secret.objects.filter(state=State.ACTIVE, expires_at__lte=now).order_by("expires_at")
    if dry_run:
        return expired.count()
    total = 0
    # Secrets with a sender to notify: locked, wiped and queued together, batch by batch.
    notifying = expired.filter(notify_chat_id__isnull=False).select_for_update()
    while True:
        with transaction.atomic():
            rows = list(notifying.values_list("pk", "notify_chat_id", "expires_at")[:batch_size])
            if not rows:
                break
            total += Secret.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
                state=State.EXPIRED, ciphertext=None, ended_at=F("expires_at")
            )
            notifications_enqueue((chat, pk, Event.EXPIRED, at) for pk, chat, at in rows if chat)
    total += update_in_batches(
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
