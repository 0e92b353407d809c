"""
Bad settings stop the process at start with a message that names the variable
(PRODUCT.md §5); without real keys production refuses to start (§2.2).
"""

import base64
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from onetime.env import env_bool, env_int, env_list, env_rate, env_str
from tests.processes import ROOT

GOOD_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
SHORT_KEY = base64.urlsafe_b64encode(b"sixteen byte key").decode()

# name: (changes to a good production environment, the variable the error must name)
START_UPS: dict[str, tuple[dict[str, str | None], str]] = {
    "good": ({}, ""),
    "no SECRET_KEY": ({"SECRET_KEY": None}, "SECRET_KEY"),
    "blank SECRET_KEY": ({"SECRET_KEY": "  "}, "SECRET_KEY"),
    "no encryption keys": ({"ONETIME_ENCRYPTION_KEYS": None}, "ONETIME_ENCRYPTION_KEYS"),
    "a 16-byte key": (
        {"ONETIME_ENCRYPTION_KEYS": f"{GOOD_KEY},{SHORT_KEY}"},
        "ONETIME_ENCRYPTION_KEYS",
    ),
    "a key that is not base64": ({"ONETIME_ENCRYPTION_KEYS": "@@@@"}, "ONETIME_ENCRYPTION_KEYS"),
    "ONETIME_MAX_TTL=abc": ({"ONETIME_MAX_TTL": "abc"}, "ONETIME_MAX_TTL"),
    "ONETIME_RATE_CREATE=fast": ({"ONETIME_RATE_CREATE": "fast"}, "ONETIME_RATE_CREATE"),
    "ONETIME_BASE_URL=ftp://x": ({"ONETIME_BASE_URL": "ftp://x"}, "ONETIME_BASE_URL"),
    "ONETIME_MAX_TTL too long": ({"ONETIME_MAX_TTL": "999999999999"}, "ONETIME_MAX_TTL"),
    "WEB_THREADS=0": ({"WEB_THREADS": "0"}, "WEB_THREADS"),
    "PORT=http": ({"PORT": "http"}, "PORT"),
    "a password with a slash": (
        {"DATABASE_URL": "postgres://onetime:ab/cd@db:5432/onetime"},
        "DATABASE_URL",
    ),
}


def _environment(changes: dict[str, str | None]) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "a-production-secret-key-for-this-test-only",
        "ONETIME_ENCRYPTION_KEYS": GOOD_KEY,
    }
    for name, value in changes.items():
        env.pop(name, None)
        env.pop(f"{name}_FILE", None)
        if value is not None:
            env[name] = value
    return env


@pytest.fixture(scope="module")
def start_ups() -> dict[str, subprocess.CompletedProcess[str]]:
    """Run `manage.py check` once per case, all at the same time (each takes a while)."""
    running = {
        case: subprocess.Popen(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=_environment(changes),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for case, (changes, _name) in START_UPS.items()
    }
    done = {}
    for case, process in running.items():
        out, err = process.communicate(timeout=120)
        done[case] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


def test_it_starts_with_good_settings(start_ups):
    result = start_ups["good"]

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("case", [case for case in START_UPS if case != "good"])
def test_it_refuses_to_start_naming_the_variable(start_ups, case):
    result = start_ups[case]
    _changes, name = START_UPS[case]

    assert result.returncode != 0
    # The last line is the error itself; the traceback above it quotes settings.py.
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert name in last_line


def test_a_refused_key_is_not_echoed(start_ups):
    result = start_ups["a 16-byte key"]

    assert result.returncode != 0
    assert GOOD_KEY not in result.stderr
    assert SHORT_KEY not in result.stderr


def test_local_keys_are_generated_once_without_debug(tmp_path):
    changes = {
        "SECRET_KEY": None,
        "ONETIME_ENCRYPTION_KEYS": None,
        "ONETIME_LOCAL_KEYS": "1",
        "ONETIME_LOCAL_DIR": str(tmp_path),
    }
    check = [sys.executable, "manage.py", "check"]

    first = subprocess.run(check, cwd=ROOT, env=_environment(changes), capture_output=True)
    keys = (tmp_path / "dev-keys.json").read_bytes()
    again = subprocess.run(check, cwd=ROOT, env=_environment(changes), capture_output=True)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "dev-keys.json").read_bytes() == keys  # kept, not regenerated
    assert (tmp_path / "dev-keys.json").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("cpu_max", "expected"), [("max 100000", 64), ("250000 100000", 3), ("50000 100000", 1)]
)
def test_workers_default_to_the_cpus_a_container_may_use(monkeypatch, tmp_path, cpu_max, expected):
    from onetime import settings as project_settings

    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    monkeypatch.setattr(project_settings, "_cgroup_cpu_max", tmp_path / "cpu.max")
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(64)))

    assert project_settings._cpus() == expected


