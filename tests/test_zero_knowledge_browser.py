"""
Zero-knowledge secrets in a real headless Chromium (PRODUCT.md §2.7, issue 14).
"""

import json
from pathlib import Path

import pytest

from tests.browser import new_context
from tests.processes import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VECTORS = json.loads(Path(ROOT / "docs" / "zero-knowledge-vectors.json").read_text())

RUN_VECTOR = """async (v) => {
  const zk = await import("/static/core/zk.js");
  const hex = (text) => Uint8Array.from(text.match(/../g), (pair) => parseInt(pair, 16));
  const key = zk.b64decode(v.key);
  const sealed = await zk.seal(v.plaintext, {
    key, passphrase: v.passphrase || "", seed: hex(v.seed), nonce: hex(v.nonce),
  });
  const stretched = v.passphrase ? await zk.stretch(v.passphrase, sealed.id) : null;
  const envelope = zk.b64decode(v.ciphertext);
  return {
    id: zk.uuidString(sealed.id),
    ciphertext: zk.b64encode(sealed.envelope),
    key_check: zk.b64encode(await zk.keyCheck(key, sealed.id)),
    passphrase_proof: sealed.proof && zk.b64encode(sealed.proof),
    stretched: stretched && [...stretched].map((b) => b.toString(16).padStart(2, "0")).join(""),
    plaintext: await zk.open(envelope, { key, id: zk.uuidBytes(v.id), stretched }),
  };
}"""


def test_chromium_reproduces_the_vectors_byte_for_byte(browser, live_server):
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    for vector in VECTORS["vectors"]:
        got = page.evaluate(RUN_VECTOR, vector)
        expected = {name: vector[name] for name in got}
        assert got == expected, vector["name"]
    context.close()
