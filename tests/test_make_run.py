"""
`make run` is what a newcomer runs, so it is tested as they run it: the Makefile target
itself, with the production server (DEBUG off, several worker processes), the embedded
SQLite database and keys generated on first start. Every guarantee must hold there too:
at most once under concurrent reveals over real sockets, limits exact across processes,
JSON errors from the API, and a server that keeps answering while idle and slow clients
hold connections open (PRODUCT.md §2.2, §4).
"""

import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import concurrency
from tests.conftest import code_message
from tests.fake_telegram import FakeTelegram
from tests.processes import (
    BOT_TOKEN,
    ROOT,
    RunningBot,
    exchange,
    free_port,
    http_get,
    raw_post,
    service_env,
    wait_for_polling,
    wait_until_serving,
)

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

RACERS = 64
API_TRIALS = 10
WEB_TRIALS = 3
WORKERS = 3
CREATE_LIMIT = 30
CANARY = "make-run canary \u2603 \r\n\t end"
# Every secret id the tests saw: none may appear whole in make run's output (access log,
# the server's own log, the app's).
SEEN_IDS: set[str] = set()


@dataclass
class MakeRun:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    data: Path
    # The Bot API that make run's bot (started because TELEGRAM_BOT_TOKEN is set) talks to.
    telegram: FakeTelegram

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    with FakeTelegram(BOT_TOKEN) as telegram:
        yield from _make_run(tmp_path_factory, telegram)


def _make_run(
    tmp_path_factory: pytest.TempPathFactory, telegram: FakeTelegram
) -> Iterator[MakeRun]:
    data = tmp_path_factory.mktemp("make-run")
    port = free_port()
    log = data / "make-run.log"
    env = service_env(
        # A newcomer's shell: no database URL, no keys, no DEBUG; where make run keeps its
        # data is the only change, so that the test leaves the checkout's .local alone.
        # MAKEFLAGS too: `make test DATABASE_URL=…` would hand its variables down to this make.
        DATABASE_URL=None,
        MAKEFLAGS=None,
        MFLAGS=None,
        MAKELEVEL=None,
        SECRET_KEY=None,
        ONETIME_ENCRYPTION_KEYS=None,
        DEBUG=None,
        # A newcomer with a bot token (Telegram itself is the fake).
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_BASE_URL=telegram.url,
        TELEGRAM_BOT_USERNAME=None,
        ONETIME_BASE_URL=None,
        ONETIME_LOCAL_DIR=str(data),
        WEB_CONCURRENCY=str(WORKERS),
        WEB_BODY_TIMEOUT="3",
        # Production limits, the reveal one high enough for 64 racers from one address.
        ONETIME_RATE_CREATE=f"{CREATE_LIMIT}/h",
        ONETIME_RATE_REVEAL="100000/h",
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = MakeRun(process, port, log, data, telegram)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/healthz", process, timeout=120)
        yield running
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    output = running.output()
    assert CANARY not in output
    assert SEEN_IDS
    assert not [secret_id for secret_id in SEEN_IDS if secret_id in output]
    assert "Traceback" not in output, output[-3000:]
    with pytest.raises(ConnectionRefusedError):  # every process stopped
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            method, path, body=data, headers={"Content-Type": "application/json"} | (headers or {})
        )
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def create(port: int, secret: str = CANARY) -> dict[str, Any]:
    status, _headers, body = request(port, "POST", "/api/v1/secrets", {"secret": secret})
    assert status == 201, body
    created: dict[str, Any] = json.loads(body)
    SEEN_IDS.add(created["id"])
    return created


