"""
What the compatibility APIs add to the vault (docs/compatibility.md): a secret whose sender
allowed it can be destroyed by whoever holds its link, and a secret's record can be read in
any state (live or a tombstone) without consuming it.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from onetime.vault import services
from onetime.vault.models import Secret

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

T0 = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
IP = "192.0.2.7"


def create(*, deletable: bool, ttl: int = 3600) -> Secret:
    return services.secret_create(
        plaintext="a secret", ttl=ttl, passphrase=None, client_ip=IP, deletable_by_viewer=deletable
    ).secret


def burn(secret: Secret) -> Secret:
    return services.secret_burn_by_viewer(secret_id=secret.id, client_ip=IP)


def row(secret: Secret) -> Secret:
    return Secret.objects.get(pk=secret.pk)


def test_a_secret_is_not_deletable_by_its_link_unless_its_sender_allowed_it():
    secret = services.secret_create(plaintext="x", ttl=None, passphrase=None, client_ip=IP).secret

    with pytest.raises(services.NotDeletable):
        burn(secret)

    assert (row(secret).state, row(secret).ciphertext is not None) == ("active", True)


def test_the_link_burns_a_deletable_secret_once_and_then_answers_the_same():
    with time_machine.travel(T0, tick=False):
        secret = create(deletable=True)

        first, again = burn(secret), burn(secret)

    assert (first.state, first.ended_at) == ("burned", T0)
    assert (again.state, again.ended_at) == ("burned", T0)
    assert (row(secret).state, row(secret).ciphertext) == ("burned", None)


def test_a_revealed_secret_stays_revealed_when_its_link_burns_it():
    secret = create(deletable=True)
    services.secret_reveal(secret_id=secret.id, passphrase=None, client_ip=IP)

    assert burn(secret).state == "revealed"


def test_burning_a_secret_past_its_ttl_leaves_the_expired_tombstone_it_is():
    with time_machine.travel(T0, tick=False) as clock:
        secret = create(deletable=True, ttl=60)
        clock.move_to(T0 + timedelta(seconds=61))

        burned = burn(secret)

    assert (burned.state, burned.ended_at) == ("expired", T0 + timedelta(seconds=60))
    assert (row(secret).state, row(secret).ciphertext) == ("expired", None)


def test_the_record_reads_every_state_without_writing():
    with time_machine.travel(T0, tick=False) as clock:
        secret = create(deletable=False, ttl=60)
        live = services.secret_record(secret_id=secret.id, client_ip=IP)
        clock.move_to(T0 + timedelta(seconds=61))
        expired = services.secret_record(secret_id=secret.id, client_ip=None)

    assert (live.state, live.ended_at) == ("active", None)
    assert (expired.state, expired.ended_at) == ("expired", T0 + timedelta(seconds=60))
    # Shown as expired; the row is left for reveal, burn and cleanup to wipe.
    assert (row(secret).state, row(secret).ciphertext is not None) == ("active", True)


def record(secret: Secret) -> Secret:
    return services.secret_record(secret_id=secret.id, client_ip=IP)


@pytest.mark.parametrize("lookup", [record, burn])
def test_a_purged_id_is_not_found(lookup):
    with time_machine.travel(T0, tick=False) as clock:
        secret = create(deletable=True, ttl=60)
        retention = timedelta(days=settings.ONETIME_TOMBSTONE_DAYS)
        clock.move_to(T0 + timedelta(seconds=61) + retention)

        with pytest.raises(services.SecretNotFound):
            lookup(secret)
