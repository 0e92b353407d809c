"""
At most once through Password Pusher's consuming GETs (PRODUCT.md §2.2, docs/compatibility.md):
32 racers retrieve one push; exactly one gets the payload, the other 31 the expired document.
"""

from collections import Counter

import pytest

from onetime.vault.models import Secret
from tests.concurrency import RACERS, assert_no_failures
from tests.conftest import make_secret

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_rate_limits"),
]


@pytest.mark.parametrize(
    ("route", "trials"),
    [
        ("/p/{}.json", 10),
        ("/api/v2/pushes/{}", 10),
        # Under the row lock, with Argon2 for the winner: fewer, slower trials.
        ("/p/{}.json?passphrase=pp", 3),
    ],
)
def test_exactly_one_of_32_concurrent_retrievals_gets_the_payload(racers, route, trials):
    for trial in range(trials):
        plaintext = f"trial {trial} ✓"
        passphrase = "pp" if "passphrase" in route else None
        secret_id = make_secret(plaintext, passphrase=passphrase).secret.id
        path = route.format(secret_id)

        answers = racers.race([lambda client, path=path: client.get(path)] * RACERS)

        assert_no_failures(answers)
        assert Counter(answer.status for answer in answers) == {200: RACERS}, trial
        documents = [answer.json() for answer in answers]
        winners = [d for d in documents if d["payload"] is not None]
        assert [w["payload"] for w in winners] == [plaintext], trial
        assert winners[0]["expired"] is False
        losers = [d for d in documents if d["payload"] is None]
        assert len(losers) == RACERS - 1
        assert all(d["expired"] is True and d["passphrase"] is None for d in losers)
        row = Secret.objects.get(pk=secret_id)
        assert (row.state, row.ciphertext) == (Secret.State.REVEALED, None)