def race(
    port: int, raw_request: bytes, racers: int = RACERS, source: str = "127.0.0.1"
) -> list[tuple[int | None, bytes]]:
    """
    Send ``raw_request`` on ``racers`` connections at once from the address ``source``:
    every connection is open before the racers are released together. Return each status
    (None: the connection failed, a reset included) and body.
    """
    connections: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
    opened = [
        socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(source, 0))
        for _ in range(racers)
    ]
    for sock in opened:
        connections.put(sock)
    try:
        outcomes = concurrency.race(
            lambda: exchange(connections.get_nowait(), raw_request), racers, database=False
        )
    finally:
        for sock in opened:
            sock.close()
    return [
        outcome.value if outcome.error is None else (None, repr(outcome.error).encode())
        for outcome in outcomes
    ]


def test_64_concurrent_api_reveals_give_the_secret_exactly_once(make_run):
    for _trial in range(API_TRIALS):
        created = create(make_run.port)
        reveal = raw_post(
            make_run.port,
            f"/api/v1/secrets/{created['id']}/reveal",
            b"{}",
            Content_Type="application/json",
        )

        results = race(make_run.port, reveal)

        statuses = Counter(status for status, _body in results)
        assert statuses == {200: 1, 410: RACERS - 1}, statuses
        (winner,) = [body for status, body in results if status == 200]
        assert json.loads(winner) == {"secret": CANARY}  # byte-exact
        for status, body in results:
            if status == 410:
                assert json.loads(body)["status"] == "destroyed"


def test_64_concurrent_form_reveals_show_the_secret_exactly_once(make_run):
    for _trial in range(WEB_TRIALS):
        created = create(make_run.port, "web canary <&>")
        status, headers, page = request(make_run.port, "GET", f"/s/{created['id']}")
        assert status == 200
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        cookie = headers["set-cookie"].split(";", 1)[0]
        assert token is not None
        reveal = raw_post(
            make_run.port,
            f"/s/{created['id']}",
            b"csrfmiddlewaretoken=" + token[1],
            Content_Type="application/x-www-form-urlencoded",
            Cookie=cookie,
            Origin="null",
            Sec_Fetch_Site="same-origin",
        )

        results = race(make_run.port, reveal)

        statuses = Counter(status for status, _body in results)
        assert statuses == {200: 1, 410: RACERS - 1}, statuses
        (winner,) = [body for status, body in results if status == 200]
        assert b"web canary &lt;&amp;&gt;" in winner


