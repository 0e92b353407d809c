"""
The command-line client (PRODUCT.md §2.7), run as its users run it: the installed `onetime`
console script, a process of its own with no Django settings, against the production web
server. Prompts are answered through a pseudo-terminal, which also shows what they echo.
"""

import json
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from onetime import cli
from onetime.core import envelope as zk
from tests.conftest import TEST_BOT, issue_code, wrong_code
from tests.processes import (
    BOT_TOKEN,
    ONETIME,
    ROOT,
    RunningWeb,
    database_url,
    free_port,
    http_get,
    http_post,
    onetime,
    start_web,
    stop,
    user_env,
)

pytestmark = pytest.mark.django_db(transaction=True)

VECTORS = json.loads((ROOT / "docs" / "zero-knowledge-vectors.json").read_text())["vectors"]
# Unicode, a CR LF, a tab, trailing spaces and newlines: every byte must come back.
TEXT = "Пароль: p@ss🔑\r\nвторая строка\ttab  \n\n".encode()
LINK = re.compile(r"(?P<server>http://127\.0\.0\.1:\d+)/s/(?P<id>[0-9a-f-]{36})#(?P<key>[\w-]{43})")


def start(database: str, log: Path, **env: str) -> RunningWeb:
    # A bot is configured (never called: its API is a closed port) for secrets for @alice.
    bot = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_BOT_USERNAME": TEST_BOT}
    return start_web(database, log, TELEGRAM_API_BASE_URL="http://127.0.0.1:9", **bot, **env)


@pytest.fixture(scope="module")
def web(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWeb]:
    database = database_url(connection.settings_dict)
    server = start(database, tmp_path_factory.mktemp("cli") / "web.log")
    yield server
    stop(server.process)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user's bare environment: no Django settings, no ONETIME_URL, an empty home."""
    home = tmp_path / "home"
    home.mkdir()
    return user_env(home)


def share(
    web: RunningWeb, env: dict[str, str], text: bytes = TEXT, *args: str, **extra_env: str
) -> str:
    result = onetime("share", "--server", web.url, *args, env={**env, **extra_env}, stdin=text)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().removesuffix("\n")


def error(result: subprocess.CompletedProcess[bytes]) -> str:
    """Return the one line the client wrote to stderr, checking that it wrote nothing else."""
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def secret_id(link: str) -> str:
    match = LINK.fullmatch(link)
    assert match, link
    return match["id"]


def meta(web: RunningWeb, secret_id: str) -> int:
    """Return the status of the secret's metadata: 200 while it can still be opened."""
    return http_get(f"{web.url}/api/v1/secrets/{secret_id}").status


@dataclass(frozen=True)
class Session:
    returncode: int
    stdout: bytes
    stderr: str
    screen: str  # what the terminal showed: prompts, and whatever was echoed


def in_terminal(
    args: Sequence[str],
    env: dict[str, str],
    replies: Sequence[tuple[str, str]],
    stdin: bytes | None = None,
) -> Session:
    """
    Run ``onetime args`` with a pseudo-terminal as its controlling terminal (and as stdin
    unless ``stdin`` is given, which it reads from a file); answer each prompt of
    ``replies`` once it shows.
    """
    master, slave = pty.openpty()
    terminal = os.ttyname(slave)

    def take_terminal() -> None:  # in the child, a session leader: its first tty is its own
        os.close(os.open(terminal, os.O_RDWR))

    with tempfile.TemporaryFile() as piped:
        piped.write(stdin or b"")
        piped.seek(0)
        process = subprocess.Popen(
            [str(ONETIME), *args],
            stdin=slave if stdin is None else piped,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            preexec_fn=take_terminal,
        )
    screen = Screen(master, process)
    try:
        for prompt, reply in replies:
            screen.wait_for(prompt)
            os.write(master, reply.encode(errors="surrogateescape") + b"\n")
        stdout, stderr = process.communicate(timeout=30)
        # Held open until now, so that the terminal does not hang up between two prompts.
        os.close(slave)
        slave = -1
        screen.read_to_end()
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
        if process.poll() is None:
            process.kill()
            process.wait()
    return Session(process.returncode, stdout, stderr.decode(), screen.text.decode())


