"""Every variable the settings read is documented in .env.example, and nothing else is."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

READERS = re.compile(r"""\benv_(?:str|bool|int|list|rate)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
KEYS = re.compile(r"""_required_key\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def _read_by_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "onetime").rglob("*.py"):
        text = path.read_text()
        names |= set(READERS.findall(text)) | set(KEYS.findall(text))
    return names


def _documented() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line)}


def test_every_variable_the_code_reads_is_documented():
    assert _read_by_code() - _documented() == set()


def test_every_documented_variable_is_read_by_the_code():
    assert _documented() - _read_by_code() == set()
