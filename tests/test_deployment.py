"""
What can be checked of the Docker deployment without a Docker engine: the compose file and
the Dockerfile refer to things that exist, the entrypoint really migrates and serves under
plain `sh` with the production server, which keeps ids out of its access log, and the
production settings pass Django's deployment checks.
"""

import re
import shutil
import socket
import sys
import tomllib
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml
from django.core.management import get_commands
from django.db import connection

from onetime import serve
from tests.processes import (
    ROOT,
    database_url,
    free_port,
    http_get,
    manage,
    run,
    service_env,
    start,
    stop,
    wait_until_serving,
)

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
VENV_BIN = str(Path(sys.executable).parent)


def _entrypoint_modes() -> set[str]:
    return set(re.findall(r"^\s{4}([a-z]+)\)$", ENTRYPOINT.read_text(), flags=re.M))


def test_the_compose_file_runs_the_stack_the_docs_describe():
    services = COMPOSE["services"]

    assert set(services) == {"db", "migrate", "web", "scheduler", "bot"}
    assert services["db"]["image"].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("web", "scheduler", "bot"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
        assert services[name]["restart"] == "unless-stopped"
    assert services["bot"]["profiles"] == ["bot"]  # skipped unless asked for


def test_the_web_container_listens_beyond_loopback_whatever_env_says():
    # compose reads .env into every container; an empty HOST= there (as .env.example has
    # it) would override the image's HOST=0.0.0.0 and bind 127.0.0.1, out of the port
    # mapping's reach. compose's own environment wins over env_file.
    environment = COMPOSE["services"]["web"]["environment"]

    assert environment["HOST"] == "0.0.0.0"  # noqa: S104 - inside the container
    assert str(environment["PORT"]) == "8000"
    assert re.search(r"^\s+HOST=0\.0\.0\.0 \\$", DOCKERFILE, flags=re.M)  # the image alone


def test_every_service_command_is_one_the_image_knows():
    modes = _entrypoint_modes()
    commands = get_commands()

    assert modes == {"migrate", "web", "bot", "scheduler"}
    for name, service in COMPOSE["services"].items():
        if name != "db":
            assert service["command"][0] in modes, name
    # …and each mode runs a command that exists.
    for command in ("migrate", "runbot", "runscheduler"):
        assert command in commands
    assert "python -m onetime.serve" in ENTRYPOINT.read_text()
    assert (ROOT / "onetime" / "serve.py").exists()


def test_the_dockerfile_builds_from_the_lock_and_runs_unprivileged():
    assert len(re.findall(r"^FROM ", DOCKERFILE, flags=re.M)) >= 2  # multi-stage
    assert "-slim" in DOCKERFILE
    assert "pip install --no-deps -r /tmp/requirements.lock" in DOCKERFILE
    assert "collectstatic" in DOCKERFILE
    users = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.M)
    assert users
    assert users[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in DOCKERFILE
    assert "/healthz" in DOCKERFILE
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, flags=re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies missing {path}"
    assert not re.search(r"^ENV .*(SECRET_KEY|ENCRYPTION_KEYS)", DOCKERFILE, flags=re.M)


def test_the_venv_and_the_image_have_the_command_line_client():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]

    assert scripts == {"onetime": "onetime.cli:main"}
    assert (Path(VENV_BIN) / "onetime").exists()  # make install's editable install
    # The image installs the project over /app, after the lock and the files it needs.
    install = DOCKERFILE.index(
        "RUN pip install --no-cache-dir --disable-pip-version-check --no-deps -e ."
    )
    assert DOCKERFILE.index("COPY manage.py pyproject.toml README.md ./") < install
    assert DOCKERFILE.index("COPY onetime ./onetime") < install < DOCKERFILE.index("USER ")


