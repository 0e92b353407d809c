"""
The created page (issue 13, items 1, 2 and 11): the whole link shown on every width and
selected by one click, copy feedback that says so without moving anything, and a QR code of
the share link drawn inline on the server.
"""

import re

import pytest
import segno
from playwright.sync_api import expect

from onetime.vault.models import Secret
from tests.browser import DESKTOP, PHONE, create_secret, new_context
from tests.conftest import text

SVG = re.compile(r'<div class="qr-code" role="img" aria-label="[^"]+">(<svg .*?</svg>)</div>', re.S)


def modules(svg: str) -> list[list[bool]]:
    """
    Read the dark modules back from the SVG's drawing: a path of horizontal runs, each at a
    module's middle line (``M``/``m`` move, ``h`` draws), as segno writes it. Independent of
    how the markup is laid out, so the test compares what a camera would see.
    """
    size = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert size, "the QR code has no viewBox"
    width, height = int(size.group(1)), int(size.group(2))
    ground = re.search(r'<path fill="([^"]+)" d="M0 0h(\d+)v(\d+)h-\d+z"/>', svg)
    assert ground, "the QR code has no ground"
    assert ground.groups() == ("#fff", str(width), str(height)), "not white behind the code"
    dark = re.search(r'<path stroke="#000" d="([^"]+)"/>', svg)
    assert dark, "the QR code draws no dark modules"
    grid = [[False] * width for _ in range(height)]
    x = y = 0.0
    for command, first, second in re.findall(r"([MmHh])(-?[\d.]+)(?: (-?[\d.]+))?", dark[1]):
        if command in "Mm":
            x, y = (0.0, 0.0) if command == "M" else (x, y)
            x, y = x + float(first), y + float(second)
        else:
            run = float(first)
            for column in range(int(x), int(x + run)):
                grid[int(y)][column] = True
            x += run
    return grid


def segno_modules(link: str) -> list[list[bool]]:
    code = segno.make(link, error="m", micro=False)
    return [[bool(bit) for bit in row] for row in code.matrix_iter(scale=1, border=4)]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_rate_limits")
def test_the_created_page_holds_a_qr_code_of_the_share_link_and_nothing_else(client):
    response = client.post("/", {"secret": "hunter2", "ttl": "3600"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = text(response)
    secret = Secret.objects.get()
    link = f"http://testserver/s/{secret.id}"
    receipt = re.search(r'id="receipt-url" class="link">([^<]+)</code>', page)
    assert receipt
    found = SVG.findall(page)
    assert len(found) == 1, "no QR code, or more than one"
    svg = found[0]
    drawn = modules(svg)
    assert drawn == segno_modules(link)
    assert drawn != segno_modules(receipt[1]), "the QR code opens the receipt"
    # A quiet zone of four light modules all round, as readers expect.
    assert not any(drawn[row][column] for row in range(4) for column in range(len(drawn)))
    assert not any(row[column] for row in drawn for column in range(4))
    # Only path data: neither the link nor any of it is written into the markup.
    assert str(secret.id) not in svg
    assert "http" not in svg
    assert "<script" not in svg
    assert "style=" not in svg, "the CSP would refuse an inline style"


def test_the_whole_link_shows_on_a_phone_and_one_tap_selects_it(browser, live_server):
    context = new_context(
        browser,
        locale="ru-RU",
        viewport=PHONE,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    link = create_secret(page, live_server.url, "hunter2")
    shown = page.locator("#share-url")

    assert shown.inner_text() == link
    box = shown.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("(e) => e.scrollWidth <= e.clientWidth", shown.element_handle())
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert box["height"] > 30, "one line cannot hold the link on a phone"

    shown.click()

    assert page.evaluate("window.getSelection().toString()") == link

    copy = page.locator("button[data-copy=share-url]")
    before = copy.bounding_box(), shown.bounding_box()
    assert copy.inner_text() == "Копировать"
    status = page.locator("[role=status]")
    assert status.inner_text() == ""

    copy.click()

    page.wait_for_selector("[data-copy=share-url].copied")
    assert copy.inner_text() == "Скопировано"
    assert (copy.bounding_box(), shown.bounding_box()) == before, "the layout moved"
    expect(status).to_have_text("Скопировано")
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.wait_for_selector("[data-copy=share-url]:not(.copied)")
    assert copy.inner_text() == "Копировать"

    qr = page.locator(".qr-code svg")
    assert not qr.is_visible(), "the QR code shows before it is asked for"
    page.click("details.qr summary")
    qr_box = qr.bounding_box()
    assert qr_box is not None
    assert qr_box["width"] == qr_box["height"] >= 200
    secret_id = link.rsplit("/", 1)[1]
    # Drawn inline: no request of its own carries the link to a server or a cache.
    assert not [url for url in requests if secret_id in url]
    assert not [line for line in console if "Content Security Policy" in line]
    context.close()


def test_copy_says_copied_in_english_and_keeps_its_width(browser, live_server):
    context = new_context(
        browser,
        locale="en-US",
        viewport=DESKTOP,
        color_scheme="dark",
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    create_secret(page, live_server.url, "hunter2")
    receipt = page.locator("#receipt-url").inner_text()
    copy = page.locator("button[data-copy=receipt-url]")
    before = copy.bounding_box()

    copy.click()

    page.wait_for_selector("[data-copy=receipt-url].copied")
    assert copy.inner_text() == "Copied"
    assert copy.bounding_box() == before
    assert page.evaluate("navigator.clipboard.readText()") == receipt
    context.close()
