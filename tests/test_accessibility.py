"""
Every page passes an axe-core scan (WCAG 2.0-2.2 A and AA: contrast, labels, ARIA, names)
in both themes, on a desktop and a phone (issue 13, item 3). axe comes from the npm registry
(package.json) and is run in the page through the browser's devtools, so the pages keep
their strict Content-Security-Policy.
"""

import os
from typing import Any

import pytest

from onetime.core import envelope as zk
from tests.browser import AXE, DESKTOP, PHONE, decrypted, new_context, off_the_event_loop
from tests.conftest import make_client_secret, make_secret, make_tampered_client_secret

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LOOKS = [
    pytest.param(scheme, viewport, id=f"{scheme}-{name}")
    for scheme in ("light", "dark")
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE))
]


@pytest.fixture
def axe() -> str:
    if not AXE.exists():
        if os.environ.get("ONETIME_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
        pytest.skip(f"{AXE} is missing")
    return AXE.read_text()


def violations(page: Any, axe: str) -> list[str]:
    """Return one line per axe violation on the page: rule, impact, the offending nodes."""
    page.evaluate(axe)
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => `${v.id} (${v.impact}): ` +"
        " v.nodes.map(n => n.target.join(' ') + ' ' + (n.failureSummary || '')).join(' | '))",
        TAGS,
    )
    return list(found)


def scan(page: Any, axe: str, name: str, problems: dict[str, list[str]]) -> None:
    """Record the violations of the page shown now under ``name`` (never its URL: it holds
    an id or a token)."""
    found = violations(page, axe)
    if found:
        problems[name] = found


def make_secrets() -> dict[str, str]:
    def link(secret: Any) -> str:
        """The path of a client secret's link, with its key."""
        return f"{secret.id}#{zk.b64encode(secret.key)}"

    client = make_client_secret("in the browser")
    return {
        "plain": str(make_secret("plain").secret.id),
        "guarded": str(make_secret("guarded", passphrase="open sesame").secret.id),
        "bound": str(make_secret("bound", telegram_recipient="@alice").secret.id),
        "receipt": make_secret("receipt").receipt_token,
        # Encrypted in the browser (PRODUCT.md §2.7): their links hold the key.
        "client": link(client),
        "client receipt": client.created.receipt_token,
        "client, guarded": link(make_client_secret("g", passphrase="open sesame")),
        "client, bound": link(make_client_secret("b", telegram_recipient="@alice")),
        "client, incomplete link": str(make_client_secret("i").id),
        "client, tampered": link(make_tampered_client_secret()),
    }


@pytest.mark.parametrize(("scheme", "viewport"), LOOKS)
def test_every_page_passes_an_axe_scan(browser, live_server, telegram_bot, axe, scheme, viewport):
    made = off_the_event_loop(make_secrets)
    context = new_context(browser, viewport=viewport, color_scheme=scheme, locale="ru-RU")
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    base = live_server.url

    page.goto(f"{base}/")
    page.click("details.generator summary")
    scan(page, axe, "create", problems)
    page.fill("textarea[name=secret]", "typed")
    with page.expect_navigation():
        page.click("form button.primary")
    page.click("details.qr summary")  # the QR code the page draws
    scan(page, axe, "created", problems)
    for kind in ("guarded", "bound", "plain"):
        page.goto(f"{base}/s/{made[kind]}")
        scan(page, axe, f"recipient ({kind})", problems)
    with page.expect_navigation():
        page.click("form button.primary")  # reveal the plain one
    scan(page, axe, "revealed", problems)
    page.reload()
    scan(page, axe, "gone", problems)
    page.goto(f"{base}/r/{made['receipt']}")
    scan(page, axe, "receipt", problems)
    for kind in ("client, guarded", "client, bound", "client, incomplete link", "client"):
        page.goto("about:blank")
        page.goto(f"{base}/s/{made[kind]}")
        page.wait_for_selector("[data-zk-state]:visible")  # the script's verdict on the key
        scan(page, axe, f"recipient ({kind})", problems)
    with page.expect_navigation():
        page.click("form button.primary")  # reveal the client one
    decrypted(page)
    scan(page, axe, "revealed (client)", problems)
    page.reload()
    scan(page, axe, "gone (client)", problems)
    page.goto(f"{base}/r/{made['client receipt']}")
    scan(page, axe, "receipt (client)", problems)
    page.goto(f"{base}/s/{made['client, tampered']}")
    with page.expect_navigation():
        page.click("form button.primary")
    decrypted(page)
    scan(page, axe, "revealed (client, tampered)", problems)
    page.goto(f"{base}/no/such/page")
    scan(page, axe, "not found", problems)
    context.close()

    assert not problems, "\n".join(
        f"{name}: {line}" for name, lines in problems.items() for line in lines
    )
