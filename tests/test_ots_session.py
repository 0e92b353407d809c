"""
OneTimeSecret's clients against a real OneTime server (python -m onetime.serve, its access
log on), changing only their base URL (issue 15): the `onetimesecret` package from PyPI
itself, and the exact requests of the clients that cannot be pointed elsewhere or are not
Python (docs/research/peer-apis.md §3) — corbaltcode's Go client (parameters in the query
string of an empty POST, Basic with empty credentials), chelnak's Go client (trailing
slashes, Content-Type: application/json with an empty body), onetime-ruby (form bodies).
Each session goes create → receipt → reveal → reveal again → receipt → burn; a canary
secret and passphrase sent in the query string never reach the server's output.
"""

import base64
import http.client
import json
import secrets
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from onetimesecret import OneTimeSecretCli, OneTimeSecretError

from tests.processes import RunningWeb, database_url, start_web, stop

pytestmark = [pytest.mark.django_db(transaction=True)]

EMPTY_BASIC = "Basic " + base64.b64encode(b":").decode()  # what the Go clients send unset


@pytest.fixture
def web(tmp_path) -> Iterator[RunningWeb]:
    server = start_web(database_url(connection.settings_dict), tmp_path / "web.log")
    yield server
    assert stop(server.process) == 0


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        assert self.headers["content-type"] == "application/json; charset=utf-8"
        return json.loads(self.body)


