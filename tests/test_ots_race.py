"""
At most once through OneTimeSecret's reveal (PRODUCT.md §2.2, issue 15): 32 concurrent
POST /api/v1/secret/<key> for one secret, each on its own connection, released together:
exactly one gets the value, the others the peer's 404 "Unknown secret".
"""

import secrets
from collections import Counter

import pytest

from onetime.vault.models import Secret
from tests.concurrency import RACERS, Request, assert_no_failures
from tests.conftest import make_secret

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_rate_limits"),
]

TRIALS = 12


def ots_reveal(key: str, query: str = "") -> Request:
    # As corbaltcode sends it: the parameters in the query string, an empty body.
    return lambda client: client.post(f"/api/v1/secret/{key}{query}")


@pytest.mark.parametrize("passphrase", [None, "open sesame"])
def test_exactly_one_of_32_concurrent_ots_reveals_gets_the_value(racers, passphrase):
    query = f"?passphrase={passphrase.replace(' ', '+')}" if passphrase else ""
    for trial in range(TRIALS if passphrase is None else TRIALS // 4):
        plaintext = f"trial {trial} {secrets.token_urlsafe(12)} ✓"
        key = str(make_secret(plaintext, passphrase=passphrase).secret.id)

        answers = racers.race([ots_reveal(key, query)] * RACERS)

        assert_no_failures(answers)
        statuses = Counter(answer.status for answer in answers)
        assert statuses == {200: 1, 404: RACERS - 1}, f"trial {trial}: {dict(statuses)}"
        (winner,) = (answer for answer in answers if answer.status == 200)
        assert winner.json()["value"] == plaintext
        losers = [answer.json() for answer in answers if answer.status == 404]
        assert all(body == {"message": "Unknown secret", "secret_key": key} for body in losers)
        assert Secret.objects.get(pk=key).state == Secret.State.REVEALED