@dataclass
class Screen:
    """What a pseudo-terminal shows, read from its master side."""

    master: int
    process: subprocess.Popen[bytes]
    text: bytes = b""
    seen: int = 0  # where the next prompt is looked for

    def wait_for(self, prompt: str) -> None:
        deadline = time.monotonic() + 20
        while prompt.encode() not in self.text[self.seen :]:
            assert self.process.poll() is None, f"exited before {prompt!r}: {self.text!r}"
            assert time.monotonic() < deadline, f"no {prompt!r} on the terminal: {self.text!r}"
            if select.select([self.master], [], [], 0.1)[0]:
                self.text += os.read(self.master, 4096)
        self.seen = len(self.text)

    def read_to_end(self) -> None:
        while select.select([self.master], [], [], 1)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: nothing holds the terminal open any more
                return
            if not chunk:
                return
            self.text += chunk


Reply = Callable[[str, str, dict[str, Any]], tuple[int, dict[str, Any]]]


@contextmanager
def fake_server(reply: Reply) -> Iterator[tuple[str, list[tuple[str, str, dict[str, Any]]]]]:
    """
    Serve on 127.0.0.1 what ``reply(method, path, body)`` says, a server that lies; yield its
    address and the requests it got, (method, path, JSON body), in order.
    """
    got: list[tuple[str, str, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.answer()

        def do_POST(self) -> None:
            self.answer()

        def answer(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)) or "{}")
            got.append((self.command, self.path, body))
            status, answer = reply(self.command, self.path, body)
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_secret_from_stdin_is_encrypted_here_and_comes_back_byte_for_byte(web, env):
    result = onetime("share", "--server", web.url, "--ttl", "30m", env=env, stdin=TEXT)

    assert result.returncode == 0, result.stderr
    link = result.stdout.decode()
    match = LINK.fullmatch(link.removesuffix("\n"))
    assert match, link  # only the link on stdout: <server>/s/<uuid>#<key>, and a newline
    assert match["server"] == web.url
    assert len(zk.b64decode(match["key"])) == zk.KEY_BYTES
    notes = result.stderr.decode()
    assert match["key"] not in notes
    token = re.search(r"Receipt: http://\S+/r/(\S+)", notes)
    assert token, notes
    receipt = json.loads(http_get(f"{web.url}/api/v1/receipts/{token[1]}").body)
    assert receipt["encryption"] == "client"
    expires, created = (datetime.fromisoformat(receipt[f]) for f in ("expires_at", "created_at"))
    assert (expires - created).total_seconds() == 30 * 60

    opened = onetime("open", match[0], env=env)

    assert (opened.returncode, opened.stdout, opened.stderr) == (0, TEXT, b"")
    again = onetime("open", match[0], env=env)
    assert again.returncode == cli.GONE
    assert "already opened" in error(again)


@pytest.mark.parametrize("text", [b"no newline at the end", b"\n", "  ☃ \t".encode()])
def test_stdin_is_taken_as_it_comes(web, env, text):
    link = share(web, env, text)

    assert onetime("open", link, env=env).stdout == text


def test_a_secret_typed_at_the_prompt_is_not_echoed(web, env):
    typed = "typed at the prompt ☃ "

    session = in_terminal(["share", "--server", web.url], env, [("Secret (hidden", typed)])

    assert session.returncode == 0, session.stderr
    assert typed not in session.screen
    assert onetime("open", session.stdout.decode().strip(), env=env).stdout == typed.encode()


