"""
/metrics: Prometheus text format, counting what PRODUCT.md §3.5 lists, labelled by route
pattern (never by a path that carries an id), optionally behind a bearer token, and correct
when several worker processes serve the requests.

The registry is process-global, so in-process tests compare values before and after.
"""

import os
import re
import shutil
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from onetime.cleanup.services import cleanup_run
from onetime.codes import services as codes
from onetime.codes.models import UserCode
from onetime.vault.models import Secret
from tests.conftest import post_json
from tests.processes import (
    database_url,
    free_port,
    http_get,
    service_env,
    start,
    stop,
    wait_until_serving,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(autouse=True)
def _open_metrics(settings):
    settings.METRICS_TOKEN = ""


def scrape(client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def issue_code(user_id: int) -> codes.IssuedCode:
    return codes.code_issue(telegram_user_id=user_id, username=None, first_name="M")


@pytest.mark.django_db(transaction=True)
def test_creating_a_secret_counts_it_and_its_request_by_route(client):
    before = scrape(client)

    assert post_json(client, "/api/v1/secrets", {"secret": "s3cret"}).status_code == 201

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("onetime_secrets_created_total") == 1
    route = {"route": "/api/v1/secrets"}
    assert delta("onetime_http_requests_total", **route, method="POST", status="201") == 1
    assert delta("onetime_http_request_duration_seconds_count", **route) == 1
    assert delta("onetime_http_request_duration_seconds_bucket", **route, le="+Inf") == 1
    assert delta("onetime_http_request_duration_seconds_sum", **route) > 0


@pytest.mark.django_db(transaction=True)
def test_issuing_a_code_counts_it_and_its_generation_time_but_not_a_resend(client):
    before = scrape(client)

    issued = issue_code(9101)
    again = issue_code(9101)  # the same active code: not a new one

    after = scrape(client)
    assert issued.created
    assert not again.created

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("onetime_codes_created_total") == 1
    assert delta("onetime_code_generation_seconds_count") == 1
    assert delta("onetime_code_generation_seconds_bucket", le="+Inf") == 1
    assert 0 < delta("onetime_code_generation_seconds_sum") < 5


@pytest.mark.django_db(transaction=True)
def test_revealed_burned_and_expired_secrets_and_deleted_codes_are_counted(client):
    before = scrape(client)

    revealed = post_json(client, "/api/v1/secrets", {"secret": "a"}).json()
    assert post_json(client, f"/api/v1/secrets/{revealed['id']}/reveal").status_code == 200
    burned = post_json(client, "/api/v1/secrets", {"secret": "b"}).json()
    token = burned["receipt_url"].rsplit("/r/", 1)[1]
    assert post_json(client, f"/api/v1/receipts/{token}/burn").status_code == 200
    assert post_json(client, f"/api/v1/receipts/{token}/burn").status_code == 200  # idempotent
    expired = post_json(client, "/api/v1/secrets", {"secret": "c"}).json()
    past = timezone.now() - timedelta(seconds=1)
    Secret.objects.filter(pk=expired["id"]).update(created_at=past - timedelta(hours=1))
    Secret.objects.filter(pk=expired["id"]).update(expires_at=past)
    issue_code(9102)
    UserCode.objects.filter(telegram_user_id=9102).update(expires_at=past)
    counts = cleanup_run()
    assert counts is not None
    assert (counts.expired_secrets, counts.expired_codes) == (1, 1)

    after = scrape(client)

    def delta(name: str) -> float:
        return value(after, name) - value(before, name)

    assert delta("onetime_secrets_created_total") == 3
    assert delta("onetime_secrets_revealed_total") == 1
    assert delta("onetime_secrets_burned_total") == 1
    assert delta("onetime_secrets_expired_total") == 1
    assert delta("onetime_codes_expired_deleted_total") == 1


@pytest.mark.django_db(transaction=True)
def test_labels_carry_route_patterns_and_never_an_id_or_a_token(client):
    created = post_json(client, "/api/v1/secrets", {"secret": "x"}).json()
    token = created["receipt_url"].rsplit("/r/", 1)[1]
    missing = "6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1"
    before = scrape(client)

    client.get(f"/s/{created['id']}")
    client.get(f"/api/v1/secrets/{missing}")
    client.get(f"/r/{token}")
    client.get(f"/no/such/page/{missing}")

    response = client.get("/metrics")
    text = response.content.decode()
    after = parse(text)

    def delta(route: str, status: str) -> float:
        labels = {"route": route, "method": "GET", "status": status}
        return value(after, "onetime_http_requests_total", **labels) - value(
            before, "onetime_http_requests_total", **labels
        )

    assert delta("/s/<uuid:secret_id>", "200") == 1
    assert delta("/api/v1/secrets/<uuid:secret_id>", "404") == 1
    assert delta("/r/<token:token>", "200") == 1
    assert delta("unmatched", "404") == 1
    assert not UUID.search(text)
    assert token not in text
    assert token[:8] not in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", "metrics-token-123", "Bearer metrics-token-12",
     "Bearer metrics-token-1234", "Basic bWV0cmljcy10b2tlbi0xMjM="],
)  # fmt: skip
def test_with_a_metrics_token_a_missing_or_wrong_bearer_is_a_401(client, settings, authorization):
    settings.METRICS_TOKEN = "metrics-token-123"
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert b"onetime_" not in response.content


