"""
Use cases of temporary codes: issue one to a Telegram user, verify it for a website.

Both run inside a transaction holding the user's account row lock (issue: SELECT … FOR
UPDATE in primary-key order with the username's holder, then the upsert's INSERT … ON
CONFLICT DO UPDATE; verify: SELECT … FOR UPDATE; on SQLite the IMMEDIATE transaction mode),
so concurrent /code requests of one user queue up and agree on one code, and concurrent
verifications of one code let exactly one win.
"""

import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onetime.codes.models import BotIdentity, TelegramAccount, UserCode
from onetime.core import metrics
from onetime.core.batches import delete_in_batches
from onetime.core.errors import ServiceError

logger = logging.getLogger(__name__)

# 7 digits without a leading zero. Tests shrink it to force collisions.
CODE_RANGE = (1_000_000, 9_999_999)
# Draws before giving up when codes collide with other users' active codes.
MAX_GENERATION_ATTEMPTS = 100
# Wrong codes in a row that destroy the active code and pause verification for the account.
FAILURES_PER_CODE = 5
# The pause doubles with every further FAILURES_PER_CODE failures (1 min, 2 min, 4 min, …) up
# to a day: 100 consecutive failures (NIST SP 800-63B's ceiling) take more than a week, and
# each guess has a 1 in 9,000,000 chance.
_CODE_FORMAT = re.compile(r"[0-9]{7}")
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(days=1)
# Verifying an unknown account must cost what a known account's failure costs, or timing
# tells a guesser which accounts exist. So it locks, reads, counts a failure on and commits
# a stand-in: one of these few rows with negative ids (Telegram's user ids are positive),
# picked by a keyed hash of the name, so that no row is ever made for a name and one name
# always meets one row, as with a real account. Several, so that unrelated unknown names
# rarely queue behind one row lock; few, since each is made by the first name that needs
# it.
STAND_INS = 16


class CodeGenerationFailed(ServiceError):
    status_code = 503
    code = "code_generation_failed"
    default_detail = _("Could not generate a code. Please try again.")


class InvalidCode(ServiceError):
    """The one answer to every failed verification, so that failures tell a guesser nothing."""

    status_code = 400
    code = "invalid_code"
    default_detail = _("The code is invalid or expired.")


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime
    created: bool


# TelegramAccount.Meta: checked at commit on PostgreSQL.
USERNAME_CONSTRAINT = "telegram_accounts_username_key"


def _draw_code() -> str:
    low, high = CODE_RANGE
    return str(low + secrets.randbelow(high - low + 1))


def _lock_account(
    *, telegram_user_id: int, username: str | None, first_name: str, now: datetime
) -> None:
    """Create the account or bring its name and username up to date, and lock its row."""
    username = username.lstrip("@").lower() if username else None
    if username:
        # A username moves with its owner: whoever holds it now gives it up. Lock that
        # account and this user's together, in primary-key order (FOR UPDATE after ORDER BY
        # takes the locks in that order), before writing either. Every /code thus locks
        # accounts in one global order, and users who pass usernames round at once queue.
        # Locking the holder first and this user's row later would deadlock: A, taking B's
        # @y, would hold B's row while B, taking A's @x, held A's, each waiting for its own.
        # A holder that gave the username up while this waited is re-checked and left out;
        # one that takes it after this statement began is not seen, and the username's
        # check at commit catches that (code_issue runs again).
        locked = (
            TelegramAccount.objects.select_for_update()
            .filter(Q(pk=telegram_user_id) | Q(username=username))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        holders = [pk for pk in locked if pk != telegram_user_id]
        if holders:
            TelegramAccount.objects.filter(pk__in=holders).update(username=None)
    # One statement inserts or locks the row: ON CONFLICT DO UPDATE locks the existing row
    # even when its WHERE leaves it unchanged (only a changed name is written).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO telegram_accounts"
            " (telegram_user_id, username, first_name, failed_attempts, updated_at)"
            " VALUES (%s, %s, %s, 0, %s)"
            " ON CONFLICT (telegram_user_id) DO UPDATE SET username = excluded.username,"
            " first_name = excluded.first_name, updated_at = excluded.updated_at"
            " WHERE telegram_accounts.username IS DISTINCT FROM excluded.username"
            " OR telegram_accounts.first_name <> excluded.first_name",
            [telegram_user_id, username, first_name, _db_datetime(now)],
        )


