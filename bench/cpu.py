"""
`make bench-cpu`: the CPU one request costs, counted in instructions, which do not drift.

Throughput on a shared 2-core machine moves by up to 25 % between runs of the same code, so a
lever worth 5 % cannot be seen in `make bench`. This script runs each scenario in one
process, in-process through Django's test client (the whole middleware stack, DRF, the ORM,
psycopg and a real PostgreSQL; not gunicorn's HTTP parsing), under valgrind's callgrind
with counting switched on only around the measured requests. The count is repeatable to
well under 1 % for the same code, settings and data.

The peer, snappass 1.6.2 (its venv from `make bench-tools`), runs its create+reveal cycle
the same way (Flask's test client, its form routes, a redis-server of its own), so the two
cycles compare in instructions, which the machine's drift does not move.

Also printed: the CPU the database server (PostgreSQL's backend, or Redis) spent per
request (from /proc; a time, so it drifts like any time, but valgrind does not slow it).

Usage: .venv/bin/python bench/cpu.py [--requests N] [--scenarios cycle,code,verify,page,snappass]
Environment variables given on the command line reach the app (e.g.
DATABASE_PREPARED_STATEMENTS=off), so two settings can be compared.
"""

# ruff: noqa: S603, S607
# (fixed commands: psql, valgrind and this venv's python, with arguments built here)

import argparse
import base64
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PEER_BIN = ROOT / ".local" / "bench" / "venv" / "bin"
DB_NAME = "onetime_bench_cpu"
SCENARIOS = ("cycle", "code", "verify", "page", "snappass")
WARM_UP = 10  # more than psycopg's prepare threshold (5)


# --- the measured process --------------------------------------------------------------


def measure(run: Callable[[int], None], requests: int, server_pid: int) -> None:
    """Warm up, then count the instructions of ``requests`` runs; print the server's CPU."""
    for i in range(WARM_UP):
        run(i)

    def server_cpu() -> float:
        # schedstat's first field: nanoseconds on a CPU (stat's ticks are 10 ms coarse).
        return int(Path(f"/proc/{server_pid}/schedstat").read_text().split()[0]) / 1e9

    toggle = ["callgrind_control", "--instr"]
    subprocess.run([*toggle, "on", str(os.getpid())], check=True, capture_output=True)
    started = server_cpu()
    for i in range(WARM_UP, WARM_UP + requests):
        run(i)
    server_seconds = server_cpu() - started
    subprocess.run([*toggle, "off", str(os.getpid())], check=True, capture_output=True)
    print(json.dumps({"server_ms": server_seconds / requests * 1000}))


def peer_worker(requests: int) -> None:
    from snappass.main import app  # type: ignore[import-not-found]

    client = app.test_client()
    link = re.compile(r'id="password-link" value="https?://[^/"]+/([^"]+)"')

    def cycle(i: int) -> None:
        form = {"password": "correct horse battery staple", "ttl": "hour"}
        page = client.post("/", data=form).get_data(as_text=True)
        token = link.search(page)
        assert token is not None, page
        shown = client.post("/" + token.group(1))
        assert b"correct horse battery staple" in shown.data, shown.status_code

    measure(cycle, requests, int(os.environ["BENCH_REDIS_PID"]))