@pytest.mark.django_db
def test_with_a_metrics_token_the_right_bearer_gets_the_metrics(client, settings):
    settings.METRICS_TOKEN = "metrics-token-123"

    response = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-123"})

    assert response.status_code == 200
    assert b"# TYPE onetime_secrets_created_total counter" in response.content


# --- several worker processes ------------------------------------------------------------


def per_process(directory: Path, name: str, **labels: str) -> dict[str, float]:
    """Return the value of one sample as each process wrote it into ``directory``."""
    values = {}
    for path in directory.glob("counter_*.db"):
        alone = directory / "alone" / path.stem
        alone.mkdir(parents=True)
        shutil.copy(path, alone)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        samples: Samples = {}
        for family in registry.collect():
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        values[path.stem] = value(samples, name, **labels)
    shutil.rmtree(directory / "alone")
    return values


def wait_for_workers(log: Path, count: int, timeout: float = 60) -> None:
    """Wait until the server has started ``count`` worker processes in all."""
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count("Started worker") < count:
        assert time.monotonic() < deadline, f"fewer than {count} workers started"
        time.sleep(0.1)


@pytest.mark.django_db
def test_several_workers_report_one_sum_also_across_a_worker_that_died(tmp_path):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    port = free_port()
    log = tmp_path / "server.log"
    server = start(
        [sys.executable, "-m", "onetime.serve"],
        service_env(
            DATABASE_URL=database_url(connection.settings_dict),
            PROMETHEUS_MULTIPROC_DIR=str(multiproc),
            METRICS_TOKEN="",
            PORT=str(port),
            WEB_CONCURRENCY="3",
        ),
        log,
    )
    base = f"http://127.0.0.1:{port}"
    healthz = {"route": "/healthz", "method": "GET", "status": "200"}

    def hit(count: int) -> None:
        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(lambda _: http_get(f"{base}/healthz").status, range(count)))
        assert statuses == [200] * count

    try:
        wait_until_serving(f"{base}/metrics", server)
        wait_for_workers(log, 3)
        hit(20)
        # A worker that served requests dies; the server starts another in its place. The
        # sum must still include what the dead one served.
        served = per_process(multiproc, "onetime_http_requests_total", **healthz)
        busiest = max(served, key=lambda stem: served[stem])
        os.kill(int(busiest.rsplit("_", 1)[1]), signal.SIGKILL)
        wait_for_workers(log, 4)
        hit(10)

        served = per_process(multiproc, "onetime_http_requests_total", **healthz)
        assert sum(served.values()) == 30
        assert len([n for n in served.values() if n]) >= 2, served
        # Each scrape lands on some worker; every one of them must report the sum.
        for _ in range(6):
            answer = http_get(f"{base}/metrics")
            assert answer.status == 200
            samples = parse(answer.body.decode())
            assert value(samples, "onetime_http_requests_total", **healthz) == 30
    finally:
        stop(server)


@pytest.mark.django_db
def test_methods_a_client_makes_up_do_not_become_label_values(client):
    client.generic("XYZ0ABC", "/healthz")
    client.generic("XYZ1ABC", "/healthz")

    text = client.get("/metrics").content.decode()

    assert "XYZ0ABC" not in text
    assert "XYZ1ABC" not in text
    assert 'method="other"' in text
