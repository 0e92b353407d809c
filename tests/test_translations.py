"""The Russian catalogue is complete and its compiled .mo matches the .po."""

import shutil
import subprocess

import pytest

from tests.processes import ROOT

LOCALE = ROOT / "onetime" / "locale" / "ru" / "LC_MESSAGES"

pytestmark = pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext")


def test_every_message_is_translated():
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(LOCALE / "django.po")],
        capture_output=True,
        text=True,
        check=True,
    )

    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr


def test_the_compiled_catalogue_is_up_to_date():
    compiled = subprocess.run(
        ["msgfmt", "--check-format", "-o", "-", str(LOCALE / "django.po")],
        capture_output=True,
        check=True,
    ).stdout

    assert compiled == (LOCALE / "django.mo").read_bytes(), "run `make messages` and commit"