def worker(scenario: str, requests: int) -> None:
    if scenario == "snappass":
        peer_worker(requests)
        return
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from onetime.codes.services import code_issue
    from onetime.vault.services import secret_create

    client = Client(HTTP_HOST="127.0.0.1")
    webhook = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": os.environ["TELEGRAM_WEBHOOK_SECRET"]}
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {os.environ['CODES_VERIFY_TOKEN']}"}
    total = WARM_UP + requests + 1
    user_base = 10_000_000 + secrets.randbelow(10**9)

    def post(path: str, body: dict[str, Any], **headers: str) -> Any:
        return client.post(path, json.dumps(body), content_type="application/json", **headers)

    def cycle(i: int) -> None:
        created = post("/api/v1/secrets", {"secret": "correct horse battery staple", "ttl": 3600})
        assert created.status_code == 201, created.content
        revealed = post(f"/api/v1/secrets/{created.json()['id']}/reveal", {})
        assert revealed.status_code == 200, revealed.content

    def code(i: int) -> None:
        user = user_base + i
        update = {
            "update_id": i,
            "message": {
                "message_id": 1,
                "date": 1700000000,
                "chat": {"id": user, "type": "private"},
                "from": {
                    "id": user,
                    "is_bot": False,
                    "first_name": "Bench",
                    "username": f"b{user}",
                },
                "text": "/code",
            },
        }
        answer = post("/telegram/webhook/", update, **webhook)
        assert answer.status_code == 200, answer.status_code
        assert b"sendMessage" in answer.content, answer.content

    issued = []
    if scenario == "verify":
        issued = [
            (
                user_base + i,
                code_issue(telegram_user_id=user_base + i, username=None, first_name=""),
            )
            for i in range(total)
        ]

    def verify(i: int) -> None:
        user, issued_code = issued[i]
        answer = post(
            "/api/v1/codes/verify",
            {"telegram_user_id": user, "code": issued_code.code},
            **bearer,
        )
        assert answer.status_code == 200, answer.content

    pages = []
    if scenario == "page":
        pages = [
            str(
                secret_create(
                    plaintext="x", ttl=None, passphrase=None, client_ip="192.0.2.1"
                ).secret.id
            )
        ]

    def page(i: int) -> None:
        answer = client.get(f"/s/{pages[0]}")
        assert answer.status_code == 200, answer.status_code

    run = {"cycle": cycle, "code": code, "verify": verify, "page": page}[scenario]
    run(0)  # a connection, so that its backend can be named
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    measure(lambda i: run(i + 1), requests, backend)


# --- the driver ---------------------------------------------------------------------------


@contextmanager
def no_server() -> Iterator[dict[str, str]]:
    yield {}


@contextmanager
def peer_redis() -> Iterator[dict[str, str]]:
    """A redis-server of the peer's own on a free port, nothing persisted."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout:
                break
            time.sleep(0.05)
        yield {"REDIS_URL": f"redis://127.0.0.1:{port}/0", "BENCH_REDIS_PID": str(server.pid)}
    finally:
        server.terminate()
        server.wait(timeout=10)


def psql(statement: str, admin_url: str) -> None:
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", admin_url, "-c", statement],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="measured per scenario (30)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.requests)
        return

    db_url = args.admin_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ONETIME_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DATABASE_URL": db_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "ONETIME_RATE_CREATE": "off",
        "ONETIME_RATE_REVEAL": "off",
        "ONETIME_RATE_LOOKUP": "off",
        "CODES_VERIFY_TOKEN": secrets.token_urlsafe(32),
        "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "DJANGO_SETTINGS_MODULE": "onetime.settings",
        "PYTHONPATH": str(ROOT),
    }
    psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)', args.admin_url)
    psql(f'CREATE DATABASE "{DB_NAME}"', args.admin_url)
    try:
        subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        print(f"{'scenario':<10} {'instructions/request':>22} {'server CPU ms/request':>23}")
        for scenario in args.scenarios.split(","):
            with peer_redis() if scenario == "snappass" else no_server() as extra_env:
                result = subprocess.run(
                    [
                        "valgrind",
                        "--tool=callgrind",
                        "--instr-atstart=no",
                        "--callgrind-out-file=/dev/null",
                        str((PEER_BIN if scenario == "snappass" else BIN) / "python"),
                        __file__,
                        "--worker",
                        scenario,
                        "--requests",
                        str(args.requests),
                    ],
                    cwd=ROOT,
                    env={**env, **extra_env},
                    capture_output=True,
                    text=True,
                    check=False,
                )
            collected = re.search(r"Collected : (\d+)", result.stderr)
            if result.returncode != 0 or collected is None:
                sys.exit(f"{scenario} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
            server_ms = json.loads(result.stdout.strip().splitlines()[-1])["server_ms"]
            per_cycle = 2 if scenario in {"cycle", "snappass"} else 1
            requests = args.requests * per_cycle
            name = f"{scenario}/2" if per_cycle == 2 else scenario
            print(
                f"{name:<10} {int(collected.group(1)) / requests / 1e6:>20.2f} M"
                f" {server_ms / per_cycle:>23.2f}",
                flush=True,
            )
    finally:
        psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)', args.admin_url)


if __name__ == "__main__":
    main()