def test_the_create_limit_is_exact_across_worker_processes(make_run):
    burst = raw_post(
        make_run.port, "/api/v1/secrets", b'{"secret": "x"}', Content_Type="application/json"
    )
    # Each attempt comes from an address of its own (all of 127/8 is this machine), so that
    # its count starts at zero; a burst that straddles the hour's end (the limit's fixed
    # window) is sent again.
    for attempt in range(2, 5):
        window = int(time.time() // 3600)
        results = race(make_run.port, burst, racers=CREATE_LIMIT + 20, source=f"127.0.0.{attempt}")
        if int(time.time() // 3600) == window:
            break

    statuses = Counter(status for status, _body in results)
    assert statuses == {201: CREATE_LIMIT, 429: 20}, statuses
    for status, body in results:
        if status == 429:
            assert json.loads(body)["status"] == "rate_limited"


def test_api_errors_are_json_and_pages_have_no_debug_output(make_run):
    missing = http_get(
        f"http://127.0.0.1:{make_run.port}/api/v1/secrets/{'0' * 8}-0000-0000-0000-{'0' * 12}"
    )
    unknown_route = http_get(f"http://127.0.0.1:{make_run.port}/no/such/page")

    assert missing.status == 404
    assert missing.headers["Content-Type"] == "application/json"
    assert json.loads(missing.body)["status"] == "not_found"
    assert unknown_route.status == 404
    assert b"DEBUG = True" not in unknown_route.body
    assert b"Traceback" not in unknown_route.body


def test_health_answers_while_idle_and_slow_clients_hold_connections(make_run):
    held: list[socket.socket] = []
    try:
        for _ in range(50):  # connected, sending nothing
            held.append(socket.create_connection(("127.0.0.1", make_run.port)))
        slow = raw_post(make_run.port, "/api/v1/secrets", b"", Content_Type="application/json")
        slow = slow.replace(b"Content-Length: 0", b"Content-Length: 100") + b'{"secret'
        for _ in range(50):  # headers sent, the body never finished
            sock = socket.create_connection(("127.0.0.1", make_run.port))
            sock.sendall(slow)
            held.append(sock)

        for _ in range(5):
            started = time.monotonic()
            health = http_get(f"http://127.0.0.1:{make_run.port}/healthz")
            assert health.status == 200
            assert time.monotonic() - started < 1.0
        assert create(make_run.port, "while held")["id"]

        # A body that does not arrive within WEB_BODY_TIMEOUT (3 s here) is answered 408.
        held[-1].settimeout(15)
        answer = http.client.HTTPResponse(held[-1])
        answer.begin()
        assert answer.status == 408
        assert answer.getheader("Cache-Control") == "no-store"
    finally:
        for sock in held:
            sock.close()


def test_it_runs_with_generated_keys_on_embedded_sqlite_with_several_workers(make_run):
    output = make_run.output()

    assert (make_run.data / "dev-keys.json").exists()
    assert (make_run.data / "db.sqlite3").exists()
    assert output.count("Started worker") >= WORKERS
    assert "scheduler: cleanup every 300 s" in output  # the scheduler runs beside the web


def test_malformed_http_gets_an_empty_answer_from_the_server_itself(make_run):
    with socket.create_connection(("127.0.0.1", make_run.port), timeout=10) as sock:
        sock.sendall(b"\x00\x01 / HTTP/1.1\r\n\r\n")
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        body = answer.read()

    # No page: nothing a browser could render, cache or frame (docs/deploy.md).
    assert answer.status == 400
    assert body == b""


def test_a_friend_and_only_the_friend_opens_a_secret_sent_with_the_bot(make_run):
    """
    The README's walk-through: `/secret @friend …` to make run's bot, the friend's code
    from the same bot opens it, someone else's does not, and the sender is told.
    """
    chat = RunningBot(make_run.telegram, make_run.process, make_run.log)
    wait_for_polling(make_run.telegram, make_run.process)
    bob = {"user_id": 1001, "username": "bob", "first_name": "Bob"}
    friend = {"user_id": 2002, "username": "friend", "first_name": "Friend"}
    mallory = {"user_id": 3003, "username": "mallory", "first_name": "Mallory"}

    answer = chat.ask(f"/secret @friend {CANARY}", **bob)

    link = re.search(r"(http://\S+)/s/([0-9a-f-]{36})", answer["text"])
    assert link is not None, answer["text"]
    # Without ONETIME_BASE_URL the bot's links name the web server's own address.
    assert link[1] == f"http://127.0.0.1:{make_run.port}"
    secret_id = link[2]
    SEEN_IDS.add(secret_id)
    assert (bob["user_id"], chat.last_message_id) in make_run.telegram.deleted
    page = http_get(f"{link[0]}")
    assert page.status == 200
    assert b"@friend" in page.body

    mallory_code, _ = code_message(chat.ask("/code", **mallory)["text"])
    friend_code, _ = code_message(chat.ask("/start code", **friend)["text"])
    reveal = f"/api/v1/secrets/{secret_id}/reveal"
    status, _headers, body = request(make_run.port, "POST", reveal, {"telegram_code": mallory_code})
    assert (status, json.loads(body)["status"]) == (403, "wrong_telegram_code")
    status, _headers, body = request(make_run.port, "POST", reveal, {"telegram_code": friend_code})
    assert (status, json.loads(body)) == (200, {"secret": CANARY})

    told = make_run.telegram.wait_for(
        lambda m: m["chat_id"] == bob["user_id"] and m["text"].startswith("👁")
    )
    assert told["text"].startswith(f"👁 Секрет {secret_id[:8]} прочитан в ")
    for message in make_run.telegram.sent:
        assert CANARY not in message["text"]
