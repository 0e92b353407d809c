"""
The outbox of notifications to senders: queue one in the transaction that changes a secret,
claim due ones for delivery, record how a delivery went.

Delivery is at least once. A sender process claims rows by leasing them (next_attempt_at
moves LEASE ahead and attempts goes up by one, in one short transaction with SELECT … FOR
UPDATE SKIP LOCKED), sends outside any transaction, then deletes each row it delivered. Two
senders never hold one row at once: a leased row is not due. A sender that dies between
Telegram's answer and the delete leaves the row to be sent again once its lease runs out:
that window, one message long, is the only way a notification arrives twice.

``attempts`` doubles as the lease's version: every claim raises it, so a sender records a
failure or gives a row back only while the row still carries the count its own claim left
(a sender whose lease ran out must not move another sender's lease).
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from onetime.core import metrics
from onetime.notices.models import Notification

logger = logging.getLogger(__name__)

Event = Notification.Event

# How long a claimed row stays out of other senders' reach. Far longer than one send may
# take: the sender starts no send later than a third of the lease after its claim
# (bot/outbox.py SEND_WINDOW) and a send gives up within 25 s (bot/client.py SEND_TIMEOUT),
# so that a live sender's rows are never taken over.
LEASE = timedelta(seconds=60)
# Retries back off from FIRST_RETRY, doubling up to LONGEST_RETRY; after MAX_ATTEMPTS tries
# the message is dropped: 20 tries span about 10 hours, enough for a Telegram outage or a
# network partition, while a chat that refuses every message is given up.
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 20


def notification_enqueue(
    *, chat_id: int, secret_id: object, event: str, happened_at: datetime
) -> None:
    """Queue a notification; call it inside the transaction that changes the secret."""
    notifications_enqueue([(chat_id, secret_id, event, happened_at)])


def notifications_enqueue(items: Iterable[tuple[int, object, str, datetime]]) -> None:
    """Queue several notifications (chat id, secret id, event, when) in one statement."""
    now = timezone.now()
    rows = [
        Notification(
            chat_id=chat_id,
            secret_prefix=str(secret_id)[:8],
            event=event,
            happened_at=happened_at,
            created_at=now,
            next_attempt_at=now,
        )
        for chat_id, secret_id, event, happened_at in items
    ]
    if not rows:
        return
    Notification.objects.bulk_create(rows)
    transaction.on_commit(lambda: metrics.NOTIFICATIONS_QUEUED.inc(len(rows)))


def notifications_claim(*, limit: int) -> list[Notification]:
    """Lease up to ``limit`` due notifications to this process, oldest first."""
    with transaction.atomic():
        now = timezone.now()
        # SKIP LOCKED: another sender's claim in progress is passed over, not waited for.
        # On SQLite (no row locks) the IMMEDIATE transaction serializes claims instead.
        due = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        if due:
            Notification.objects.filter(pk__in=[n.pk for n in due]).update(
                next_attempt_at=now + LEASE, attempts=F("attempts") + 1
            )
    for notification in due:
        notification.attempts += 1
    return due


def notification_delivered(notification: Notification) -> None:
    """Remove a delivered notification from the outbox."""
    Notification.objects.filter(pk=notification.pk).delete()
    metrics.NOTIFICATIONS_SENT.inc()
    delay = (timezone.now() - notification.created_at).total_seconds()
    metrics.NOTIFICATION_DELAY_SECONDS.observe(max(delay, 0.0))


def _still_leased(notification: Notification) -> Q:
    """Match the row only while it carries the attempts count this sender's claim left."""
    return Q(pk=notification.pk, attempts=notification.attempts)


def notification_failed(notification: Notification, *, permanent: bool) -> None:
    """
    Record a failed try: retry later with back-off, or drop the notification when the
    failure is permanent (the chat refuses it) or it has had MAX_ATTEMPTS tries.
    """
    metrics.NOTIFICATIONS_FAILED.inc()
    if permanent or notification.attempts >= MAX_ATTEMPTS:
        Notification.objects.filter(_still_leased(notification)).delete()
        metrics.NOTIFICATIONS_DROPPED.inc()
        logger.warning(
            "notification %d dropped after %d tries (%s)",
            notification.pk,
            notification.attempts,
            "refused" if permanent else "kept failing",
        )
        return
    pause = min(FIRST_RETRY * 2 ** (notification.attempts - 1), LONGEST_RETRY)
    Notification.objects.filter(_still_leased(notification)).update(
        next_attempt_at=timezone.now() + pause
    )


def _give_back(notifications: Iterable[Notification], *, at: datetime) -> None:
    """Make claimed notifications due at ``at``, taking back the try their claim counted."""
    still_leased = Q(pk__in=[])
    for notification in notifications:
        still_leased |= _still_leased(notification)
    Notification.objects.filter(still_leased).update(next_attempt_at=at, attempts=F("attempts") - 1)


def notifications_defer(notifications: Iterable[Notification], *, seconds: float) -> None:
    """
    Put notifications back until ``seconds`` from now without counting a try: the Bot API
    answered 429 to the first of them and asked to wait that long (retry_after).
    """
    metrics.NOTIFICATIONS_RATE_LIMITED.inc()
    _give_back(notifications, at=timezone.now() + timedelta(seconds=seconds))


def notifications_release(notifications: Iterable[Notification]) -> None:
    """Give claimed notifications that were not tried back to the outbox, due at once."""
    _give_back(notifications, at=timezone.now())