def test_a_passphrase_is_asked_twice_without_echo_and_retried_while_attempts_remain(web, env):
    passphrase = "correct horse ☃"
    shared = in_terminal(
        ["share", "--server", web.url, "--passphrase"],
        env,
        [("Passphrase: ", passphrase), ("Passphrase again: ", passphrase)],
        stdin=TEXT,
    )
    assert shared.returncode == 0, shared.stderr
    assert passphrase not in shared.screen
    link = shared.stdout.decode().strip()

    # From the environment, for scripts: a wrong one is not asked again.
    scripted = onetime("open", link, env={**env, "ONETIME_PASSPHRASE": "wrong"})
    assert scripted.returncode == cli.REFUSED
    assert "Wrong passphrase: 4 attempts left" in error(scripted)
    assert "wrong" not in error(scripted).replace("Wrong", "")
    # Without a terminal or the variable, nothing is tried.
    blind = onetime("open", link, env=env)
    assert blind.returncode == cli.USAGE
    assert "ONETIME_PASSPHRASE" in error(blind)

    opened = in_terminal(
        ["open", link],
        env,
        [("Passphrase (it stays on this machine)", "wrong again"), ("Passphrase", passphrase)],
    )

    assert (opened.returncode, opened.stdout) == (0, TEXT)
    assert opened.stderr == "Wrong passphrase: 3 attempts left before the secret is destroyed.\n"
    assert passphrase not in opened.screen
    assert "wrong again" not in opened.screen
    assert meta(web, secret_id(link)) == 410


def test_two_different_passphrases_share_nothing(web, env):
    session = in_terminal(
        ["share", "--server", web.url, "--passphrase"],
        env,
        [("Passphrase: ", "one"), ("Passphrase again: ", "another")],
        stdin=b"never sent",
    )

    assert (session.returncode, session.stdout) == (cli.USAGE, b"")
    assert "differ" in session.stderr


def test_a_link_that_names_no_secret_is_not_found(web, env):
    link = f"{web.url}/s/{uuid.uuid4()}#{zk.b64encode(zk.new_key())}"

    result = onetime("open", link, env=env)

    assert result.returncode == cli.NOT_FOUND
    assert "no such secret" in error(result)


def test_a_cut_or_wrong_key_is_told_before_anything_is_consumed(web, env):
    link = share(web, env)
    match = LINK.fullmatch(link)
    assert match
    other_key = zk.b64encode(zk.new_key())

    for damaged in (
        link[:-5],
        link.split("#")[0],
        link.split("#")[0] + "#",
        link + "A",
        f"{link[:-43]}{other_key}",
    ):
        result = onetime("open", damaged, env=env)
        assert result.returncode == cli.BAD_KEY, damaged
        assert "Nothing was consumed" in error(result)
        assert match["key"][:30] not in error(result)
        assert meta(web, match["id"]) == 200

    assert onetime("open", link, env=env).stdout == TEXT


@pytest.mark.parametrize(
    "link",
    ["not a link", "http://127.0.0.1/r/receipt", "ftp://x/s/{id}#k", "http://127.0.0.1/s/1234#key"],
)
def test_something_that_is_not_a_link_is_a_usage_error(env, link):
    result = onetime("open", link.format(id=uuid.uuid4()), env=env)

    assert result.returncode == cli.USAGE
    assert "not a secret's link" in error(result)
    assert "key" not in error(result).replace("<key>", "")


def test_a_server_that_does_not_answer_is_a_network_error(env):
    down = f"http://127.0.0.1:{free_port()}"

    shared = onetime("share", "--server", down, env=env, stdin=b"x")
    opened = onetime("open", f"{down}/s/{uuid.uuid4()}#{zk.b64encode(zk.new_key())}", env=env)

    for result in (shared, opened):
        assert result.returncode == cli.UNAVAILABLE
        assert f"Cannot reach {down}: " in error(result)
        assert "Connection refused" in error(result)