def test_the_build_time_collectstatic_command_runs(tmp_path):
    command = re.search(r"RUN (SECRET_KEY=.*?collectstatic[^\n\\]*)", DOCKERFILE, flags=re.S)
    assert command is not None
    assignments = dict(re.findall(r"(\w+)=(\S+)", command.group(1).split("python")[0]))
    env = service_env(DEBUG="0", **assignments)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/collect.sqlite3"

    result = run(manage("collectstatic", "--no-input", "--dry-run", "-v", "0"), env)

    assert result.returncode == 0, result.stderr


def test_the_production_settings_pass_the_deployment_checks():
    env = service_env(
        DEBUG="0",
        SECRET_KEY="x7Jq2-production-like-secret-key-with-enough-entropy-0123456789",
        ONETIME_BASE_URL="https://onetime.example.com",
        ALLOWED_HOSTS="onetime.example.com",
        SECURE_PROXY_SSL_HEADER="1",
    )

    result = run(manage("check", "--deploy", "--fail-level", "WARNING"), env)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def scratch_database():
    """A fresh, empty PostgreSQL database for the entrypoint to migrate."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    name = f"onetime_entrypoint_{uuid.uuid4().hex[:8]}"
    admin = dict(connection.settings_dict, NAME="postgres")
    with psycopg.connect(database_url(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield database_url(dict(connection.settings_dict, NAME=name))
    with psycopg.connect(database_url(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")
def test_the_entrypoint_migrates_then_serves_under_plain_sh(scratch_database, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = service_env(
        DATABASE_URL=scratch_database,
        PATH=f"{VENV_BIN}:/usr/bin:/bin",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )

    migrate = run(["sh", str(ENTRYPOINT), "migrate"], env)
    assert migrate.returncode == 0, migrate.stderr
    assert "Applying vault.0001_initial... OK" in migrate.stdout

    log = tmp_path / "web.log"
    web = start(["sh", str(ENTRYPOINT), "web"], env, log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/healthz", web)
        ready = http_get(f"{base}/readyz")
        secret_id = str(uuid.uuid4())
        missing = http_get(f"{base}/s/{secret_id}")
        health = http_get(f"{base}/healthz")
    finally:
        assert stop(web) == 0  # SIGTERM: a graceful shutdown
    assert ready.status == 200
    assert missing.status == 404
    assert health.status == 200
    output = log.read_text()
    assert output.count("Spawning worker") == 2  # WEB_CONCURRENCY
    assert f"/s/{secret_id[:8]}" in output  # the access log names the route…
    assert secret_id not in output  # …never the full id
    # Metrics files are named by host and process: containers sharing the directory all
    # have a PID 1 of their own.
    files = list(metrics_dir.glob("*.db"))
    assert files
    assert all(f"_{socket.gethostname()}_" in path.name for path in files)


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")
def test_a_container_starts_by_removing_the_metrics_files_its_earlier_run_left(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = service_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    # An earlier run of this container: files named by this host, as metrics.py names them.
    assert run([sys.executable, "-c", "import onetime.core.metrics"], env).returncode == 0
    earlier = {path.name for path in metrics_dir.iterdir()}
    assert earlier
    assert all(f"_{socket.gethostname()}_" in name for name in earlier)
    # Another container on the volume, which may be writing right now, and a stranger.
    others = {"counter_0a1b2c3d4e5f_1.db", "histogram_0a1b2c3d4e5f_7.db", "notes.txt"}
    for name in others:
        (metrics_dir / name).write_bytes(b"")

    started = run(["sh", str(ENTRYPOINT), "true"], env)

    assert started.returncode == 0, started.stderr
    assert {path.name for path in metrics_dir.iterdir()} == others


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_answer_probes_that_come_by_ip_address(client, settings, path):
    settings.ALLOWED_HOSTS = ["onetime.example.com"]

    probe = client.get(path, headers={"host": "10.0.0.7:8000"})
    page = client.get("/", headers={"host": "10.0.0.7:8000"})

    assert probe.status_code == 200
    assert page.status_code == 400  # everything else still checks the host


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False)])
def test_the_access_log_is_on_unless_turned_off(settings, value, expected):
    settings.WEB_ACCESS_LOG = value

    assert serve.server().log_access is expected
