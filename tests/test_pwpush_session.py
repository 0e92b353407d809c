"""
Password Pusher's clients against a running OneTime (the production server, real HTTP):
a session scripted as PassPushPosh sends it, the real pwpush CLI (PyPI `pwpush`) pointed at
OneTime by its URL alone, and a canary that no log line carries a payload or a passphrase
(PWP sends the passphrase in the query string).
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from tests.processes import (
    HttpAnswer,
    RunningWeb,
    _send,
    database_url,
    http_get,
    start_web,
    stop,
    user_env,
)

pytestmark = [pytest.mark.django_db(transaction=True)]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def server(tmp_path) -> Iterator[RunningWeb]:
    web = start_web(database_url(connection.settings_dict), tmp_path / "web.log")
    yield web
    stop(web.process)


def send(
    method: str,
    url: str,
    body: bytes | None = None,
    content_type: str = "",
    headers: dict[str, str] | None = None,
) -> HttpAnswer:
    headers = dict(headers or {})
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    return _send(request)


def as_json(answer: HttpAnswer) -> Any:
    assert answer.headers["Content-Type"].startswith("application/json"), answer.headers
    return json.loads(answer.body)


def test_a_passpushposh_session(server, tmp_path):
    """
    PassPushPosh: JSON {"password": {…}} with a Bearer token it was given for another server,
    GET /p/<t>.json?passphrase=…, preview, then DELETE; its derived links open the page.
    """
    base = server.url
    token_headers = {"Authorization": "Bearer some-old-token", "Accept": "application/json"}
    assert as_json(http_get(f"{base}/api/v1/version.json"))["api_version"] == "1.5"
    payload = f"session {secrets.token_hex(4)}\n ✓"
    body = {
        "password": {
            "kind": "text",
            "payload": payload,
            "passphrase": "open sesame",
            "note": "",
            "expire_after_days": 1,
            "expire_after_views": 5,
            "deletable_by_viewer": True,
            "retrieval_step": False,
        }
    }
    created = send(
        "POST",
        f"{base}/p.json",
        json.dumps(body).encode(),
        "application/json",
        headers=token_headers,
    )
    assert created.status == 201
    push = as_json(created)
    token = push["url_token"]
    assert push["html_url"] == f"{base}/s/{token}"

    # The links PassPushPosh derives from json_url open OneTime's page, consuming nothing.
    link_direct = push["json_url"].replace(".json", "")
    for link in (link_direct, f"{link_direct}/r"):
        redirect = http_get(link)
        assert redirect.status == 200  # urllib follows the 302
    assert as_json(http_get(f"{base}/p/{token}/preview.json")) == {"url": push["html_url"]}

    # Retrieve: no passphrase, a wrong one, the right one (in the query string), again.
    missing = http_get(f"{base}/p/{token}.json", token_headers)
    assert missing.status == 401
    assert as_json(missing)["status"] == "unauthorized"
    wrong = http_get(f"{base}/p/{token}.json?passphrase=nope", token_headers)
    assert (wrong.status, as_json(wrong)["attempts_left"]) == (401, 4)
    opened = http_get(f"{base}/p/{token}.json?passphrase={quote('open sesame')}", token_headers)
    assert opened.status == 200
    shown = as_json(opened)
    assert (shown["payload"], shown["expired"], shown["passphrase"]) == (
        payload,
        False,
        "open sesame",
    )
    again = as_json(http_get(f"{base}/p/{token}.json?passphrase={quote('open sesame')}"))
    assert (again["payload"], again["expired"]) == (None, True)

    # The sender's receipt says it was read; DELETE answers the expired document.
    receipt = as_json(http_get(push["receipt_url"].replace("/r/", "/api/v1/receipts/")))
    assert receipt["state"] == "revealed"
    deleted = send("DELETE", f"{base}/p/{token}.json", headers=token_headers)
    assert deleted.status == 200
    assert (as_json(deleted)["expired"], as_json(deleted)["deleted"]) == (True, False)

    # A form-encoded v2 create with the parameters in the query string, then a burn by DELETE.
    form = send("POST", f"{base}/api/v2/pushes.json?push[payload]=form%20secret", b"", "")
    assert form.status == 201
    burned = as_json(send("DELETE", f"{base}/api/v2/pushes/{as_json(form)['url_token']}"))
    assert (burned["deleted"], burned["expired"]) == (True, True)
    assert send("HEAD", f"{base}/api/v2/pushes/{token}").status == 405


# ---- the real pwpush CLI -------------------------------------------------------------------


def pwpush_command() -> str:
    """Return the pwpush CLI: beside this interpreter (the dev dependencies), or on PATH."""
    beside = Path(sys.executable).parent / "pwpush"
    found = str(beside) if beside.exists() else shutil.which("pwpush")
    assert found, "the pwpush CLI is missing: make install (it is a dev dependency)"
    return found


def pwpush(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = user_env(home, COLUMNS="200", TERM="dumb", NO_COLOR="1")
    env.pop("XDG_CONFIG_HOME", None)
    return subprocess.run(
        [pwpush_command(), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_the_pwpush_cli_works_by_changing_only_its_url(server, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    base = server.url
    assert pwpush(home, "config", "set", "url", base).returncode == 0

    # Push without a passphrase: it probes /api/v2/version, creates, then previews.
    plain = f"cli secret {secrets.token_hex(4)}"
    pushed = pwpush(home, "push", "--secret", plain, "--days", "3")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    match = re.search(
        rf"The secret has been pushed to:\s*({re.escape(base)}/s/({UUID}))", pushed.stdout
    )
    assert match, pushed.stdout
    link, token = match.groups()
    assert "v2" in (home / ".config" / "pwpush" / "config.ini").read_text()
    log = server.log.read_text()
    assert "GET /api/v2/version" in log
    assert "POST /api/v2/pushes" in log

    # The page opens; the API retrieves it once, with its 3 days (pwpush-cli's duration 8).
    assert http_get(link).status == 200
    shown = as_json(http_get(f"{base}/api/v2/pushes/{token}"))
    assert (shown["payload"], shown["expire_after_days"]) == (plain, 3)
    assert as_json(http_get(f"{base}/api/v2/pushes/{token}"))["expired"] is True

    # With a passphrase, as JSON output: the preview's document.
    secret = f"cli passphrase secret {secrets.token_hex(4)}"
    pushed = pwpush(home, "push", "--json", "--secret", secret, "--passphrase", "pass word")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    url = json.loads(pushed.stdout)["url"]
    token = url.rsplit("/", 1)[1]
    assert http_get(f"{base}/api/v2/pushes/{token}").status == 401
    opened = as_json(http_get(f"{base}/p/{token}.json?passphrase=pass%20word"))
    assert opened["payload"] == secret

    # Expire needs a token in pwpush-cli; OneTime ignores whatever it is.
    pushed = pwpush(home, "push", "--json", "--secret", "to be expired")
    token = json.loads(pushed.stdout)["url"].rsplit("/", 1)[1]
    assert pwpush(home, "config", "set", "token", "any-token").returncode == 0
    assert pwpush(home, "config", "set", "email", "me@example.com").returncode == 0
    expired = pwpush(home, "expire", token, "--json")
    assert expired.returncode == 0, expired.stdout + expired.stderr
    document = json.loads(expired.stdout)
    assert (document["url_token"], document["expired"], document["deleted"]) == (token, True, True)
    assert as_json(http_get(f"{base}/p/{token}.json"))["payload"] is None

    # Account-only commands say what Password Pusher says to an unknown account.
    listed = pwpush(home, "list", "--json")
    assert listed.returncode != 0


# ---- canary --------------------------------------------------------------------------------


def test_no_payload_or_passphrase_reaches_the_servers_output(server):
    base = server.url
    canary = f"canary-{secrets.token_hex(8)}"
    passphrase = f"canary-pass-{secrets.token_hex(8)}"
    created = as_json(
        send(
            "POST",
            f"{base}/p.json",
            f"password[payload]={canary}&password[passphrase]={passphrase}".encode(),
            "application/x-www-form-urlencoded",
        )
    )
    token = created["url_token"]
    wrong = http_get(f"{base}/api/v2/pushes/{token}?passphrase={passphrase}-wrong")
    assert wrong.status == 401
    opened = as_json(http_get(f"{base}/p/{token}.json?passphrase={passphrase}"))
    assert opened["payload"] == canary
    query = send(
        "POST", f"{base}/p.json?password[payload]={canary}q&password[passphrase]={passphrase}q"
    )
    assert query.status == 201

    output = server.log.read_text(errors="replace")
    # The access log is on: the requests are there, without their query strings.
    assert f"GET /p/{token[:8]}" in output
    assert "POST /p.json" in output
    assert canary not in output
    assert passphrase not in output
    assert token not in output
    assert "passphrase=" not in output
    assert os.path.getsize(server.log) > 0