def test_an_address_without_the_api_is_told_as_such(web, env):
    result = onetime("share", "--server", f"{web.url}/nothing/", env=env, stdin=b"x")

    assert result.returncode == cli.USAGE
    assert error(result) == (
        f"onetime: {web.url}/nothing has no OneTime API (HTTP 404): check the address."
    )


def test_too_many_reveals_say_how_long_to_wait_and_consume_nothing(env, tmp_path):
    # One reveal per window of 1,000 days: the window does not end during the test.
    limited = start(
        database_url(connection.settings_dict), tmp_path / "web.log", ONETIME_RATE_REVEAL="1/1000d"
    )
    try:
        first, second = share(limited, env), share(limited, env)
        assert onetime("open", first, env=env).stdout == TEXT

        result = onetime("open", second, env=env)

        assert result.returncode == cli.RATE_LIMITED
        assert re.fullmatch(
            r"onetime: Too many requests: try again in \d+ seconds\.", error(result)
        )
        assert meta(limited, secret_id(second)) == 200
    finally:
        stop(limited.process)


def test_the_server_comes_from_the_option_then_onetime_url_then_the_config_file(web, env, tmp_path):
    down = f"http://127.0.0.1:{free_port()}"
    home_config = Path(env["HOME"]) / ".config" / "onetime" / "config.toml"
    xdg = tmp_path / "xdg"
    xdg_config = xdg / "onetime" / "config.toml"
    for path, server in ((home_config, down), (xdg_config, web.url)):
        path.parent.mkdir(parents=True)
        path.write_text(f'server = "{server}"\n')

    def shared(*args: str, **overrides: str) -> int:
        return onetime("share", *args, env={**env, **overrides}, stdin=b"x").returncode

    assert shared(XDG_CONFIG_HOME=str(xdg)) == 0
    assert shared() == cli.UNAVAILABLE  # ~/.config's, when XDG_CONFIG_HOME is unset
    assert shared(ONETIME_URL=web.url) == 0
    assert shared("--server", web.url, ONETIME_URL=down) == 0
    assert shared(ONETIME_URL=down, XDG_CONFIG_HOME=str(xdg)) == cli.UNAVAILABLE
    # `open` asks the server its link names.
    assert onetime("open", share(web, env), env={**env, "ONETIME_URL": down}).stdout == TEXT


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            None,
            "Which server? Pass --server https://…, set ONETIME_URL, or write "
            'server = "https://…" in {path}.',
        ),
        ("server = https://x", "Cannot read {path}: "),
        ('sever = "https://x"', "{path}: unknown setting sever (only server is read)."),
        (
            'server = "onetime.example.com"',
            "{path} is not a server address like https://onetime.example.com: onetime.example.com",
        ),
    ],
)
def test_without_a_usable_server_nothing_is_read_or_sent(env, config, message):
    path = Path(env["HOME"]) / ".config" / "onetime" / "config.toml"
    if config is not None:
        path.parent.mkdir(parents=True)
        path.write_text(config)

    result = onetime("share", env=env, stdin=b"x")

    assert result.returncode == cli.USAGE
    assert error(result).startswith("onetime: " + message.format(path=path))


def test_a_secret_for_a_telegram_account_opens_with_its_code(web, env):
    link = share(web, env, TEXT, "--for", "@alice")
    code = issue_code(4242, "alice")
    prompt = f"Telegram code for @alice (send /code to @{TEST_BOT}): "

    session = in_terminal(["open", link], env, [(prompt, wrong_code(code)), (prompt, code)])

    assert (session.returncode, session.stdout) == (0, TEXT), session.stderr
    assert "Wrong Telegram code: 4 attempts left" in session.stderr


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_it_opens_what_any_client_following_the_vectors_makes(web, env, vector):
    body = {"ciphertext": vector["ciphertext"], "passphrase_proof": vector["passphrase_proof"]}
    created = http_post(f"{web.url}/api/v1/secrets", {k: v for k, v in body.items() if v})
    assert created.status == 201, created.body
    passphrase = {"ONETIME_PASSPHRASE": vector["passphrase"]} if vector["passphrase"] else {}

    result = onetime(
        "open", f"{web.url}/s/{vector['id']}#{vector['key']}", env={**env, **passphrase}
    )

    assert (result.returncode, result.stdout) == (0, vector["plaintext"].encode()), result.stderr


