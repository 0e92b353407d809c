"""
Abuse limits per client IP (PRODUCT.md §2.5: 429 with Retry-After), counted in the
database table rate_limit_hits so that every worker process shares them.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client, RequestFactory

from onetime.core.models import RateLimitHit
from onetime.core.ratelimit import client_ip
from onetime.vault.models import Secret
from tests.conftest import make_secret, post_json, reveal

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

# 10 seconds into a one-minute window (a multiple of 60 seconds since the epoch).
T0 = datetime(2030, 5, 17, 12, 0, 10, tzinfo=UTC)
IP = "198.51.100.7"
OTHER_IP = "198.51.100.8"


@pytest.fixture
def limits(no_rate_limits):
    """No limits unless the test sets one."""
    return no_rate_limits


@pytest.fixture(autouse=True)
def frozen():
    """
    A frozen clock for every test: counters are per fixed window, so a test that crossed a
    window boundary on the wall clock would see its counts start again.
    """
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def create(ip: str = IP, client: Client | None = None, **headers: str):
    client = client or Client(REMOTE_ADDR=ip)
    return post_json(client, "/api/v1/secrets", {"secret": "hunter2"}, **headers)


def reveal_from(secret_id, ip: str = IP):
    return reveal(Client(REMOTE_ADDR=ip), secret_id)


def assert_rate_limited(response, retry_after: int | None = None) -> None:
    assert response.status_code == 429
    assert response.json()["status"] == "rate_limited"
    assert response.json()["detail"]
    value = int(response["Retry-After"])
    assert response["Retry-After"] == str(value)
    assert value >= 1
    if retry_after is not None:
        assert value == retry_after


def test_the_fourth_create_from_one_ip_is_refused(limits, frozen):
    limits.ONETIME_RATE_CREATE = (3, 60)

    allowed = [create() for _ in range(3)]
    refused = create()

    assert [r.status_code for r in allowed] == [201, 201, 201]
    # The window ends 50 seconds after T0.
    assert_rate_limited(refused, retry_after=50)
    assert Secret.objects.count() == 3
    assert create(OTHER_IP).status_code == 201


def test_the_limit_lifts_when_the_window_ends(limits, frozen):
    limits.ONETIME_RATE_CREATE = (3, 60)
    for _ in range(3):
        create()

    frozen.move_to(T0 + timedelta(seconds=49))
    assert_rate_limited(create(), retry_after=1)
    frozen.move_to(T0 + timedelta(seconds=50))

    assert create().status_code == 201


def test_the_fourth_reveal_from_one_ip_is_refused_without_consuming(limits):
    secrets = [make_secret(f"secret {n}").secret.id for n in range(5)]
    limits.ONETIME_RATE_REVEAL = (3, 60)

    allowed = [reveal_from(secret_id) for secret_id in secrets[:3]]
    refused = reveal_from(secrets[3])

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert_rate_limited(refused)
    assert Secret.objects.get(pk=secrets[3]).state == Secret.State.ACTIVE
    assert reveal_from(secrets[3], OTHER_IP).json() == {"secret": "secret 3"}


def test_reveals_of_unknown_ids_count_too(limits):
    """Otherwise a guesser could probe ids without limit."""
    limits.ONETIME_RATE_REVEAL = (3, 60)
    real = make_secret().secret.id

    for _ in range(3):
        assert reveal_from("6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1").status_code == 404

    assert_rate_limited(reveal_from(real))


def test_the_web_form_is_limited_too(limits):
    limits.ONETIME_RATE_CREATE = (3, 60)
    browser = Client(REMOTE_ADDR=IP)

    allowed = [browser.post("/", {"secret": "hunter2", "ttl": "300"}) for _ in range(3)]
    refused = browser.post("/", {"secret": "hunter2", "ttl": "300"})

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert refused.status_code == 429
    assert "text/html" in refused["Content-Type"]
    assert int(refused["Retry-After"]) >= 1
    assert Secret.objects.count() == 3


def test_the_web_reveal_is_limited_too(limits):
    secret_id = make_secret().secret.id
    limits.ONETIME_RATE_REVEAL = (1, 60)
    browser = Client(REMOTE_ADDR=IP)
    assert reveal_from("6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1").status_code == 404

    refused = browser.post(f"/s/{secret_id}")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert Secret.objects.get(pk=secret_id).state == Secret.State.ACTIVE


def test_the_limits_are_separate_per_policy(limits):
    limits.ONETIME_RATE_CREATE = (3, 60)
    limits.ONETIME_RATE_REVEAL = (3, 60)
    ids = [create().json()["id"] for _ in range(3)]

    assert [reveal_from(secret_id).status_code for secret_id in ids] == [200, 200, 200]


# --- Look-ups by id or receipt token ----------------------------------------------------------

UNKNOWN_ID = "6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1"


# Each look-up of a secret by id or receipt token: (method, path, answers JSON).
LOOKUPS = {
    "api metadata": ("get", "/api/v1/secrets/{id}", True),
    "api receipt": ("get", "/api/v1/receipts/{token}", True),
    "api burn": ("post", "/api/v1/receipts/{token}/burn", True),
    "recipient page": ("get", "/s/{id}", False),
    "receipt page": ("get", "/r/{token}", False),
    "receipt page burn": ("post", "/r/{token}/burn", False),
}


@pytest.mark.parametrize(("method", "path", "json_answer"), LOOKUPS.values(), ids=LOOKUPS.keys())
def test_the_fourth_lookup_from_one_ip_is_refused(limits, frozen, method, path, json_answer):
    created = make_secret()
    path = path.format(id=created.secret.id, token=created.receipt_token)
    limits.ONETIME_RATE_LOOKUP = (3, 60)
    browser = Client(REMOTE_ADDR=IP)
    # Three look-ups of other things, unknown ones included, use up the allowance.
    browser.get(f"/api/v1/secrets/{UNKNOWN_ID}")
    browser.get(f"/s/{UNKNOWN_ID}")
    browser.get(f"/api/v1/receipts/{created.receipt_token}")

    refused = getattr(browser, method)(path)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"  # the window ends 50 seconds after T0
    if json_answer:
        assert_rate_limited(refused, retry_after=50)
    else:
        assert "text/html" in refused["Content-Type"]
    assert Secret.objects.get().state == Secret.State.ACTIVE  # a refused burn burns nothing
    assert getattr(Client(REMOTE_ADDR=OTHER_IP), method)(path).status_code == 200


def test_a_refused_confirmed_burn_from_the_page_burns_nothing(limits, frozen):
    limits.ONETIME_RATE_LOOKUP = (1, 60)
    created = make_secret()
    browser = Client(REMOTE_ADDR=IP)
    assert browser.post(f"/r/{created.receipt_token}/burn").status_code == 200  # the question

    refused = browser.post(f"/r/{created.receipt_token}/burn", {"confirm": "yes"})

    assert refused.status_code == 429
    assert Secret.objects.get().state == Secret.State.ACTIVE


def test_lookups_have_their_own_allowance(limits, frozen):
    limits.ONETIME_RATE_LOOKUP = (1, 60)
    limits.ONETIME_RATE_REVEAL = (1, 60)
    created = make_secret()
    browser = Client(REMOTE_ADDR=IP)

    assert browser.get(f"/api/v1/secrets/{created.secret.id}").status_code == 200
    assert reveal_from(created.secret.id).status_code == 200
    assert browser.get(f"/api/v1/receipts/{created.receipt_token}").status_code == 429


def test_the_lookup_limit_lifts_when_the_window_ends(limits, frozen):
    limits.ONETIME_RATE_LOOKUP = (1, 60)
    created = make_secret()
    browser = Client(REMOTE_ADDR=IP)
    assert browser.get(f"/r/{created.receipt_token}").status_code == 200
    frozen.move_to(T0 + timedelta(seconds=49))
    assert browser.get(f"/r/{created.receipt_token}").status_code == 429

    frozen.move_to(T0 + timedelta(seconds=50))

    assert browser.get(f"/r/{created.receipt_token}").status_code == 200


# --- Which client a request comes from ----------------------------------------------------------


def test_behind_one_proxy_it_keys_on_the_last_forwarded_address(limits):
    limits.ONETIME_RATE_CREATE = (3, 60)
    limits.ONETIME_PROXY_COUNT = 1
    proxy = "10.0.0.1"

    # The client may write anything into the header; the proxy appends what it saw.
    for spoofed in ["1.1.1.1", "2.2.2.2", "3.3.3.3"]:
        assert create(proxy, x_forwarded_for=f"{spoofed}, {IP}").status_code == 201
    refused = create(proxy, x_forwarded_for=f"4.4.4.4, {IP}")
    another_client = create(proxy, x_forwarded_for=f"{IP}, {OTHER_IP}")

    assert_rate_limited(refused)
    assert another_client.status_code == 201


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(limits):
    limits.ONETIME_RATE_CREATE = (3, 60)
    assert limits.ONETIME_PROXY_COUNT == 0

    for n in range(3):
        assert create(IP, x_forwarded_for=f"203.0.113.{n}").status_code == 201

    assert_rate_limited(create(IP, x_forwarded_for="203.0.113.99"))


def test_ipv6_addresses_in_one_64_share_a_bucket(limits):
    limits.ONETIME_RATE_CREATE = (3, 60)
    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"]

    for ip in same_64:
        assert create(ip).status_code == 201

    assert_rate_limited(create("2001:db8:1:2:abcd::9"))
    assert create("2001:db8:1:3::1").status_code == 201


def test_ipv4_addresses_do_not_share_a_bucket(limits):
    limits.ONETIME_RATE_CREATE = (1, 60)

    assert create("198.51.100.1").status_code == 201
    assert create("198.51.100.2").status_code == 201
    assert_rate_limited(create("198.51.100.1"))


def test_ipv4_mapped_ipv6_addresses_count_as_their_ipv4_address(limits):
    """A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; they are not one /64."""
    limits.ONETIME_RATE_CREATE = (1, 60)

    assert create("::ffff:198.51.100.1").status_code == 201
    assert create("::ffff:198.51.100.2").status_code == 201
    assert_rate_limited(create("198.51.100.1"))


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "203.0.113.5", "192.0.2.1"),
        (1, "10.0.0.1", "203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.1", "198.51.100.1, 203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.1", " 198.51.100.1 ,203.0.113.5 ", "203.0.113.5"),
        (2, "10.0.0.1", "198.51.100.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (1, "10.0.0.1", "2001:db8::1", "2001:db8::1"),
        # Too few entries, or garbage: fall back to the address that connected.
        (2, "10.0.0.1", "203.0.113.5", "10.0.0.1"),
        (1, "10.0.0.1", "", "10.0.0.1"),
        (1, "10.0.0.1", "203.0.113.5, not-an-ip", "10.0.0.1"),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.ONETIME_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


# --- Where the counters live --------------------------------------------------------------------


def test_the_counters_live_in_the_database(limits, frozen):
    limits.ONETIME_RATE_CREATE = (3, 60)
    for _ in range(4):
        create()

    with connection.cursor() as cursor:
        cursor.execute("SELECT key, bucket, hits FROM rate_limit_hits")
        ((key, bucket, hits),) = cursor.fetchall()

    assert hits == 4
    assert bucket == int(T0.timestamp()) // 60
    assert IP not in key  # the address is stored only as a keyed hash
    assert RateLimitHit.objects.get().expires_at == T0 + timedelta(seconds=50)

    # Another worker sees the same table: emptying it lifts the limit for everyone.
    RateLimitHit.objects.all().delete()
    assert create().status_code == 201


def test_counts_from_another_process_apply_here(limits):
    limits.ONETIME_RATE_CREATE = (3, 60)
    # Three hits that another worker recorded in the shared table.
    create(OTHER_IP)
    RateLimitHit.objects.update(hits=3)

    assert_rate_limited(create(OTHER_IP))