# --- The typed readers (onetime/env.py) ---------------------------------------------------------


def test_env_int(monkeypatch):
    monkeypatch.setenv("X_INT", " 120 ")
    assert env_int("X_INT", 5) == 120
    monkeypatch.setenv("X_INT", "")
    assert env_int("X_INT", 5) == 5
    monkeypatch.delenv("X_INT")
    assert env_int("X_INT", 5) == 5


@pytest.mark.parametrize(
    ("raw", "message"), [("abc", "integer"), ("1.5", "integer"), ("59", "at least 60")]
)
def test_env_int_refuses_a_bad_value(monkeypatch, raw, message):
    monkeypatch.setenv("X_INT", raw)

    with pytest.raises(ImproperlyConfigured, match=rf"^X_INT must be .*{message}"):
        env_int("X_INT", 300, min_value=60)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("off", False),
        ("FALSE", False),
        ("", None),
    ],
)
def test_env_bool(monkeypatch, raw, expected):
    monkeypatch.setenv("X_BOOL", raw)

    assert env_bool("X_BOOL", None) is expected  # type: ignore[arg-type]


def test_env_bool_refuses_a_bad_value(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")

    with pytest.raises(ImproperlyConfigured, match=r"^X_BOOL "):
        env_bool("X_BOOL", False)


def test_env_list(monkeypatch):
    monkeypatch.setenv("X_LIST", " a.example, b.example,,  ")
    assert env_list("X_LIST") == ["a.example", "b.example"]
    monkeypatch.setenv("X_LIST", "  ")
    assert env_list("X_LIST", ["default"]) == ["default"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("60/m", (60, 60)),
        ("10/5m", (10, 300)),
        ("2/h", (2, 3600)),
        ("100/d", (100, 86400)),
        ("5/S", (5, 1)),
        ("off", None),
        ("", (30, 60)),
    ],
)
def test_env_rate(monkeypatch, raw, expected):
    monkeypatch.setenv("X_RATE", raw)

    assert env_rate("X_RATE", "30/m") == expected


@pytest.mark.parametrize("raw", ["fast", "60", "60/", "60/w", "x/m", "0/m", "10/0m", "-1/m"])
def test_env_rate_refuses_a_bad_value(monkeypatch, raw):
    monkeypatch.setenv("X_RATE", raw)

    with pytest.raises(ImproperlyConfigured, match=r"^X_RATE "):
        env_rate("X_RATE", "30/m")


def test_a_value_can_come_from_a_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("from-a-docker-secret\n")
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))

    assert env_str("X_SECRET") == "from-a-docker-secret"
    monkeypatch.setenv("X_SECRET", "from-the-environment")
    assert env_str("X_SECRET") == "from-the-environment"


def test_an_unreadable_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))

    with pytest.raises(ImproperlyConfigured, match=r"^X_SECRET_FILE"):
        env_str("X_SECRET")


def test_env_int_refuses_values_above_its_bound(monkeypatch):
    monkeypatch.setenv("SOME_LIMIT", "101")

    with pytest.raises(ImproperlyConfigured, match="SOME_LIMIT must be at most 100"):
        env_int("SOME_LIMIT", 5, max_value=100)