def send(
    web: RunningWeb,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """Send exactly these headers and body (none: no Content-Type, Content-Length 0)."""
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()


def query(**params: Any) -> str:
    return "?" + urllib.parse.urlencode(params)


def test_the_onetimesecret_package_from_pypi_works_with_only_its_url_changed(web):
    anonymous = OneTimeSecretCli(url=web.url)
    with_account = OneTimeSecretCli(user="someone@example.com", key="api-token", url=web.url)
    # A base URL written with a trailing slash: its requests go to //api/v1/….
    slashed = OneTimeSecretCli(url=f"{web.url}/")

    for client in (anonymous, with_account, slashed):
        link = client.create_link("from the PyPI client ✓", ttl=900)

        assert link.startswith(f"{web.url}/")
        assert "/secret/" in link
        key = link.rsplit("/", 1)[1]
        # The link it builds opens OneTime's click-to-reveal page, consuming nothing.
        redirect = send(web, "GET", f"/secret/{key}")
        assert (redirect.status, redirect.headers["location"]) == (302, f"/s/{key}")
        assert send(web, "GET", f"/s/{key}").status == 200
        revealed = send(web, "POST", f"/api/v1/secret/{key}").json()
        assert revealed["value"] == "from the PyPI client ✓"
    with pytest.raises(OneTimeSecretError, match="You did not provide anything to share"):
        anonymous.create_link("")


def test_a_corbaltcode_session_query_strings_on_empty_posts(web):
    auth = {"Authorization": EMPTY_BASIC}
    assert send(web, "GET", "/api/v1/status", headers=auth).json()["status"] == "nominal"

    shared = send(
        web,
        "POST",
        "/api/v1/share" + query(secret="s3cret", passphrase="", ttl=0, recipient=""),
        headers=auth,
    ).json()
    # Its struct decodes these as ints; ttl=0 is clamped to the minimum, as OTS does.
    assert (shared["ttl"], shared["state"], shared["passphrase_required"]) == (60, "new", False)
    assert all(type(shared[k]) is int for k in ("ttl", "metadata_ttl", "secret_ttl", "created"))
    mk, sk = shared["metadata_key"], shared["secret_key"]

    metadata = send(web, "POST", f"/api/v1/private/{mk}", headers=auth).json()
    # Its struct reads secret_key as "" here: a receipt never gives the share link away.
    assert (metadata["state"], "secret_key" in metadata) == ("new", False)
    revealed = send(web, "POST", f"/api/v1/secret/{sk}" + query(passphrase=""), headers=auth)
    assert revealed.json()["value"] == "s3cret"
    again = send(web, "POST", f"/api/v1/secret/{sk}" + query(passphrase=""), headers=auth)
    assert (again.status, again.json()["message"]) == (404, "Unknown secret")
    received = send(web, "POST", f"/api/v1/private/{mk}", headers=auth).json()
    assert received["state"] == "received"
    assert "secret_key" not in received

    other = send(web, "POST", "/api/v1/generate" + query(passphrase="pw", ttl=3600), headers=auth)
    generated = other.json()
    burned = send(web, "POST", f"/api/v1/private/{generated['metadata_key']}/burn", headers=auth)
    assert burned.json()["state"]["state"] == "burned"
    assert burned.json()["secret_shortkey"] == generated["secret_key"][:8]
    gone = send(web, "POST", f"/api/v1/secret/{generated['secret_key']}" + query(passphrase="pw"))
    assert gone.status == 404
    recent = send(web, "GET", "/api/v1/private/recent", headers=auth)
    assert (recent.status, recent.headers["x-ots-intended-status"]) == (404, "401")


def test_a_chelnak_go_session_trailing_slashes_and_an_empty_json_body(web):
    headers = {"Authorization": EMPTY_BASIC, "Content-Type": "application/json"}

    shared = send(
        web, "POST", "/api/v1/share/" + query(secret="s3cret", ttl=3600), b"", headers=headers
    )
    assert shared.status == 200
    mk, sk = shared.json()["metadata_key"], shared.json()["secret_key"]
    assert (
        send(web, "POST", f"/api/v1/private/{mk}/", b"", headers=headers).json()["state"] == "new"
    )
    revealed = send(web, "POST", f"/api/v1/secret/{sk}/", b"", headers=headers)
    assert revealed.json() == {
        "value": "s3cret",
        "secret_key": sk,
        "share_domain": web.url,
    }
    assert send(web, "POST", f"/api/v1/secret/{sk}/", b"", headers=headers).status == 404
    receipt = send(web, "POST", f"/api/v1/private/{mk}/", b"", headers=headers).json()
    assert receipt["state"] == "received"
    burn = send(web, "POST", f"/api/v1/private/{mk}/burn/", b"", headers=headers)
    assert (burn.status, burn.json()["message"]) == (404, "Unknown secret")
    # Its ShareSecret always sends a recipient: refused, as by OneTimeSecret for anyone anonymous.
    with_recipient = send(
        web, "POST", "/api/v1/share/" + query(secret="x", recipient="a@example.com"), b"", headers
    )
    assert (with_recipient.status, with_recipient.headers["x-ots-intended-status"]) == (404, "400")


def test_an_onetime_ruby_session_form_bodies(web):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert send(web, "GET", "/api/v1/status").json()["status"] == "nominal"

    generated = send(web, "POST", "/api/v1/generate", b"ttl=600", headers=form).json()
    # It prints <base>/secret/<secret_key>: that link opens the recipient's page.
    link = send(web, "GET", f"/secret/{generated['secret_key']}")
    assert link.status == 302
    body = urllib.parse.urlencode({"secret": "line one\nline two", "passphrase": "pw"}).encode()
    shared = send(web, "POST", "/api/v1/share", body, headers=form).json()
    wrong = send(
        web, "POST", f"/api/v1/secret/{shared['secret_key']}", b"passphrase=nope", headers=form
    )
    assert wrong.status == 404
    right = send(
        web, "POST", f"/api/v1/secret/{shared['secret_key']}", b"passphrase=pw", headers=form
    )
    assert right.json()["value"] == "line one\nline two"


def test_no_canary_reaches_the_servers_output_access_log_included(web):
    canary, phrase = f"CANARY-{secrets.token_hex(8)}", f"PHRASE-{secrets.token_hex(8)}"
    auth = {"Authorization": EMPTY_BASIC}

    shared = send(
        web,
        "POST",
        "/api/v1/share" + query(secret=canary, passphrase=phrase, ttl=600),
        headers=auth,
    ).json()
    mk, sk = shared["metadata_key"], shared["secret_key"]
    send(web, "POST", f"/api/v1/secret/{sk}" + query(passphrase="wrong-" + phrase), headers=auth)
    send(web, "GET", f"/api/v1/receipt/{mk}")
    assert send(web, "POST", f"/api/v1/secret/{sk}" + query(passphrase=phrase)).json() == {
        "value": canary,
        "secret_key": sk,
        "share_domain": web.url,
    }
    send(web, "POST", f"/api/v1/metadata/{mk}/burn")
    send(web, "GET", f"/secret/{sk}")
    send(web, "GET", f"/private/{mk}")
    assert stop(web.process) == 0

    output = web.log.read_text(errors="replace")
    # The access log was on, and wrote these requests (by their paths, cut).
    assert '"POST /api/v1/share ' in output
    assert f'"POST /api/v1/secret/{sk[:8]}' in output
    assert f'"GET /api/v1/receipt/{mk[:4]}' in output
    leaked = [
        name
        for name, value in {
            "secret": canary,
            "passphrase": phrase,
            "secret_key": sk,
            "metadata_key": mk,
        }.items()
        if value in output
    ]
    assert not leaked, f"the server's output holds {leaked}"