def _db_datetime(value: datetime) -> str | datetime | None:
    """A datetime as the ORM would send it (SQLite stores UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _insert_code(*, telegram_user_id: int, code: str, expires_at: datetime, now: datetime) -> bool:
    """
    Store ``code`` as the user's code unless the code or the user already has a row.

    ON CONFLICT DO NOTHING rather than a caught IntegrityError: PostgreSQL logs a failed
    statement with its values ("Key (code)=(…) already exists"), and the colliding code is
    another user's active one.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO user_codes (code, telegram_user_id, expires_at, created_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [code, telegram_user_id, _db_datetime(expires_at), _db_datetime(now)],
        )
        return cursor.fetchone() is not None


def code_issue(*, telegram_user_id: int, username: str | None, first_name: str) -> IssuedCode:
    """Return the user's active code, or a new one valid TELEGRAM_CODE_EXPIRATION_MINUTES."""
    if telegram_user_id < 1:
        # Telegram's user ids are positive; the others are code_verify's stand-ins, which
        # must never hold a code.
        raise ValueError("Telegram user ids are positive")
    started = time.perf_counter()
    issue = partial(
        _issue, telegram_user_id=telegram_user_id, username=username, first_name=first_name
    )
    try:
        issued, attempt = issue()
    except IntegrityError as exc:
        # Two users claimed one username at once (it changed hands, and an update of the
        # old owner's came in with the new owner's): neither saw the other's uncommitted
        # claim, and the username's unique check failed at this commit. Once more: the
        # other claim is committed now, and the username moves from it to this user. Once
        # only: three claims of one username within one commit are not worth more.
        if _violated_constraint(exc) != USERNAME_CONSTRAINT:
            raise
        logger.info("code: username claimed concurrently; user %d tries again", telegram_user_id)
        issued, attempt = issue()
    if issued.created:
        metrics.CODES_CREATED.inc()
        metrics.CODE_GENERATION_SECONDS.observe(time.perf_counter() - started)
        logger.info("code: created for user %d (attempt %d)", telegram_user_id, attempt)
    return issued


def _issue(
    *, telegram_user_id: int, username: str | None, first_name: str
) -> tuple[IssuedCode, int]:
    """code_issue in one transaction; also returns how many codes were drawn."""
    # Durable: the username's unique check runs at this commit, which must be a real one
    # for code_issue to see it fail and run again.
    with transaction.atomic(durable=True):
        now = timezone.now()
        _lock_account(
            telegram_user_id=telegram_user_id, username=username, first_name=first_name, now=now
        )
        now = timezone.now()  # once the lock is held (see code_verify)
        expires_at = now + timedelta(minutes=settings.TELEGRAM_CODE_EXPIRATION_MINUTES)
        # Insert first: a user without a row (the common case) is done in one statement.
        # When nothing was inserted, the user has a row (active: return it; expired: replace
        # it) or the code is another user's (draw again, without asking about the user's row
        # again). The row lock keeps this race-free: only this transaction writes this user's
        # codes.
        code, attempt = _draw_code(), 1
        if not _insert_code(
            telegram_user_id=telegram_user_id, code=code, expires_at=expires_at, now=now
        ):
            current = UserCode.objects.filter(telegram_user_id=telegram_user_id).first()
            if current is not None and current.expires_at > now:
                logger.info("code: returned the active code of user %d", telegram_user_id)
                return IssuedCode(current.code, current.expires_at, created=False), attempt
            if current is not None:
                current.delete()
            for attempt in range(2, MAX_GENERATION_ATTEMPTS + 1):  # noqa: B007 - logged below
                code = _draw_code()
                if _insert_code(
                    telegram_user_id=telegram_user_id, code=code, expires_at=expires_at, now=now
                ):
                    break
            else:
                logger.error(
                    "code: no free code for user %d after %d attempts",
                    telegram_user_id,
                    MAX_GENERATION_ATTEMPTS,
                )
                raise CodeGenerationFailed
    return IssuedCode(code=code, expires_at=expires_at, created=True), attempt


def _violated_constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)  # psycopg's error; SQLite has none
    return getattr(diag, "constraint_name", None)


def _pause_after(failures: int) -> timedelta | None:
    if failures % FAILURES_PER_CODE:
        return None
    doublings = failures // FAILURES_PER_CODE - 1
    pause: timedelta = FIRST_PAUSE * int(2 ** min(doublings, 20))
    return min(pause, LONGEST_PAUSE)


def _stand_in_id(lookup: str) -> int:
    """Return the stand-in account (-1 … -STAND_INS) that an unknown ``lookup`` uses."""
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, lookup.encode("utf-8", "surrogatepass"), "sha256").digest()
    return -1 - int.from_bytes(digest[:4], "big") % STAND_INS