def test_a_secret_encrypted_on_the_server_opens_with_its_passphrase_sent(web, env):
    text = TEXT.decode()
    created = http_post(f"{web.url}/api/v1/secrets", {"secret": text, "passphrase": "pw ☃"})
    link = json.loads(created.body)["url"]

    result = onetime("open", link, env={**env, "ONETIME_PASSPHRASE": "pw ☃"})

    assert (result.returncode, result.stdout, result.stderr) == (0, TEXT, b"")


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"", "Nothing to share: the input is empty."),
        (b"\xff\xfe binary", "The input is not UTF-8 text"),
        (b"a\0b", "The input holds a NUL byte"),
    ],
)
def test_input_that_is_not_a_secret_is_refused_before_anything_is_sent(env, stdin, message):
    # The server is down: the input is refused first.
    result = onetime("share", "--server", f"http://127.0.0.1:{free_port()}", env=env, stdin=stdin)

    assert result.returncode == cli.USAGE
    assert error(result).startswith(f"onetime: {message}")


@pytest.mark.parametrize(
    ("ttl", "seconds"), [("90", 90), ("30m", 1800), ("1h", 3600), ("7d", 604800), ("2w", 1209600)]
)
def test_a_lifetime_is_seconds_or_a_number_with_a_unit(ttl, seconds):
    assert cli.parse_ttl(ttl) == seconds


def test_a_lifetime_the_server_does_not_allow_is_its_message(web, env):
    result = onetime("share", "--server", web.url, "--ttl", "2w", env=env, stdin=b"x")

    assert result.returncode == cli.USAGE
    assert "The server refused the request: The lifetime must be between 60 and" in error(result)


def test_the_client_needs_no_django(env):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, onetime.cli; print(sorted({m.split('.')[0] for m in sys.modules}))",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )

    loaded = set(json.loads(result.stdout.replace("'", '"')))
    assert not loaded & {"django", "rest_framework", "psycopg"}


def test_the_help_and_the_readme_list_the_exit_codes(env):
    help_text = onetime("--help", env=env).stdout.decode()
    readme = (ROOT / "README.md").read_text()

    for code in (
        cli.OK,
        cli.ERROR,
        cli.USAGE,
        cli.NOT_FOUND,
        cli.GONE,
        cli.REFUSED,
        cli.RATE_LIMITED,
        cli.UNAVAILABLE,
        cli.BAD_KEY,
        cli.CANCELLED,
    ):
        assert re.search(rf"^ +{code}  \S", help_text, flags=re.M), code
        assert f"| {code} |" in readme, code


def test_the_link_can_come_from_stdin_or_a_prompt_out_of_the_process_list(web, env):
    link = share(web, env)
    assert onetime("open", env=env, stdin=f"{link}\n".encode()).stdout == TEXT
    link = share(web, env)
    assert onetime("open", "-", env=env, stdin=link.encode()).stdout == TEXT

    link = share(web, env)
    typed = in_terminal(["open"], env, [("Link (hidden): ", link)])

    assert (typed.returncode, typed.stdout) == (0, TEXT), typed.stderr
    assert link.split("#")[1] not in typed.screen

    # Read from stdin, the link leaves the terminal to the passphrase prompt.
    link = share(web, env, TEXT, "--passphrase", ONETIME_PASSPHRASE="pw")
    asked = in_terminal(["open"], env, [("Passphrase", "pw")], stdin=link.encode())
    assert (asked.returncode, asked.stdout) == (0, TEXT), asked.stderr

    empty = onetime("open", env=env, stdin=b"")
    assert empty.returncode == cli.USAGE
    assert "No link" in error(empty)


