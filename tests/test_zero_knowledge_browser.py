"""
Secrets encrypted in the browser (PRODUCT.md §2.7, issue 14) in a real headless Chromium:
core/zk.js reproduces the envelope's test vectors; the create form sends only ciphertext and
the key travels in the link's fragment; the recipient's page checks the key before anything
is consumed and decrypts in the page; without JavaScript, or on plain HTTP away from
localhost (no WebCrypto), the pages fall back or say why, consuming nothing.
"""

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from onetime.core import envelope as zk
from onetime.vault.models import Secret
from tests.browser import (
    DESKTOP,
    KEY,
    LAN_HOST,
    PHONE,
    UUID,
    Sent,
    create_secret,
    decrypted,
    lan_url,
    new_context,
    off_the_event_loop,
    open_secret,
    visit,
)
from tests.conftest import (
    ClientSecret,
    issue_code,
    make_client_secret,
    make_tampered_client_secret,
)
from tests.processes import ROOT, onetime, user_env

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VECTORS = json.loads(Path(ROOT / "docs" / "zero-knowledge-vectors.json").read_text())
# Lines, Unicode, tabs, spaces at the ends: all must come back byte for byte.
SECRET = "\n  user: admin  \n\tпароль — ключ 🔑 \n\nlast line   "

RUN_VECTOR = """async (v) => {
  const zk = await import("/static/core/zk.js");
  const hex = (text) => Uint8Array.from(text.match(/../g), (pair) => parseInt(pair, 16));
  const key = zk.b64decode(v.key);
  const sealed = await zk.seal(v.plaintext, {
    key, passphrase: v.passphrase || "", seed: hex(v.seed), nonce: hex(v.nonce),
  });
  const stretched = v.passphrase ? await zk.stretch(v.passphrase, sealed.id) : null;
  return {
    id: zk.uuidString(sealed.id),
    ciphertext: zk.b64encode(sealed.envelope),
    key_check: zk.b64encode(await zk.keyCheck(key, sealed.id)),
    passphrase_proof: sealed.proof && zk.b64encode(sealed.proof),
    stretched: stretched && [...stretched].map((b) => b.toString(16).padStart(2, "0")).join(""),
    plaintext: await zk.open(zk.b64decode(v.ciphertext), {
      key, id: zk.uuidBytes(v.id), stretched,
    }),
  };
}"""


def test_chromium_reproduces_the_vectors_byte_for_byte(browser, live_server):
    context = new_context(browser)
    page = context.new_page()
    # The module as the pages load it: a static file of the app, same origin.
    page.goto(f"{live_server.url}/")
    for vector in VECTORS["vectors"]:
        got = page.evaluate(RUN_VECTOR, vector)
        assert got == {name: vector[name] for name in got}, vector["name"]
    context.close()


def secret_row(secret_id: str) -> Secret:
    return off_the_event_loop(lambda: Secret.objects.get(pk=secret_id))


def link_parts(link: str) -> tuple[str, str]:
    """Return the id and the key of a link with a fragment."""
    match = re.fullmatch(rf".*/s/({UUID})#({KEY})", link)
    assert match, link
    return match[1], match[2]


def test_it_encrypts_in_the_browser_and_the_server_never_sees_the_secret(browser, live_server):
    sender = new_context(browser, locale="en-US", viewport=DESKTOP)
    page = sender.new_page()
    sent = Sent(page)
    page.goto(f"{live_server.url}/")
    assert page.locator("[data-zk-state=browser]").is_visible()
    assert "Encrypted in your browser" in page.inner_text("main")

    link = create_secret(page, live_server.url, SECRET)

    secret_id, key = link_parts(link)
    [create] = sent.posts()
    assert set(create) >= {"ciphertext", "ttl", "csrfmiddlewaretoken"}
    assert not {"secret", "passphrase", "passphrase_proof"} & set(create)
    sent.assert_never(SECRET, SECRET.strip(), key)
    # The key is in the page only: the address bar lost it, the link shows it.
    assert page.evaluate("location.href") == f"{live_server.url}/"
    assert page.locator(".mode-client").is_visible()
    row = secret_row(secret_id)
    assert row.client_encrypted
    assert row.key_check == zk.b64encode(zk.key_check(zk.b64decode(key), uuid.UUID(secret_id)))

    recipient = new_context(browser, locale="ru-RU", viewport=PHONE, color_scheme="dark")
    their_page = recipient.new_page()
    theirs = Sent(their_page)
    revealed = open_secret(their_page, link)

    assert revealed.status == 200
    assert their_page.input_value("textarea#secret") == SECRET
    assert their_page.locator(".mode-client").is_visible()
    assert their_page.evaluate("location.href") == f"{live_server.url}/s/{secret_id}"
    [reveal] = theirs.posts()
    assert reveal["decrypt"] == ["browser"]
    assert "passphrase" not in reveal
    theirs.assert_never(SECRET.strip(), key)
    assert secret_row(secret_id).state == Secret.State.REVEALED

    again = visit(their_page, link)
    assert again.status == 410
    assert "Секрет уничтожен" in their_page.inner_text("h1")
    assert "зашифрован на устройстве отправителя" in their_page.inner_text("main")

    page.goto(page.inner_text("#receipt-url"))
    assert "On your device" in page.inner_text("dl")
    sender.close()
    recipient.close()