def _lock_named_account(*, telegram_user_id: int | None, username: str | None) -> TelegramAccount:
    """
    Lock and return the named account, or the stand-in for it when nobody has that name.

    One statement either way: ``WHERE <name> OR id = <stand-in> ORDER BY id DESC LIMIT 1
    FOR UPDATE`` locks only the row it returns (locking stops at the limit), and a real
    account (id > 0) sorts before its stand-in (id < 0).
    """
    if telegram_user_id is not None:
        named, lookup = Q(pk=telegram_user_id), f"id:{telegram_user_id}"
    else:
        name = (username or "").lstrip("@").lower()
        named, lookup = Q(username=name), f"username:{name}"
    stand_in = _stand_in_id(lookup)
    locked = TelegramAccount.objects.select_for_update().filter(named | Q(pk=stand_in))
    account = locked.order_by("-pk").first()
    if account is None:
        # Neither exists: the first unknown name that maps to this stand-in creates it
        # (once per stand-in and database). With an arbiter: PostgreSQL refuses ON CONFLICT
        # without one when a unique constraint is deferrable (the username's).
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO telegram_accounts"
                " (telegram_user_id, username, first_name, failed_attempts, updated_at)"
                " VALUES (%s, NULL, '', 0, %s) ON CONFLICT (telegram_user_id) DO NOTHING",
                [stand_in, _db_datetime(timezone.now())],
            )
        account = locked.order_by("-pk").get()
    return account


def code_verify(
    *, code: str, telegram_user_id: int | None = None, username: str | None = None
) -> TelegramAccount:
    """
    Consume the active code of the named account and return the account.

    The account is named by id or username: a code alone is never looked up across all
    users. Every failure raises the same InvalidCode; wrong codes are counted per account.
    """
    verified = False
    with transaction.atomic():
        account = _lock_named_account(telegram_user_id=telegram_user_id, username=username)
        # Read the clock once the lock is held: a request that waited must not accept a code
        # that expired meanwhile.
        now = timezone.now()
        paused = account.locked_until is not None and account.locked_until > now
        # Read even when the answer is already known (paused, a stand-in, a malformed code):
        # every failure sends the same statements (see STAND_INS).
        current = UserCode.objects.filter(telegram_user_id=account.pk, expires_at__gt=now).first()
        if (
            account.pk > 0
            and not paused
            and current is not None
            and _CODE_FORMAT.fullmatch(code) is not None
            and hmac.compare_digest(current.code, code)
        ):
            verified = True
            current.delete()
            if (account.failed_attempts, account.locked_until) != (0, None):
                account.failed_attempts, account.locked_until = 0, None
                account.save(update_fields=["failed_attempts", "locked_until"])
            logger.info("code: verified for user %d", account.pk)
        else:
            if not paused:
                account.failed_attempts += 1
                pause = _pause_after(account.failed_attempts)
                if pause is not None:
                    UserCode.objects.filter(telegram_user_id=account.pk).delete()
                    account.locked_until = now + pause
            # Written also when unchanged (paused): the write and its flush at commit are
            # most of what a failure costs, and timing must not tell them apart.
            account.save(update_fields=["failed_attempts", "locked_until"])
            if account.pk < 0:
                logger.info("code: wrong code for an unknown account")
            elif paused:
                logger.info("code: refused for user %d (paused)", account.pk)
            else:
                logger.info(
                    "code: wrong code for user %d (%d in a row)",
                    account.pk,
                    account.failed_attempts,
                )
    if not verified:
        raise InvalidCode
    return account


def account_id_for_username(username: str) -> int | None:
    """Return the id of the account that last used the bot under ``username``, if any."""
    name = username.lstrip("@").lower()
    accounts = TelegramAccount.objects.filter(username=name, pk__gt=0)
    return accounts.values_list("pk", flat=True).first()


def bot_username() -> str | None:
    """
    Return the bot's username without "@": TELEGRAM_BOT_USERNAME, else what getMe last
    reported (bot_username_store); None when neither is known or no bot is configured.
    """
    if not settings.TELEGRAM_BOT_TOKEN:
        return None
    if settings.TELEGRAM_BOT_USERNAME:
        return str(settings.TELEGRAM_BOT_USERNAME)
    return BotIdentity.objects.filter(pk=1).values_list("username", flat=True).first()


def bot_username_store(username: str) -> None:
    """Record the username getMe reported, for bot_username."""
    BotIdentity.objects.update_or_create(
        pk=1, defaults={"username": username.lstrip("@"), "updated_at": timezone.now()}
    )


def codes_delete_expired(*, now: datetime, batch_size: int, dry_run: bool = False) -> int:
    """Delete expired codes, ``batch_size`` rows per statement; return how many."""
    expired = UserCode.objects.filter(expires_at__lte=now).order_by("expires_at")
    if dry_run:
        return expired.count()
    total = delete_in_batches(expired, batch_size=batch_size)
    metrics.CODES_EXPIRED_DELETED.inc(total)
    return total
