import uuid
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q


class Secret(models.Model):
    """
    One secret and, once it is no longer active, its tombstone.

    A tombstone keeps the id, the timestamps and the final state (never the ciphertext) so
    that the service can tell «destroyed» from «expired» from never-existed.
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        REVEALED = "revealed"
        BURNED = "burned"
        EXPIRED = "expired"
        # Destroyed after too many wrong passphrases.
        LOCKED = "locked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    # AES-256-GCM under a server key (see crypto.py); NULL once the secret is not active.
    ciphertext = models.BinaryField(null=True)
    passphrase_required = models.BooleanField(default=False)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    # Telegram-bound secrets (PRODUCT.md §2.6): the account as the sender named it ("@Alice"
    # or "123456789"; "" when anyone with the link may open it), the username in lower case
    # without "@" while no account is bound, and the bound account's id. All three outlive
    # the secret in its tombstone, so that the receipt still says whom it was for. The NOT
    # NULL columns have database defaults too, so that processes still running the previous
    # release during an upgrade (migrations first) insert rows that satisfy them.
    telegram_recipient = models.CharField(max_length=64, default="", db_default="", blank=True)
    recipient_username = models.CharField(max_length=64, null=True)  # noqa: DJ001
    recipient_id = models.BigIntegerField(null=True)
    failed_codes = models.PositiveSmallIntegerField(default=0, db_default=0)
    # The sender's private chat with the bot, told when the secret is read, burned, expires
    # or is destroyed; NULL when the sender asked for no notifications.
    notify_chat_id = models.BigIntegerField(null=True)
    # Encrypted by the sender's client (PRODUCT.md §2.7): the envelope's key check, base64url
    # (core/envelope.py), which the recipient's client compares with its key before the
    # reveal. "" for a secret the server encrypted. It tells nothing of the key (256 random
    # bits), and outlives the secret so that the receipt still says how it was encrypted.
    key_check = models.CharField(max_length=22, default="", db_default="", blank=True)
    # Whoever holds the link may also destroy it without reading it (Password Pusher's
    # deletable_by_viewer, docs/compatibility.md); otherwise only the receipt's holder can.
    deletable_by_viewer = models.BooleanField(default=False, db_default=False)
    # SHA-256 of the sender's receipt token; the token itself is never stored.
    receipt_hash = models.CharField(max_length=64)  # unique: see Meta
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # When the secret stopped being active (revealed, burned, locked; expires_at if expired).
    ended_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "secrets"
        constraints = [
            # A unique constraint, not unique=True: on PostgreSQL unique=True adds a second
            # index (varchar_pattern_ops, for LIKE) that no query uses and every insert must
            # update. Receipts are looked up by "receipt_hash = …", which this one serves.
            models.UniqueConstraint(fields=["receipt_hash"], name="secrets_receipt_hash_key"),
            # Gone means gone: only an active secret may hold a ciphertext, and it must.
            models.CheckConstraint(
                condition=(Q(state="active", ciphertext__isnull=False, ended_at__isnull=True))
                | (~Q(state="active") & Q(ciphertext__isnull=True, ended_at__isnull=False)),
                name="secret_ciphertext_only_while_active",
            ),
        ]
        indexes = [
            # Cleanup: "active secrets whose expires_at has passed" (wipe to tombstones).
            models.Index(
                fields=["expires_at"], condition=Q(state="active"), name="secret_active_expiry"
            ),
            # The bot, on every /code: "active secrets waiting for this username to be bound"
            # (secrets_bind_recipient).
            models.Index(
                fields=["recipient_username"],
                condition=Q(state="active", recipient_id__isnull=True)
                & ~Q(recipient_username=None),
                name="secret_unbound_recipient",
            ),
            # Cleanup: "tombstones that ended before the retention cut-off" (purge).
            models.Index(
                fields=["ended_at"], condition=~Q(state="active"), name="secret_tombstone_end"
            ),
        ]

    def __str__(self) -> str:
        return f"secret {str(self.id)[:8]}… ({self.state})"

    @property
    def client_encrypted(self) -> bool:
        return bool(self.key_check)

    def state_at(self, now: datetime) -> str:
        """Return the state as of ``now``: an active secret past its TTL is expired."""
        if self.state == self.State.ACTIVE and self.expires_at <= now:
            return self.State.EXPIRED
        return self.state

    def ended_at_or_expiry(self, now: datetime) -> datetime | None:
        if self.state_at(now) == self.State.EXPIRED and self.ended_at is None:
            return self.expires_at
        return self.ended_at

    def is_purged_at(self, now: datetime, *, retention: timedelta) -> bool:
        """Return True once the tombstone has outlived its retention (it then reads as 404)."""
        ended = self.ended_at_or_expiry(now)
        return ended is not None and ended < now - retention