def test_a_passphrase_never_leaves_the_browser_and_wrong_ones_count(browser, live_server):
    context = new_context(browser, locale="en-US", viewport=PHONE)
    page = context.new_page()
    sent = Sent(page)
    link = create_secret(page, live_server.url, "behind a passphrase", passphrase="open sesame")
    secret_id, key = link_parts(link)
    [create] = sent.posts()
    assert len(zk.b64decode(create["passphrase_proof"][0])) == 32
    assert "passphrase" not in create
    assert "The recipient will need the passphrase." in page.inner_text("main")

    wrong = open_secret(page, link, passphrase="open sesame!")

    assert wrong.status == 403
    assert "4 attempts left" in page.inner_text("#id_passphrase_error")
    assert secret_row(secret_id).failed_attempts == 1
    # The page that answered drops the passphrase the script stretched for the revealed page.
    assert page.evaluate("sessionStorage.length") == 0
    # The answer came to the link with its key: the form works again, without a reload.
    page.fill("input[type=password]", "open sesame")
    with page.expect_navigation() as right:
        page.click("form button[type=submit]")
    decrypted(page)

    assert right.value.status == 200
    assert page.input_value("textarea#secret") == "behind a passphrase"
    sent.assert_never("open sesame", "open sesame!", "behind a passphrase", key)
    assert page.evaluate("Object.keys(sessionStorage)") == []
    context.close()


def test_a_telegram_bound_client_secret_opens_with_a_code(browser, live_server, telegram_bot):
    def make() -> tuple[ClientSecret, str]:
        return make_client_secret(SECRET, telegram_recipient="@alice"), issue_code(4242, "alice")

    secret, code = off_the_event_loop(make)
    link = f"{live_server.url}/s/{secret.id}#{zk.b64encode(secret.key)}"
    context = new_context(browser, locale="en-US", viewport=PHONE)
    page = context.new_page()

    opened = open_secret(page, link, code=code)

    assert opened.status == 200
    assert page.input_value("textarea#secret") == SECRET
    context.close()


