from django.db import models


class Notification(models.Model):
    """
    One message to a secret's sender, waiting in the outbox until a sender process delivers
    it (bot/outbox.py). Written in the transaction that changed the secret's state, so that a
    state change and its notification commit or roll back together; deleted once delivered
    or dropped.

    It never holds the secret: only the chat, the id's first characters, what happened and
    when. The text is composed at delivery (bot/texts.py).
    """

    class Event(models.TextChoices):
        READ = "read"
        EXPIRED = "expired"
        BURNED = "burned"
        # Destroyed after too many wrong passphrases or Telegram codes.
        LOCKED = "locked"

    id = models.BigAutoField(primary_key=True)
    # The sender's private chat with the bot (its id is the sender's Telegram user id).
    chat_id = models.BigIntegerField()
    secret_prefix = models.CharField(max_length=8)
    event = models.CharField(max_length=16, choices=Event.choices)
    happened_at = models.DateTimeField()
    created_at = models.DateTimeField()
    # Delivery tries so far, the one under way included.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Not tried before this moment: a retry's back-off, a 429's retry_after, or the lease of
    # the sender process that claimed it.
    next_attempt_at = models.DateTimeField()

    class Meta:
        db_table = "notifications"
        indexes = [
            # The sender's poll: "due rows, oldest first" (notifications_claim).
            models.Index(fields=["next_attempt_at"], name="notification_due"),
        ]

    def __str__(self) -> str:
        return f"notification {self.event} of {self.secret_prefix}…"
