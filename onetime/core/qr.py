"""QR codes drawn on the server, as SVG to put inline into a page."""

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(text: str) -> SafeString:
    """
    Return ``text`` as a QR code in SVG markup to put inline into a page.

    Inline, the code needs no request of its own, so nothing caches or logs what it encodes
    (a secret's link) apart from the page itself. Dark modules on white with the standard
    quiet zone in either theme, since phone cameras look for dark on light; no width or
    height, so CSS sizes it. The markup holds only path data: ``text`` is never written out.
    """
    code = segno.make(text, error="m", micro=False)
    markup = code.svg_inline(
        omitsize=True, svgclass="qr", lineclass=None, dark="#000", light="#fff"
    )
    return mark_safe(markup)  # noqa: S308 - segno's path data, nothing of the caller's