def test_switching_the_language_keeps_the_key(browser, live_server):
    secret = off_the_event_loop(make_client_secret)
    context = new_context(browser, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{secret.id}#{zk.b64encode(secret.key)}")
    page.locator("[data-zk-state=ready]").wait_for()

    with page.expect_navigation():
        page.click("nav.lang a[hreflang=ru]")

    page.locator("[data-zk-state=ready]").wait_for()
    assert "Показать секрет" in page.inner_text("form")
    context.close()


def test_without_javascript_the_form_encrypts_on_the_server_and_says_so(browser, live_server):
    context = new_context(browser, locale="en-US", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    assert "Encrypted on the server: JavaScript is off" in page.inner_text("main")
    assert not page.locator("[data-zk-state=browser]").is_visible()

    link = create_secret(page, live_server.url, SECRET)

    assert "#" not in link
    assert "Encrypted on the server" in page.inner_text(".mode")
    assert page.locator(".qr-code svg").count() == 1  # the server's
    assert not secret_row(link.rsplit("/", 1)[1]).client_encrypted
    context.close()


def test_a_recipient_without_javascript_is_told_and_nothing_is_consumed(browser, live_server):
    secret = off_the_event_loop(make_client_secret)
    context = new_context(browser, locale="en-US", java_script_enabled=False)
    page = context.new_page()

    offer = page.goto(f"{live_server.url}/s/{secret.id}#{zk.b64encode(secret.key)}")

    assert offer.status == 200
    assert "only in a browser with JavaScript on" in page.inner_text("main")
    assert "onetime open" in page.inner_text("main")
    assert not page.locator("form button[type=submit]").is_visible()
    row = secret_row(str(secret.id))
    assert (row.state, row.ciphertext is not None) == (Secret.State.ACTIVE, True)
    context.close()


@pytest.mark.parametrize(
    "fragment",
    [
        pytest.param(lambda key: "", id="missing"),
        pytest.param(lambda key: f"#{key[:-4]}", id="truncated"),
        pytest.param(lambda key: f"#{zk.b64encode(zk.new_key())}", id="another key"),
    ],
)
def test_an_incomplete_link_is_told_before_anything_is_consumed(browser, live_server, fragment):
    secret = off_the_event_loop(make_client_secret)
    context = new_context(browser, locale="en-US")
    page = context.new_page()

    page.goto(f"{live_server.url}/s/{secret.id}{fragment(zk.b64encode(secret.key))}")

    told = page.locator("[data-zk-state=bad-key]")
    told.wait_for()
    assert "This link is incomplete" in told.inner_text()
    assert "Nothing has been consumed" in told.inner_text()
    assert not page.locator("form button[type=submit]").is_visible()
    assert secret_row(str(secret.id)).state == Secret.State.ACTIVE
    context.close()


def test_an_envelope_that_does_not_decrypt_is_said_to_be_gone_never_shown(browser, live_server):
    secret = off_the_event_loop(make_tampered_client_secret)
    context = new_context(browser, locale="en-US")
    page = context.new_page()

    open_secret(page, f"{live_server.url}/s/{secret.id}#{zk.b64encode(secret.key)}")

    failed = page.locator("[data-zk-state=failed]")
    assert failed.is_visible()
    assert "could not be decrypted" in failed.inner_text()
    assert "it is gone" in failed.inner_text()
    assert not page.locator("textarea#secret").is_visible()
    assert page.input_value("textarea#secret") == ""
    assert not page.locator("[data-zk-envelope]").count()
    context.close()


def test_the_created_page_without_its_key_says_the_link_cannot_be_shown(browser, live_server):
    envelope, _ = zk.seal(b"sealed elsewhere", key=zk.new_key())
    context = new_context(browser, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    # The form sent as the script sends it, but to an address without the key.
    with page.expect_navigation():
        page.evaluate(
            """(ciphertext) => {
              const form = document.querySelector("form[data-zk-create]");
              form.elements.secret.disabled = true;
              const field = Object.assign(document.createElement("input"),
                                          {type: "hidden", name: "ciphertext", value: ciphertext});
              form.append(field);
              form.submit();
            }""",
            zk.b64encode(envelope),
        )

    assert "The link cannot be shown" in page.inner_text("main")
    assert not page.locator("#share-url").is_visible()
    assert not page.locator("details.qr").is_visible()
    context.close()


def drawn_modules(page: Any) -> list[list[bool]]:
    """Read the dark modules back from the QR code the page drew (one square per module)."""
    svg = page.inner_html(".qr-code")
    size = re.search(r'viewBox="0 0 (\d+) \1"', svg)
    assert size, "the QR code has no square viewBox"
    assert re.search(rf'<path fill="#fff" d="M0 0h{size[1]}v{size[1]}h-{size[1]}z">', svg)
    dark = re.search(r'<path fill="#000" d="([^"]+)">', svg)
    assert dark, "the QR code draws no dark modules"
    grid = [[False] * int(size[1]) for _ in range(int(size[1]))]
    for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", dark[1]):
        grid[int(y)][int(x)] = True
    return grid


def test_the_qr_code_holds_the_link_with_its_key(browser, live_server, tmp_path):
    context = new_context(browser, locale="en-US", viewport=PHONE)
    page = context.new_page()
    sent = Sent(page)
    link = create_secret(page, live_server.url, "hunter2")
    page.click("details.qr summary")
    qr = page.locator(".qr-code svg")

    drawn = drawn_modules(page)

    # The library's code of the whole link (error correction M, as the server's), with a
    # quiet zone of four light modules all round.
    expected = page.evaluate(
        """async (link) => {
          const { encode } = await import("/static/vendor/uqr/index.mjs");
          return encode(link, { ecc: "M", border: 4 }).data;
        }""",
        link,
    )
    assert drawn == expected
    assert not any(any(row) for row in drawn[:4] + drawn[-4:])
    assert not any(any(row[:4] + row[-4:]) for row in drawn)
    assert qr.bounding_box()["width"] >= 200
    # Debian's zbar-tools (.ci/run installs it): read it as a phone's camera would.
    if shutil.which("zbarimg"):
        image = tmp_path / "qr.png"
        qr.screenshot(path=str(image))
        read = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True)
        assert read.stdout.decode().strip() == link
    sent.assert_never(link_parts(link)[1])
    context.close()


def test_the_vendored_qr_library_is_the_pinned_package():
    package = ROOT / "node_modules" / "uqr"
    if not package.exists():
        pytest.skip("node_modules/uqr is missing: run `npm ci` (make test does)")
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["uqr"]
    assert json.loads((package / "package.json").read_text())["version"] == pinned
    vendored = ROOT / "onetime" / "core" / "static" / "vendor" / "uqr"
    assert (vendored / "index.mjs").read_bytes() == (package / "dist" / "index.mjs").read_bytes()
    assert (vendored / "LICENSE").read_bytes() == (package / "LICENSE").read_bytes()


def test_on_plain_http_away_from_localhost_it_falls_back_and_says_why(lan_browser, live_server):
    base = lan_url(live_server)
    secret = off_the_event_loop(make_client_secret)
    context = new_context(lan_browser, locale="en-US")
    page = context.new_page()
    sent = Sent(page)
    page.goto(f"{base}/")
    assert page.evaluate("window.isSecureContext") is False
    assert "because this page is not on HTTPS" in page.inner_text("[data-zk-state=insecure]")

    link = create_secret(page, base, "over plain http")

    assert link.startswith(f"http://{LAN_HOST}:")
    assert "#" not in link
    [create] = sent.posts()
    assert create["secret"] == ["over plain http"]
    page.goto(f"{base}/s/{secret.id}#{zk.b64encode(secret.key)}")
    told = page.locator("[data-zk-state=insecure]")
    assert "not on HTTPS" in told.inner_text()
    assert told.is_visible()
    assert not page.locator("form button[type=submit]").is_visible()
    assert secret_row(str(secret.id)).state == Secret.State.ACTIVE
    context.close()


def onetime_user(home: Path) -> dict[str, str]:
    """A user of the command-line client, with ONETIME_PASSPHRASE for its prompt."""
    return user_env(home, ONETIME_PASSPHRASE="open sesame")


def test_a_secret_made_in_the_terminal_opens_in_chromium(browser, live_server, tmp_path):
    made = onetime(
        "share",
        "--passphrase",
        "--server",
        live_server.url,
        env=onetime_user(tmp_path),
        stdin=SECRET.encode(),
    )
    assert made.returncode == 0, made.stderr.decode()
    link = made.stdout.decode().removesuffix("\n")
    context = new_context(browser, locale="en-US")
    page = context.new_page()

    opened = open_secret(page, link, passphrase="open sesame")

    assert opened.status == 200
    assert page.input_value("textarea#secret") == SECRET
    context.close()


def test_a_secret_made_in_chromium_opens_in_the_terminal(browser, live_server, tmp_path):
    context = new_context(browser, locale="en-US")
    page = context.new_page()
    link = create_secret(page, live_server.url, SECRET, passphrase="open sesame")
    context.close()

    opened = onetime("open", link, env=onetime_user(tmp_path))

    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == SECRET.encode()


def test_a_secret_over_the_limit_is_told_before_anything_is_sent(browser, live_server, settings):
    settings.ONETIME_MAX_SECRET_BYTES = 10
    context = new_context(browser, locale="en-US")
    page = context.new_page()
    sent = Sent(page)
    page.goto(f"{live_server.url}/")
    page.fill("textarea[name=secret]", "ключ-11")  # 11 bytes in UTF-8

    page.click("form button.primary")

    told = page.locator("[data-zk-too-large]")
    told.wait_for()
    assert "longer than 10 bytes" in told.inner_text()
    assert page.input_value("textarea[name=secret]") == "ключ-11"
    assert sent.posts() == []
    page.fill("textarea[name=secret]", "ключ-1")  # 10 bytes: within the limit
    with page.expect_navigation():
        page.click("form button.primary")
    assert page.locator("[data-zk-created]").count() == 1
    context.close()
