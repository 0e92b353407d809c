from django.db import models


class TelegramAccount(models.Model):
    """
    A Telegram user who asked the bot for a code: who they are, and how many wrong codes
    were tried against them in a row (the count survives new codes; a success resets it).
    """

    telegram_user_id = models.BigIntegerField(primary_key=True)
    # Lower-case, without "@" (Telegram usernames are case-insensitive and can change hands),
    # so a plain unique index serves "username = …" lookups. NULL, not "": many accounts have
    # no username, and the unique index ignores NULLs.
    username = models.CharField(max_length=64, null=True, unique=True)  # noqa: DJ001
    first_name = models.CharField(max_length=256, default="")
    failed_attempts = models.PositiveIntegerField(default=0)
    # No verification is attempted before this moment (throttling after repeated failures).
    locked_until = models.DateTimeField(null=True)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "telegram_accounts"

    def __str__(self) -> str:
        return f"telegram user {self.telegram_user_id}"


class UserCode(models.Model):
    """
    The current code of one Telegram user. A user has at most one row (a unique index), so
    at most one active code; a used code is deleted, an expired one is replaced or deleted
    by cleanup.
    """

    code = models.CharField(max_length=7, unique=True)
    telegram_user_id = models.BigIntegerField(unique=True)
    expires_at = models.DateTimeField(db_index=True)  # cleanup: "expires_at < now"
    created_at = models.DateTimeField()

    class Meta:
        db_table = "user_codes"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[1-9][0-9]{6}$"), name="user_code_seven_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"code of telegram user {self.telegram_user_id}"