def secret_meta(key: bytes, sid: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(sid),
        "expires_at": "2030-01-01T00:00:00Z",
        "passphrase_required": True,
        "encryption": "client",
        "key_check": zk.b64encode(zk.key_check(key, sid)),
        **fields,
    }


@pytest.mark.parametrize(
    ("meta_lie", "reveal_lie"),
    [
        ({"encryption": "server", "key_check": None}, {"secret": "the server's words"}),
        ({"encryption": None, "key_check": None}, {"secret": "the server's words"}),
        ({"key_check": None}, {"ciphertext": ""}),
        ({"passphrase_required": False}, {"secret": "the server's words"}),
    ],
    ids=["server-mode", "no-mode", "no-key-check", "plaintext-answer"],
)
def test_a_server_cannot_downgrade_a_link_with_a_key(env, meta_lie, reveal_lie):
    key, sid = zk.new_key(), uuid.uuid4()

    def reply(method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return (200, secret_meta(key, sid, **meta_lie) if method == "GET" else reveal_lie)

    with fake_server(reply) as (server, got):
        link = f"{server}/s/{sid}#{zk.b64encode(key)}"
        result = onetime("open", link, env={**env, "ONETIME_PASSPHRASE": "never sent"})

    assert result.returncode == cli.UNAVAILABLE
    assert "does not fit the link" in error(result)
    assert zk.b64encode(key) not in error(result)
    assert all("passphrase" not in body for _, _, body in got), got
    assert "never sent" not in json.dumps(got)
    if meta_lie.get("passphrase_required", True):
        assert [method for method, _, _ in got] == ["GET"]  # nothing asked, nothing consumed


@pytest.mark.parametrize(
    ("url", "printed", "warned"),
    [
        ("https://attacker.example/s/{id}", "{server}/s/{id}", True),
        ("{server}/public/s/{id}", "{server}/public/s/{id}", False),  # the same origin: its own
    ],
)
def test_share_prints_a_link_to_the_server_it_used(env, url, printed, warned):
    def reply(method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sid = str(zk.parse(zk.b64decode(body["ciphertext"])).secret_id)
        return 201, {
            "id": sid,
            "url": url.format(server=server, id=sid),
            "expires_at": "2030-01-01T00:00:00Z",
            "receipt_url": f"{server}/r/token",
        }

    with fake_server(reply) as (server, got):
        result = onetime("share", "--server", server, env=env, stdin=b"x")

    assert result.returncode == 0, result.stderr
    link, key = result.stdout.decode().removesuffix("\n").split("#")
    sid = zk.parse(zk.b64decode(got[0][2]["ciphertext"])).secret_id
    assert link == printed.format(server=server, id=sid)
    notes = result.stderr.decode()
    assert ("https://attacker.example" in notes) is warned
    assert key not in notes


def test_a_passphrase_that_is_not_utf8_is_a_usage_error(web, env):
    bad = {**env, "ONETIME_PASSPHRASE": "ab\udcffcd"}  # the bytes ab\xffcd, as os.environ has them
    shared = onetime("share", "--server", web.url, "--passphrase", env=bad, stdin=b"x")
    link = share(web, env, TEXT, "--passphrase", ONETIME_PASSPHRASE="pw")

    opened = onetime("open", link, env=bad)

    for result in (shared, opened):
        assert result.returncode == cli.USAGE
        assert "ONETIME_PASSPHRASE is not UTF-8 text" in error(result)
    assert meta(web, secret_id(link)) == 200
    typed = in_terminal(["open", link], env, [("Passphrase", "ab\udcffcd")])
    assert typed.returncode == cli.USAGE
    assert "What was typed is not UTF-8 text" in typed.stderr
    assert meta(web, secret_id(link)) == 200
