"""
A database outage, for real: the test owns a throwaway PostgreSQL server, stops it under a
running bot and web process, and starts it again. Both answer "unavailable" meanwhile and
recover by themselves, with no process restarted.
"""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from onetime.bot import texts
from tests.conftest import code_message
from tests.fake_telegram import FakeTelegram
from tests.processes import (
    BOT_TOKEN,
    RunningBot,
    free_port,
    http_get,
    manage,
    service_env,
    start_bot,
    start_web,
    stop,
)

UNAVAILABLE = "⚠️ Сервис временно недоступен, попробуйте позже."
CANARY = "canary-5d1e07b2-during-the-outage"


def _postgres_bin() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None
    return Path(max(found, key=lambda p: int(Path(p).parts[-3]))).parent


def _as_postgres() -> list[str] | None:
    """Return the prefix that runs a command as the postgres user (initdb refuses root)."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("runuser"):
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return ["runuser", "-u", "postgres", "--"]


PG_BIN = _postgres_bin()
AS_POSTGRES = _as_postgres()

pytestmark = pytest.mark.skipif(
    PG_BIN is None or AS_POSTGRES is None,
    reason="needs PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) and, as root, "
    "runuser and a postgres user, to run a throwaway server",
)


@dataclass
class Cluster:
    """A PostgreSQL server in a temporary directory, listening on 127.0.0.1:``port``."""

    directory: Path
    port: int

    def _run(self, tool: str, *args: str) -> None:
        assert PG_BIN is not None
        assert AS_POSTGRES is not None
        subprocess.run(
            [*AS_POSTGRES, str(PG_BIN / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.directory / "data"), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        data = str(self.directory / "data")
        self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="onetime-outage-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = Cluster(directory, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        # Not running when it failed to start or the test left it stopped.
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


def test_bot_and_web_answer_unavailable_during_an_outage_and_recover_by_themselves(
    cluster, tmp_path
):
    cluster.create_database("onetime")
    env = {"DATABASE_URL": cluster.url("onetime")}
    subprocess.run(
        manage("migrate", "--no-input", "-v", "0"), env=service_env(**env), check=True, timeout=120
    )
    web = start_web(env["DATABASE_URL"], tmp_path / "web.log")
    try:
        with FakeTelegram(BOT_TOKEN) as fake:
            bot = start_bot(fake, tmp_path / "bot.log", **env)
            try:
                run_the_outage(cluster, bot, web.url, web.process)
            finally:
                stop(bot.process)
    finally:
        stop(web.process)
    # Not even the server replaced its worker behind the test's back.
    assert (tmp_path / "web.log").read_text().count("Started worker") == 1


def code_in(message: dict[str, Any]) -> str:
    return code_message(message["text"])[0]


def run_the_outage(
    cluster: Cluster, bot: RunningBot, base: str, web: subprocess.Popen[bytes]
) -> None:
    code = code_in(bot.ask("/code", user_id=8001))
    assert http_get(f"{base}/readyz").status == 200

    cluster.stop("fast")

    assert bot.ask("/code", user_id=8001)["text"] == UNAVAILABLE
    assert bot.ask("/code", user_id=8002)["text"] == UNAVAILABLE
    # A secret cannot be made, but the message that held it is deleted all the same.
    answer = bot.ask(f"/secret {CANARY}", user_id=8001)
    assert answer["text"] == f"{texts.SECRET_UNAVAILABLE}\n\n{texts.MESSAGE_DELETED}"
    assert (8001, bot.last_message_id) in bot.fake.deleted
    assert CANARY not in bot.output()
    assert bot.process.poll() is None, "the bot must keep running"
    ready = http_get(f"{base}/readyz")
    assert ready.status == 503
    assert int(ready.headers["Retry-After"]) >= 1
    assert http_get(f"{base}/healthz").status == 200  # alive, only not ready

    cluster.start()
    back = time.monotonic()

    # The first requests after the restart work: nothing retries, nothing is restarted.
    assert code_in(bot.ask("/code", user_id=8001)) == code  # the same server, the same data
    code_in(bot.ask("/code", user_id=8002))
    assert http_get(f"{base}/readyz").status == 200
    print(f"recovered {time.monotonic() - back:.3f} s after the server was back")
    assert bot.process.poll() is None
    assert web.poll() is None

    # A restart while nobody asks (a failover at night) leaves stale connections behind;
    # the next request must not be the one that finds out.
    cluster.stop("fast")
    cluster.start()

    assert code_in(bot.ask("/code", user_id=8001)) == code
    assert http_get(f"{base}/readyz").status == 200
