"""
Helpers for tests that run the service as real processes (runbot, the web server, manage.py):
environment, ports, start, stop, wait.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.utils.datastructures import CaseInsensitiveMapping

from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent

# Shaped like a real token (<bot id>:<35 characters>), so that the redaction pattern for
# real tokens is what keeps it out of logs.
BOT_TOKEN = "123456789:AAF3kq0_test-token-not-real-9xY4bZ7"
assert len(BOT_TOKEN.split(":")[1]) == 35


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """
    Return a DATABASE_URL for a Django database settings dict (the test run's is
    ``connection.settings_dict``): sqlite:///<file> or postgres://….
    """
    if "sqlite" in settings_dict["ENGINE"]:
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(str(settings_dict.get("USER") or "postgres"), safe="")
    password = settings_dict.get("PASSWORD")
    auth = f"{user}:{quote(str(password), safe='')}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{quote(str(settings_dict['NAME']), safe='')}"


def service_env(**overrides: str | None) -> dict[str, str]:
    """Return this test run's environment (DEBUG, keys, …) with ``overrides`` (None: unset)."""
    env = dict(os.environ)
    # A multiprocess directory of the test run would mix test processes with service ones.
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def run(
    command: list[str], env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the repository to its end; return its exit code and output as text."""
    return subprocess.run(
        command, cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=timeout
    )


def start(command: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in the repository with stdout and stderr going to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM ``process`` and return its exit code (killing it if it does not stop)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def _headers(message: Any) -> Mapping[str, str]:
    # Header names are case-insensitive; the server sends them in lower case.
    return CaseInsensitiveMapping(dict(message.items()))


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def http_get(url: str, headers: Mapping[str, str] | None = None) -> HttpAnswer:
    """GET ``url`` with urllib; 4xx and 5xx answers are returned, not raised."""
    return _send(urllib.request.Request(url, headers=dict(headers or {})))  # noqa: S310


def http_post(url: str, body: Any) -> HttpAnswer:
    """POST ``body`` as JSON to ``url`` with urllib; 4xx and 5xx answers are returned."""
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    return _send(request)


def _send(request: urllib.request.Request) -> HttpAnswer:
    """Send ``request``; return its answer, 4xx and 5xx included."""
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return HttpAnswer(response.status, _headers(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpAnswer(exc.code, _headers(exc.headers), exc.read())


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Wait until ``url`` answers 200, failing early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            if http_get(url).status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {timeout} s")
        time.sleep(0.1)


def wait_for_output(
    log: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    """Wait until ``text`` appears in ``log``, failing early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} within {timeout} s:\n{log.read_text()}")
        time.sleep(0.1)


def raw_post(port: int, path: str, body: bytes, **headers: str) -> bytes:
    """Return the bytes of an HTTP/1.1 POST (header names given with _ for -)."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(data: bytes, size: int) -> bytes:
    """Encode ``data`` in chunks of ``size`` bytes (which split multi-byte characters)."""
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def exchange(sock: socket.socket, request: bytes) -> tuple[int, bytes]:
    """Send a raw request on an open connection; return the answer's status and body."""
    sock.sendall(request)
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    return answer.status, answer.read()


@dataclass(frozen=True)
class RunningWeb:
    """The production web server (python -m onetime.serve) serving the app, and its URL."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_web(database: str, log: Path, **env: str) -> RunningWeb:
    """
    Start the web server as production runs it (one worker unless ``env`` says otherwise)
    on a free port of 127.0.0.1 against ``database``, and wait until it serves.
    """
    port = free_port()
    settings = {"PORT": str(port), "WEB_CONCURRENCY": "1", **env}
    process = start(
        [sys.executable, "-m", "onetime.serve"],
        service_env(DATABASE_URL=database, **settings),
        log,
    )
    web = RunningWeb(process, port, log)
    try:
        wait_until_serving(f"{web.url}/healthz", process)
    except BaseException:
        stop(process)
        raise
    return web


@dataclass
class RunningBot:
    """A `manage.py runbot` process and the fake Bot API server it polls."""

    fake: FakeTelegram
    process: subprocess.Popen[bytes]
    log: Path
    # The message_id of the last message ask sent (the fake numbers them as its updates).
    last_message_id: int = 0

    def ask(self, text: str, **sender: Any) -> dict[str, Any]:
        """Send ``text`` to the bot as a user would; return the one message it answers."""
        before = len(self.fake.sent)
        self.last_message_id = self.fake.push_message(text, **sender)
        try:
            sent = self.fake.wait_for_sent(before + 1, timeout=20)
        except AssertionError:
            alive = self.process.poll() is None
            raise AssertionError(f"no answer to {text!r}; bot alive: {alive}") from None
        assert len(sent) == before + 1, f"expected one answer, got {sent[before:]!r}"
        return sent[before]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_bot(fake: FakeTelegram, log: Path, **env: str) -> RunningBot:
    """Start `manage.py runbot` against ``fake`` and wait until it polls."""
    process = start(
        manage("runbot"),
        service_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_BASE_URL=fake.url, **env),
        log,
    )
    try:
        wait_for_polling(fake, process)
    except BaseException:
        stop(process)
        raise
    return RunningBot(fake, process, log)


def wait_for_polling(
    fake: FakeTelegram, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    """Wait until a started bot long-polls ``fake`` (start-up is slow on a busy machine)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the bot exited with {process.returncode}")
        try:
            fake.wait_for_call("getUpdates", timeout=0.5)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


# The command-line client's console script, as `make install` puts it beside the interpreter.
ONETIME = Path(sys.executable).parent / "onetime"


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's bare environment for the command-line client: no Django settings, an empty home."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), **extra}


def onetime(
    *args: str, env: Mapping[str, str], stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """Run the command-line client as its users do; return its exit code and output."""
    assert ONETIME.exists(), "the console script is missing: make install"
    return subprocess.run(
        [str(ONETIME), *args], input=stdin, capture_output=True, env=dict(env), timeout=60
    )
