"""
Every variable the service reads (settings, server, compose file, entrypoint) is
documented in .env.example, and every variable documented there is read somewhere.
"""

import re

from tests.processes import ROOT

PYTHON_READERS = re.compile(
    r"""\benv_(?:str|bool|int|list|rate)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|_required_key\(\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|os\.environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']"""
)
SHELL_READERS = re.compile(r"\$\{([A-Z][A-Z0-9_]*)[:}?-]")


def _read_by_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "onetime").rglob("*.py"):
        if path == ROOT / "onetime" / "cli.py":
            continue  # the command-line client's, not the service's: in its --help and README
        for groups in PYTHON_READERS.findall(path.read_text()):
            names |= {name for name in groups if name}
    for path in (ROOT / "compose.yaml", ROOT / "docker" / "entrypoint.sh"):
        names |= set(SHELL_READERS.findall(path.read_text()))
    return names


def _documented() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line)}


def test_every_variable_the_code_reads_is_documented():
    assert _read_by_code() - _documented() == set()


def test_every_documented_variable_is_read_by_the_code():
    assert _documented() - _read_by_code() == set()


def test_the_readers_are_found_at_all():
    # Guards the patterns above: a few variables each kind of file is known to read.
    assert {"SECRET_KEY", "ONETIME_ENCRYPTION_KEYS", "WEB_CONCURRENCY"} <= _read_by_code()
    assert {"POSTGRES_PASSWORD", "PROMETHEUS_MULTIPROC_DIR"} <= _read_by_code()
