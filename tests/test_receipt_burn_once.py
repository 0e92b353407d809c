"""
receipt_burn(only_active=True): only the call that burned a live secret hears so; a
secret that had already ended raises SecretGone, and is left as it was (the OneTimeSecret
API's burn answers 404 then, docs/compatibility.md).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from onetime.vault import services
from onetime.vault.models import Secret
from tests.conftest import make_secret

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite, pytest.mark.usefixtures("no_rate_limits")]


def burn(token: str) -> Secret:
    return services.receipt_burn(token=token, client_ip="192.0.2.1", only_active=True)


def test_it_burns_a_live_secret_and_refuses_the_second_burn():
    created = make_secret()

    assert burn(created.receipt_token).state == Secret.State.BURNED
    with pytest.raises(services.SecretGone) as gone:
        burn(created.receipt_token)
    assert gone.value.state == Secret.State.BURNED


def test_it_refuses_a_revealed_secret_and_leaves_it_revealed():
    created = make_secret()
    services.secret_reveal(secret_id=created.secret.id, passphrase=None, client_ip="192.0.2.1")

    with pytest.raises(services.SecretGone) as gone:
        burn(created.receipt_token)

    assert gone.value.state == Secret.State.REVEALED
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.REVEALED


def test_it_refuses_an_expired_secret_and_wipes_it():
    created = make_secret()
    Secret.objects.filter(pk=created.secret.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    with pytest.raises(services.SecretGone) as gone:
        burn(created.receipt_token)

    assert gone.value.state == Secret.State.EXPIRED
    row = Secret.objects.get(pk=created.secret.id)
    assert (row.state, row.ciphertext) == (Secret.State.EXPIRED, None)


def test_without_only_active_it_stays_idempotent():
    created = make_secret()
    services.receipt_burn(token=created.receipt_token, client_ip="192.0.2.1")

    again = services.receipt_burn(token=created.receipt_token, client_ip="192.0.2.1")

    assert again.state == Secret.State.BURNED
