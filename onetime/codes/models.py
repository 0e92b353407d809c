from django.db import models


class TelegramAccount(models.Model):
    """
    A Telegram user who asked the bot for a code: who they are, and how many wrong codes
    were tried against them in a row (the count survives new codes; a success resets it).
    """

    # Telegram's user ids are positive. Rows with negative ids are stand-ins that verifying an
    # unknown account locks and counts against instead (codes/services.py, STAND_INS).
    telegram_user_id = models.BigIntegerField(primary_key=True)
    # Lower-case, without "@" (Telegram usernames are case-insensitive and can change hands),
    # so a plain unique index serves "username = …" lookups (see Meta). NULL, not "": many
    # accounts have no username, and the unique index ignores NULLs.
    username = models.CharField(max_length=64, null=True)  # noqa: DJ001
    first_name = models.CharField(max_length=256, default="")
    failed_attempts = models.PositiveIntegerField(default=0)
    # No verification is attempted before this moment (throttling after repeated failures).
    locked_until = models.DateTimeField(null=True)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "telegram_accounts"
        constraints = [
            # A unique constraint, not unique=True: on PostgreSQL unique=True adds a second
            # index (varchar_pattern_ops, for LIKE) that no query uses and every insert must
            # update. Checked at commit (deferred): when two first /code requests of one new
            # user race, the loser's insert must fail on telegram_user_id, which ON CONFLICT
            # turns into "wait, then update", and not first on the username, which would be
            # an error (PostgreSQL resolves conflicts only on the arbiter index). SQLite has
            # no deferrable constraints and skips this one: migration 0004 gives it a plain
            # unique index instead.
            models.UniqueConstraint(
                fields=["username"],
                name="telegram_accounts_username_key",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]

    def __str__(self) -> str:
        return f"telegram user {self.telegram_user_id}"


class UserCode(models.Model):
    """
    The current code of one Telegram user. A user has at most one row (a unique index), so
    at most one active code; a used code is deleted, an expired one is replaced or deleted
    by cleanup.
    """

    code = models.CharField(max_length=7)  # unique: see Meta
    telegram_user_id = models.BigIntegerField(unique=True)
    expires_at = models.DateTimeField(db_index=True)  # cleanup: "expires_at < now"
    created_at = models.DateTimeField()

    class Meta:
        db_table = "user_codes"
        constraints = [
            # Without the LIKE index of unique=True (see TelegramAccount): a bulk insert of
            # 1 M codes took 18 s with it, 11 s without. Immediate: the code's INSERT names no
            # arbiter, so every unique index is one.
            models.UniqueConstraint(fields=["code"], name="user_codes_code_key"),
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[1-9][0-9]{6}$"), name="user_code_seven_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"code of telegram user {self.telegram_user_id}"


class BotIdentity(models.Model):
    """
    The bot's own username, as getMe last reported it (one row). The processes that talk to
    Telegram (the bot, the scheduler) write it at start, so that the web pages can name the
    bot without calling Telegram themselves. TELEGRAM_BOT_USERNAME overrides it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    username = models.CharField(max_length=64)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "telegram_bot"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="telegram_bot_one_row"),
        ]

    def __str__(self) -> str:
        return f"@{self.username}"
