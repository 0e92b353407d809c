"""
`make bench`: OneTime as production runs it, under load, next to the PostgreSQL floor and
the snappass peer. `make bench-servers` (`--servers`): the same OneTime under four HTTP
servers side by side, with hostile clients.

`make bench` (each load run is bounded by wrk's -d or pgbench's -T, the whole script by the
Makefile's `timeout`):

1. Drop and re-create the scratch database (--db, onetime_bench), migrate it, seed it.
2. Start OneTime exactly as production does, `python -m onetime.serve` (granian, WSGI in
   threads behind onetime/asgi.py), with production settings (DEBUG=0, keys generated for
   this run, the access log on) and WEB_CONCURRENCY=nproc, twice: with the production rate
   limits on (every ONETIME_RATE_* at a count so high that nothing is refused; a 429 counts
   as a bad answer) for the headline rows, and with them off for comparison.
3. Drive every scenario with wrk (Lua scripts in bench/lua) at each concurrency, several
   repetitions; the limits-off rows alternate with the limits-on ones, rep by rep.
   /healthz shows the generator's headroom.
4. The floor: the app's own SQL (bench/sql) with pgbench on the same server.
5. The peer: snappass 1.6.2 (own venv under .local/bench) with its own redis-server.
6. Codes at scale: issue time at 0 and 1 M active codes, cleanup of 1 M expired codes
   while /code is under load.

`--servers`: gunicorn sync and gthread (bench/gunicorn.conf.py), granian's WSGI interface
and production's server, all at once on their own ports, same app, settings and database;
see ServerBench.

Prints a table and writes bench-results/<timestamp>.json. Traffic goes to 127.0.0.1 only.
"""

# The bench runs its own tools (wrk, pgbench, psql, the servers) with arguments it builds,
# and SQL from its own constants: no outside input reaches a command line or a statement.
# ruff: noqa: S603, S607, S608

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import probes  # bench/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PEER_BIN = ROOT / ".local" / "bench" / "venv" / "bin"
LUA = ROOT / "bench" / "lua"
SQL = ROOT / "bench" / "sql"
RESULTS = ROOT / "bench-results"

# Telegram user ids of the different pools, far apart so that runs never share a user.
VERIFY_BASE = 7_000_000_000
WEBHOOK_BASE = 8_000_000_000
SCALE_BASE = 9_000_000_000

# Production's rate limits, at a count that a bench run cannot reach from one address: each
# create and reveal still pays the counter's upsert, and a refusal would show as a 429.
HIGH_RATE = "100000000/m"

# The secret every seeded or bench-created secret holds.
PLAINTEXT = "correct horse battery staple"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Every long-running process the bench starts, each in its own process group."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, cmd: list[str], *, env: dict[str, str], logfile: Path, cwd: Path = ROOT
    ) -> subprocess.Popen[bytes]:
        out = logfile.open("ab")
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Workers that outlived their server (the group is the one this bench started).
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)


class Postgres:
    def __init__(self, admin_url: str, db: str) -> None:
        parts = urlsplit(admin_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = str(parts.port or 5432)
        self.user = parts.username or "postgres"
        self.password = parts.password or ""
        self.admin_db = parts.path.lstrip("/") or "postgres"
        self.db = db

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def url(self, db: str) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{auth}@{self.host}:{self.port}/{db}"

    def args(self, db: str) -> list[str]:
        return ["-h", self.host, "-p", self.port, "-U", self.user, "-d", db]

    def sql(self, statement: str, db: str | None = None) -> str:
        out = subprocess.run(
            [
                *("psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"),
                *self.args(db or self.db),
                *("-c", statement),
            ],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return out.stdout.strip()

    def hold_lock(self, table: str, seconds: float) -> subprocess.Popen[bytes]:
        """Start a session that holds ``table`` in ACCESS EXCLUSIVE mode for ``seconds``."""
        statement = (
            f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; "
            f"SELECT pg_sleep({seconds:g}); COMMIT;"
        )
        proc = subprocess.Popen(
            ["psql", "-X", "-q", "-At", *self.args(self.db), "-c", statement],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            granted = self.sql(
                "SELECT count(*) FROM pg_locks WHERE relation = "
                f"'{table}'::regclass AND mode = 'AccessExclusiveLock' AND granted"
            )
            if granted == "1":
                return proc
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        raise RuntimeError(f"could not lock {table} within 15 s")


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Wait until ``url`` answers 200; return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() < started + timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server behind {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - 127.0.0.1
                if resp.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def cpu_snapshot() -> dict[str, Any]:
    """
    Return CPU seconds used so far by finished children and by each live process, grouped
    as this bench's process tree (the servers, redis, …), PostgreSQL's processes (which
    serve other users of the server too) and the rest.
    """
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        procs[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    ours = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, (_, ppid, _) in procs.items():
            if ppid in ours and pid not in ours:
                ours.add(pid)
                changed = True
    groups = {
        pid: ("bench" if pid in ours else "postgres" if comm.startswith("postgres") else "other")
        for pid, (comm, _, _) in procs.items()
    }
    return {
        "children": children_cpu(),
        "procs": {pid: (groups[pid], procs[pid][2]) for pid in procs},
    }


def foreign_cpu_pct(before: dict[str, Any], after: dict[str, Any], seconds: float) -> float:
    """
    Return the CPU % (of one core) that processes other than the bench's and PostgreSQL's
    used meanwhile. Counted per process that is alive at the end (a process that ended
    meanwhile is missed): subtracting the bench's share from the machine's busy time would
    count as foreign every worker recycled and every pgbench backend closed meanwhile.
    """
    used = 0.0
    for pid, (group, cpu) in after["procs"].items():
        if group == "other":
            used += cpu - before["procs"].get(pid, (group, 0.0))[1]
    return round(100 * max(0.0, used) / seconds)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker_memory(master: int) -> list[dict[str, float]]:
    """Return RSS, PSS and private (USS) memory in MB of each child of ``master``."""
    try:
        pids = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    rows = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", status + rollup, re.M))
        private = int(fields.get("Private_Clean", 0)) + int(fields.get("Private_Dirty", 0))
        rows.append(
            {
                "pid": int(pid),
                "rss_mb": round(int(fields["VmRSS"]) / 1024, 1),
                "pss_mb": round(int(fields.get("Pss", 0)) / 1024, 1),
                "uss_mb": round(private / 1024, 1),
            }
        )
    return rows


# Read from the app itself, so that the bench follows its settings: which rate-limit
# policies exist, and the logging production's server configures (onetime/serve.py).
_APP_CONFIG = """
import json, django
django.setup()
from django.conf import settings
from onetime.serve import ACCESS_LOG_FORMAT
limits = [
    name for name in dir(settings)
    if name.startswith("ONETIME_RATE_")
    and (getattr(settings, name) is None or isinstance(getattr(settings, name), tuple))
]
print(json.dumps({"rate_limits": limits, "logging": settings.LOGGING,
                  "access_log_format": ACCESS_LOG_FORMAT, "web_threads": settings.WEB_THREADS,
                  "web_header_timeout": settings.WEB_HEADER_TIMEOUT}))
"""


def app_config(env: dict[str, str]) -> dict[str, Any]:
    """Return what the bench reads from the app's settings under ``env`` (_APP_CONFIG)."""
    out = subprocess.run(
        [str(BIN / "python"), "-c", _APP_CONFIG],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    config: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return config


def app_env(pg: Postgres, db: str, workers: int) -> dict[str, str]:
    """
    Return OneTime's environment in a bench: production settings, keys and tokens for this
    run, every rate limit on at HIGH_RATE (``limits_off`` turns them off).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        # The bench decides these. WEB_THREADS, the WEB_* timeouts and
        # DATABASE_PREPARED_STATEMENTS pass through, to measure a lever (the header shows them).
        if not key.startswith("ONETIME_")
        and key
        not in {
            "DATABASE_CONN_MAX_AGE",
            "DATABASE_STATEMENT_TIMEOUT_MS",
            "LOG_LEVEL",
            "LOG_FORMAT",
            "HOST",
            "PORT",
            "WEB_ACCESS_LOG",
            "PROMETHEUS_MULTIPROC_DIR",
            "GUNICORN_CMD_ARGS",
        }
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ONETIME_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "DATABASE_URL": pg.url(db),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CODES_VERIFY_TOKEN": secrets.token_urlsafe(32),
            "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(32),
            "WEB_CONCURRENCY": str(workers),
            "DJANGO_SETTINGS_MODULE": "onetime.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    if pg.password:
        env["PGPASSWORD"] = pg.password
    for name in app_config(env)["rate_limits"]:
        env[name] = HIGH_RATE
    return env


def limits_off(env: dict[str, str]) -> dict[str, str]:
    """Return ``env`` with every rate limit off (what the bench measured before issue 11)."""
    return {key: "off" if key.startswith("ONETIME_RATE_") else value for key, value in env.items()}


def wrk_result(stdout: str, cpu: float = 0.0, before_load: float = 0.0) -> dict[str, Any]:
    """The summary line bench/lua/common.lua prints, with the generator's CPU and load."""
    line = next(x for x in stdout.splitlines() if x.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "ok": raw["ok"],
        "bad": raw["bad"],
        "limited": raw["limited"],
        "cycles": raw["cycles"],
        "exhausted": bool(raw["exhausted"]),
        "socket_errors": raw["err_connect"] + raw["err_read"] + raw["err_write"],
        "timeouts": raw["err_timeout"],
        "req_per_s": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["lat_p50_us"] / 1000, 2),
        "p90_ms": round(raw["lat_p90_us"] / 1000, 2),
        "p99_ms": round(raw["lat_p99_us"] / 1000, 2),
        "max_ms": round(raw["lat_max_us"] / 1000, 2),
        "generator_cpu_s": round(cpu, 2),
        "load1_before": before_load,
    }


@dataclass
class Server:
    """An HTTP server the bench started, and the line its log writes per worker start."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    boot_line: bytes
    workers: int
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def boots(self) -> int:
        return self.log.read_bytes().count(self.boot_line) if self.log.exists() else 0

    def restarts(self) -> int:
        """Return the worker starts beyond the initial ones: recycled, killed or crashed."""
        return max(0, self.boots() - self.workers)


# Variables that, set by the caller, change how OneTime serves (to measure a lever): passed
# through to the app and shown in the table's header.
LEVERS = ("WEB_THREADS", "WEB_HEADER_TIMEOUT", "WEB_BODY_TIMEOUT", "DATABASE_PREPARED_STATEMENTS")


class Bench:
    """`make bench`; the scratch database, servers and wrk runs also serve ServerBench."""

    default_db = "onetime_bench"

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cores = os.cpu_count() or 1
        self.procs = Processes()
        self.db: str = args.db or self.default_db
        self.pg = Postgres(args.admin_url, self.db)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.stamp = stamp
        self.workdir = RESULTS / stamp
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="onetime-bench-"))
        self.servers: list[Server] = []
        self.results: dict[str, Any] = {
            "started_at": stamp,
            "database": self.db,
            "runs": [],
            "levers": {name: os.environ[name] for name in LEVERS if os.environ.get(name)},
            "access_log": not args.no_access_log,
        }
        self.run_counter = 0
        self.app_env = app_env(self.pg, self.db, self.cores)

    # --- setup -----------------------------------------------------------------------------

    def machine(self) -> dict[str, Any]:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)

        def version(cmd: list[str]) -> str:
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            except OSError:
                return "missing"
            return (out.stdout or out.stderr).strip().splitlines()[0]

        return {
            "nproc": self.cores,
            "cpu": model.group(1) if model else "unknown",
            "ram_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
            "kernel": platform.release(),
            "python": platform.python_version(),
            "postgresql": self.pg.sql("SHOW server_version", self.pg.admin_db),
            "synchronous_commit": self.pg.sql("SHOW synchronous_commit", self.pg.admin_db),
            "wrk": version(["wrk", "-v"]),
            "pgbench": version(["pgbench", "--version"]),
            "redis": version(["redis-server", "--version"]),
            "granian": version([str(BIN / "granian"), "--version"]),
            "gunicorn": version([str(BIN / "gunicorn"), "--version"]),
        }

    def wait_quiet(self) -> None:
        """Wait (a bounded while) for the machine to be quiet: other runs skew the figures."""
        deadline = time.monotonic() + self.args.wait_quiet
        while True:
            snap = cpu_snapshot()
            time.sleep(5)
            others = foreign_cpu_pct(snap, cpu_snapshot(), 5)
            quiet = load1() < self.args.max_load and others < 30
            if quiet or time.monotonic() >= deadline:
                break
            log(f"load average {load1():.2f}, others use {others}% CPU: waiting for quiet")
            time.sleep(15)
        self.results["load1_at_start"] = load1()
        self.results["others_cpu_pct_at_start"] = others
        if not quiet:
            log(f"load {load1():.2f}, others {others}% CPU: measuring anyway (noisy figures)")

    def create_database(self) -> None:
        log(f"re-creating database {self.db}")
        self.pg.sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)', self.pg.admin_db)
        self.pg.sql(f'CREATE DATABASE "{self.db}"', self.pg.admin_db)
        # As the image and `make run` prepare the app: migrated, static files collected.
        for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
            subprocess.run(
                [str(BIN / "python"), "manage.py", *command, "-v", "0"],
                cwd=ROOT,
                env=self.app_env,
                check=True,
                timeout=300,
            )

    def seed_secrets(self, kind: str, count: int) -> list[str]:
        """Insert ``count`` active secrets holding PLAINTEXT; return their ids."""
        path = self.tmp / kind
        subprocess.run(
            [str(BIN / "python"), "bench/seed.py", "secrets", str(count), str(path)],
            cwd=ROOT,
            env=self.app_env,
            check=True,
            timeout=900,
        )
        return path.read_text().split()

    def start_server(
        self,
        name: str,
        cmd: list[str],
        *,
        env: dict[str, str],
        port: int,
        boot_line: bytes,
        cwd: Path = ROOT,
        health: str = "/healthz",
    ) -> Server:
        """Start a server in its own process group, log to workdir/<name>.log, wait for it."""
        logfile = self.workdir / f"{name}.log"
        proc = self.procs.start(cmd, env=env, logfile=logfile, cwd=cwd)
        server = Server(name, proc, port, logfile, boot_line, self.cores, env)
        self.servers.append(server)
        try:
            wait_http(f"http://127.0.0.1:{port}{health}", timeout=120, proc=proc)
        except RuntimeError:
            log(f"{name} did not start; the end of its log:\n{logfile.read_text()[-2000:]}")
            raise
        log(f"{name} up on 127.0.0.1:{port} (pid {proc.pid}, {self.cores} workers)")
        return server

    def stop_server(self, server: Server) -> None:
        self.procs.stop(server.proc)

    def onetime_env(self, name: str, port: int, *, limits: bool = True) -> dict[str, str]:
        """Return production's environment for `python -m onetime.serve` on 127.0.0.1:``port``."""
        metrics = self.tmp / f"metrics-{name}"
        metrics.mkdir()
        base = self.app_env if limits else limits_off(self.app_env)
        return {
            **base,
            # HOST defaults to 127.0.0.1 (the image sets 0.0.0.0); the bench stays on loopback.
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_ACCESS_LOG": "off" if self.args.no_access_log else "on",
            # As the image sets it: the workers' metrics in files they all share.
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }

    def start_onetime(self, name: str, *, limits: bool = True) -> Server:
        """Start OneTime exactly as production does: `python -m onetime.serve`."""
        port = free_port()
        return self.start_server(
            name,
            [str(BIN / "python"), "-m", "onetime.serve"],
            env=self.onetime_env(name, port, limits=limits),
            port=port,
            boot_line=b"Started worker",
        )

    # --- load runs -------------------------------------------------------------------------

    def wrk(
        self,
        script: str,
        *,
        port: int,
        conc: int,
        duration: float,
        env: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        threads = min(self.cores, conc)
        run_env = {
            **os.environ,
            "BENCH_LUA_DIR": str(LUA),
            "BENCH_THREADS": str(threads),
            **(env or {}),
        }
        cmd = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(conc),
            "-d",
            f"{duration:g}s",
            "--timeout",
            "5s",
            "-s",
            str(LUA / f"{script}.lua"),
            f"http://127.0.0.1:{port}",
        ]
        before_cpu, before_load = children_cpu(), load1()
        boots, snap = self._worker_boots(), cpu_snapshot()
        out = subprocess.run(
            cmd, env=run_env, capture_output=True, text=True, timeout=duration + 60, check=True
        )
        res = wrk_result(out.stdout, children_cpu() - before_cpu, before_load)
        res["worker_restarts"] = self._worker_boots() - boots
        res["foreign_cpu_pct"] = foreign_cpu_pct(snap, cpu_snapshot(), res["seconds"])
        return res

    def _worker_boots(self) -> int:
        """Count worker starts in the servers' logs (a worker recycled, timed out, crashed)."""
        return sum(server.boots() for server in self.servers)

    def record(self, system: str, scenario: str, conc: int, rep: int, res: dict[str, Any]) -> None:
        unit = "cycles" if scenario.endswith("cycle") else "ok"
        res["rate"] = round(res[unit] / res["seconds"], 1) if res["seconds"] else 0.0
        res.update(system=system, scenario=scenario, conc=conc, rep=rep)
        self.results["runs"].append(res)
        flags = []
        if res.get("bad"):
            flags.append(f"{res['bad']} unexpected answers")
        if res.get("limited"):
            flags.append(f"{res['limited']} refused by a rate limit (429)")
        if res.get("exhausted"):
            flags.append("POOL EXHAUSTED")
        if res.get("worker_restarts"):
            flags.append(f"{res['worker_restarts']} worker restart(s)")
        if res.get("socket_errors") or res.get("timeouts"):
            flags.append(f"{res['socket_errors']} socket errors, {res['timeouts']} timeouts")
        width = max([9, *(len(server.name) for server in self.servers)])
        log(
            f"{system:{width}} {scenario:12} c={conc:<3} rep {rep}: {res['rate']:8.1f}/s  "
            f"p50 {res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:7.2f} ms  "
            f"load {res.get('load1_before', 0):.2f}  others {res.get('foreign_cpu_pct', 0)}% CPU  "
            f"{'; '.join(flags)}"
        )

    def run_scenario(self, server: Server, scenario: str, conc: int, run: int) -> dict[str, Any]:
        """
        Run ``scenario`` once against ``server``; ``run`` numbers the scenario's runs so
        that each takes its own slice of a pool (ids to reveal, users, codes).
        """
        pool = self.args.pool
        env: dict[str, str] = {}
        if scenario == "reveal":
            ids_file = self.tmp / f"reveal-{run}"
            ids_file.write_text("\n".join(self.reveal_ids[run * pool : (run + 1) * pool]))
            env["BENCH_IDS"] = str(ids_file)
        elif scenario == "page":
            env["BENCH_IDS"] = str(self.tmp / "page")
        elif scenario == "code":
            env["BENCH_BASE"] = str(WEBHOOK_BASE + run * 10**7)
            env["BENCH_WEBHOOK_SECRET"] = self.app_env["TELEGRAM_WEBHOOK_SECRET"]
        elif scenario == "verify":
            env["BENCH_BASE"] = str(VERIFY_BASE + run * pool)
            env["BENCH_CODE_OFFSET"] = str(run * pool)
            env["BENCH_COUNT"] = str(pool)
            env["BENCH_VERIFY_TOKEN"] = self.app_env["CODES_VERIFY_TOKEN"]
        return self.wrk(scenario, port=server.port, conc=conc, duration=self.args.duration, env=env)

    def close(self) -> None:
        self.procs.stop_all()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if not self.args.keep_db:
            try:
                self.pg.sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)', self.pg.admin_db)
            except (subprocess.SubprocessError, OSError) as exc:
                log(f"could not drop {self.db}: {exc}")

    def write_results(self) -> Path:
        path = RESULTS / f"{self.stamp}.json"
        path.write_text(json.dumps(self.results, indent=2, ensure_ascii=False))
        return path

    # --- make bench ------------------------------------------------------------------------

    def off_cells(self) -> list[tuple[str, int]]:
        """The (scenario, concurrency) cells that also run with the rate limits off."""
        return [
            (scenario, conc)
            for scenario in self.args.scenarios
            if scenario in self.args.limits_off_scenarios
            for conc in self.args.conc
            if conc in self.args.limits_off_conc
        ]

    def runs_of(self, scenario: str) -> int:
        """How many wrk runs ``scenario`` gets, with and without the limits."""
        off = sum(1 for cell in self.off_cells() if cell[0] == scenario)
        reps: int = self.args.reps
        return (len(self.args.conc) + off) * reps

    def seed(self) -> None:
        pool = self.args.pool
        reveal_runs = self.runs_of("reveal")
        log(f"seeding {reveal_runs} x {pool} secrets to reveal, 2,000 for the page, codes")
        self.reveal_ids = self.seed_secrets("reveal", reveal_runs * pool)
        self.seed_secrets("page", 2000)
        # Verification pool: user VERIFY_BASE + k holds code 1000000 + k, valid for hours.
        total = self.runs_of("verify") * pool
        self.pg.sql(
            f"""
            INSERT INTO telegram_accounts
                (telegram_user_id, username, first_name, failed_attempts, updated_at)
            SELECT {VERIFY_BASE} + k, NULL, 'Bench', 0, now()
            FROM generate_series(0, {total - 1}) k;
            INSERT INTO user_codes (code, telegram_user_id, expires_at, created_at)
            SELECT (1000000 + k)::text, {VERIFY_BASE} + k, now() + interval '6 hours', now()
            FROM generate_series(0, {total - 1}) k;
            """
        )
        self.pg.sql("VACUUM ANALYZE")

    def onetime_scenarios(self, onetime: Server, no_limits: Server | None) -> None:
        d = self.args.duration
        # Warm every route once (imports, templates, connections); not recorded.
        for server in (onetime, no_limits):
            if server is None:
                continue
            for script, extra in (
                ("create", {}),
                ("page", {"BENCH_IDS": str(self.tmp / "page")}),
                (
                    "code",
                    {
                        "BENCH_BASE": str(WEBHOOK_BASE + (9 if server is onetime else 8) * 10**8),
                        "BENCH_WEBHOOK_SECRET": self.app_env["TELEGRAM_WEBHOOK_SECRET"],
                    },
                ),
                ("healthz", {}),
            ):
                self.wrk(script, port=server.port, conc=8, duration=1, env=extra)
        for conc in self.args.conc:
            for rep in range(1, self.args.reps + 1):
                res = self.wrk("healthz", port=onetime.port, conc=conc, duration=d)
                self.record("onetime", "healthz", conc, rep, res)
        off_cells = self.off_cells() if no_limits else []
        for scenario in self.args.scenarios:
            run = 0  # index of the run within the scenario: picks its own slice of a pool
            for conc in self.args.conc:
                for rep in range(1, self.args.reps + 1):
                    pair: list[tuple[str, Server]] = [("onetime", onetime)]
                    if no_limits and (scenario, conc) in off_cells:
                        # A/B, the order swapped every rep, so that drift hits both alike.
                        pair.append(("no-limits", no_limits))
                        if rep % 2 == 0:
                            pair.reverse()
                    for system, server in pair:
                        res = self.run_scenario(server, scenario, conc, run)
                        self.record(system, scenario, conc, rep, res)
                        run += 1

    # --- the floor -------------------------------------------------------------------------

    def pgbench(self, script: str, *, conc: int, duration: float, base: int) -> dict[str, Any]:
        logdir = self.tmp / f"pgbench-{self.run_counter}"
        self.run_counter += 1
        logdir.mkdir()
        cmd = [
            "pgbench",
            "-n",
            "-M",
            # Like the app: psycopg binds server-side and prepares what a connection repeats
            # (settings: server_side_binding, DATABASE_PREPARED_STATEMENTS).
            "prepared",
            "-c",
            str(conc),
            "-j",
            str(min(self.cores, conc)),
            "-T",
            str(int(duration)),
            "-D",
            "k=0",
            "-D",
            f"base={base}",
            "-D",
            f"nclients={conc}",
            "-f",
            str(SQL / f"{script}.sql"),
            "-l",
            f"--log-prefix={logdir}/tx",
            *self.pg.args(self.db)[:-2],
            self.db,
        ]
        before_cpu, before_load, snap = children_cpu(), load1(), cpu_snapshot()
        out = subprocess.run(
            cmd, env=self.pg.env, capture_output=True, text=True, timeout=duration + 60
        )
        cpu = children_cpu() - before_cpu
        foreign = foreign_cpu_pct(snap, cpu_snapshot(), duration)
        tps = re.search(r"tps = ([\d.]+) \(without initial", out.stdout)
        done = re.search(r"actually processed: (\d+)", out.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
        latencies: list[int] = []
        per_client: dict[str, int] = {}
        for path in logdir.iterdir():
            for line in path.read_text().splitlines():
                fields = line.split()
                latencies.append(int(fields[2]))
                per_client[fields[0]] = per_client.get(fields[0], 0) + 1
        shutil.rmtree(logdir)
        latencies.sort()

        def pct(p: float) -> float:
            if not latencies:
                return 0.0
            return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] / 1000, 2)

        aborted = "aborted" in out.stderr or out.returncode != 0
        if aborted:
            log(f"pgbench {script}: {out.stderr.strip()[-500:]}")
        processed = int(done.group(1)) if done else 0
        rate = float(tps.group(1)) if tps else 0.0
        return {
            "requests": processed,
            "seconds": float(duration),
            "ok": processed,
            "bad": int(failed.group(1)) if failed else 0,
            "cycles": processed,
            "aborted": aborted,
            "max_per_client": max(per_client.values(), default=0),
            "tps": rate,
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": pct(1.0),
            "generator_cpu_s": round(cpu, 2),
            "load1_before": before_load,
            "foreign_cpu_pct": foreign,
        }

    def floor(self) -> None:
        d = self.args.duration
        base = 0
        pool = 0
        for scenario, script in (
            ("create", "floor_insert"),
            ("reveal", "floor_claim"),
            ("cycle", "floor_cycle"),
        ):
            for conc in self.args.conc:
                for rep in range(1, self.args.reps + 1):
                    base += 10**8
                    if script == "floor_claim":
                        # Pool for this run: 3x what the insert floor did at this concurrency.
                        inserts = [
                            r["tps"]
                            for r in self.results["runs"]
                            if r["system"] == "floor" and r["scenario"] == "create"
                        ]
                        pool = max(30_000, int(3 * max(inserts, default=10_000) * d))
                        self.pg.sql(
                            f"""
                            INSERT INTO secrets (id, state, ciphertext, passphrase_required,
                                failed_attempts, receipt_hash, created_at, expires_at)
                            SELECT md5(g::text)::uuid, 'active', decode(repeat('ab', 62), 'hex'),
                                false, 0, md5(g::text || 'a') || md5(g::text || 'b'), now(),
                                now() + interval '1 hour'
                            FROM generate_series({base}, {base + pool + 2 * conc}) g;
                            """
                        )
                        self.pg.sql("VACUUM ANALYZE secrets")
                    res = self.pgbench(script, conc=conc, duration=d, base=base)
                    res["exhausted"] = (
                        script == "floor_claim" and (res["max_per_client"] + 1) * conc > pool
                    )
                    self.record("floor", scenario, conc, rep, res)

    # --- the peer --------------------------------------------------------------------------

    def peer(self) -> None:
        redis_port, port = free_port(), free_port()
        env = {
            **os.environ,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(redis_port),
            "NO_SSL": "true",
            "SECRET_KEY": secrets.token_urlsafe(32),
        }
        # A caller's gunicorn options are not the peer's.
        env.pop("GUNICORN_CMD_ARGS", None)
        redis = self.procs.start(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            env=env,
            logfile=self.workdir / "redis.log",
        )
        snappass = self.start_server(
            "snappass",
            [
                str(PEER_BIN / "gunicorn"),
                "--workers",
                str(self.cores),
                "--bind",
                f"127.0.0.1:{port}",
                # gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default:
                # one of its own, so that another gunicorn on this machine keeps its socket.
                "--control-socket",
                str(self.tmp / "snappass.ctl"),
                "snappass.main:app",
            ],
            env=env,
            port=port,
            boot_line=b"Booting worker",
            # Not the project's directory: defaults only, no gunicorn.conf.py of anyone's.
            cwd=self.tmp,
            health="/",
        )
        self.wrk("snappass_cycle", port=port, conc=8, duration=1)
        for conc in self.args.conc:
            for rep in range(1, self.args.reps + 1):
                res = self.wrk("snappass_cycle", port=port, conc=conc, duration=self.args.duration)
                self.record("snappass", "cycle", conc, rep, res)
        self.results["rss_snappass"] = worker_memory(snappass.proc.pid)
        self.stop_server(snappass)
        self.procs.stop(redis)

    # --- codes at scale --------------------------------------------------------------------

    def codes_at_scale(self, onetime: Server) -> None:
        d = self.args.duration
        secret = self.app_env["TELEGRAM_WEBHOOK_SECRET"]
        scale: dict[str, Any] = {}
        run = 0

        def issue(label: str) -> None:
            nonlocal run
            for conc in (1, 8):
                run += 1
                env = {"BENCH_BASE": str(SCALE_BASE + run * 10**7), "BENCH_WEBHOOK_SECRET": secret}
                res = self.wrk("code", port=onetime.port, conc=conc, duration=d, env=env)
                self.record("onetime", f"code@{label}", conc, 1, res)
                scale[f"{label}_c{conc}"] = res

        log("codes at scale: 0 active codes")
        self.pg.sql("TRUNCATE user_codes")
        self.pg.sql("VACUUM ANALYZE user_codes")
        issue("0")
        for count in self.args.scale:
            label = f"{count / 1e6:g}M"
            log(f"codes at scale: inserting {count:,} active codes")
            self._insert_codes(count, "now() + interval '6 hours'")
            issue(label)
        count = self.args.cleanup_codes
        log(f"cleanup: inserting {count:,} expired codes, then cleanup under /code load")
        self._insert_codes(count, "now() - interval '1 minute'")
        run += 1
        env = {
            **os.environ,
            "BENCH_LUA_DIR": str(LUA),
            "BENCH_THREADS": str(min(self.cores, 8)),
            "BENCH_BASE": str(SCALE_BASE + run * 10**7),
            "BENCH_WEBHOOK_SECRET": secret,
        }
        before_cpu, before_load = children_cpu(), load1()
        load = subprocess.Popen(
            [
                "wrk",
                "-t",
                str(min(self.cores, 8)),
                "-c",
                "8",
                "-d",
                "300s",
                "--timeout",
                "5s",
                "-s",
                str(LUA / "code.lua"),
                f"http://127.0.0.1:{onetime.port}",
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(2)
            started = time.monotonic()
            cleanup_cpu = children_cpu()
            cleanup = subprocess.run(
                [str(BIN / "python"), "manage.py", "cleanup"],
                cwd=ROOT,
                env=self.app_env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            elapsed = time.monotonic() - started
            cleanup_cpu = children_cpu() - cleanup_cpu
        finally:
            load.send_signal(signal.SIGINT)
            stdout, _ = load.communicate(timeout=60)
        res = wrk_result(stdout, children_cpu() - before_cpu - cleanup_cpu, before_load)
        self.record("onetime", "code@cleanup", 8, 1, res)
        scale["cleanup"] = {
            "expired_codes": count,
            "seconds": round(elapsed, 2),
            "output": cleanup.stdout.strip()[-300:],
            "code_under_cleanup": res,
        }
        log(f"cleanup of {count:,} expired codes: {elapsed:.1f} s; {cleanup.stdout.strip()}")
        self.results["codes_at_scale"] = scale
        self.results["rss_onetime_after_scale"] = worker_memory(onetime.proc.pid)

    def _insert_codes(self, count: int, expires: str) -> None:
        # Distinct 7-digit codes: k -> 1000000 + (k * 7919) mod 9000000 is a bijection
        # on 0..8999999 (7919 is prime and does not divide 9000000).
        self.pg.sql(
            f"""
            TRUNCATE user_codes;
            INSERT INTO user_codes (code, telegram_user_id, expires_at, created_at)
            SELECT (1000000 + (k::bigint * 7919) % 9000000)::text, {SCALE_BASE} + 5 * 10^8 + k,
                   {expires}, now()
            FROM generate_series(0, {count - 1}) k;
            """
        )
        self.pg.sql("VACUUM ANALYZE user_codes")

    # --- profile ---------------------------------------------------------------------------

    def profile(self, onetime: Server) -> None:
        out = self.workdir / "profile-cycle.txt"
        seconds = max(10, int(self.args.duration * 2))
        log(f"profiling the create+reveal cycle at c=8 with py-spy for {seconds} s")
        spy = subprocess.Popen(
            [
                str(PEER_BIN / "py-spy"),
                "record",
                "--pid",
                str(onetime.proc.pid),
                # The server's main process serves nothing: its worker processes do.
                "--subprocesses",
                "--idle",
                "--rate",
                "250",
                "--format",
                "raw",
                "--duration",
                str(seconds),
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1)
        self.wrk("cycle", port=onetime.port, conc=8, duration=seconds - 2)
        _, err = spy.communicate(timeout=seconds + 60)
        if not out.exists():
            log(f"py-spy failed: {err.strip()[-300:]}")
            return
        from profile_summary import summarize  # bench/ is the script's directory

        summary = summarize(out)
        self.results["profile"] = summary
        (self.workdir / "profile-summary.txt").write_text(summary["text"])
        print(summary["text"])

    # --- report ----------------------------------------------------------------------------

    def summarize(self) -> None:
        groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for r in self.results["runs"]:
            groups.setdefault((r["system"], r["scenario"], r["conc"]), []).append(r)
        table = []
        for (system, scenario, conc), runs in groups.items():
            rates = [r["rate"] for r in runs]
            table.append(
                {
                    "system": system,
                    "scenario": scenario,
                    "conc": conc,
                    "reps": len(runs),
                    "median": round(statistics.median(rates), 1),
                    "min": min(rates),
                    "max": max(rates),
                    "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
                    "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
                    "generator_cpu_pct": round(
                        100
                        * sum(r["generator_cpu_s"] for r in runs)
                        / sum(r["seconds"] for r in runs)
                    ),
                    "load1": round(statistics.median(r["load1_before"] for r in runs), 2),
                    "foreign_cpu_pct": max(r.get("foreign_cpu_pct", 0) for r in runs),
                    "warnings": sorted(
                        {
                            w
                            for r in runs
                            for w in (["pool exhausted"] if r.get("exhausted") else [])
                            + (["unexpected answers"] if r.get("bad") else [])
                            + (["429 (rate limit)"] if r.get("limited") else [])
                            + (["socket errors"] if r.get("socket_errors") else [])
                            + (["timeouts"] if r.get("timeouts") else [])
                            + (["worker restarts"] if r.get("worker_restarts") else [])
                        }
                    ),
                }
            )
        self.results["table"] = table
        medians = {(t["system"], t["scenario"], t["conc"]): t["median"] for t in table}

        def ratio(a: float | None, b: float | None, digits: int) -> float | None:
            return round(a / b, digits) if a and b else None

        ratios = []
        for conc in self.args.conc:
            for scenario in ("create", "reveal", "cycle"):
                one = medians.get(("onetime", scenario, conc))
                floor = medians.get(("floor", scenario, conc))
                peer = medians.get(("snappass", scenario, conc))
                off = medians.get(("no-limits", scenario, conc))
                ratios.append(
                    {
                        "scenario": scenario,
                        "conc": conc,
                        "onetime": one,
                        "floor": floor,
                        "onetime_over_floor": ratio(one, floor, 3),
                        "snappass": peer,
                        "onetime_over_snappass": ratio(one, peer, 2),
                        "no_limits": off,
                        "no_limits_over_snappass": ratio(off, peer, 2),
                        "limits_on_over_off": ratio(one, off, 2),
                    }
                )
        self.results["ratios"] = ratios
        # Issue 11's waypoint: create+reveal cycles at c=32, production limits on, against
        # snappass in the same run.
        conc = 32 if 32 in self.args.conc else max(self.args.conc)
        cycle = next(r for r in ratios if r["scenario"] == "cycle" and r["conc"] == conc)
        self.results["waypoint"] = {
            "scenario": "cycle",
            "conc": conc,
            "onetime_over_snappass": cycle["onetime_over_snappass"],
            "target": 0.45,
        }
        self.results["worker_restarts"] = {s.name: s.restarts() for s in self.servers}

    def print_table(self) -> None:
        m = self.results["machine"]
        levers = ", ".join(f"{k}={v}" for k, v in self.results["levers"].items())
        print()
        print(
            f"OneTime bench {self.stamp}: {m['nproc']} x {m['cpu']}, {m['ram_gb']} GB, "
            f"PostgreSQL {m['postgresql']}, {m['granian']}, {self.args.reps} x "
            f"{self.args.duration:g} s per cell, load average at start "
            f"{self.results['load1_at_start']:.2f}, others' CPU at start "
            f"{self.results['others_cpu_pct_at_start']}%"
            + ("" if self.results["access_log"] else ", OneTime without its access log")
            + (f", {levers}" if levers else "")
        )
        print(
            "onetime: python -m onetime.serve, production settings, rate limits on "
            f"({HIGH_RATE}: nothing refused); no-limits: the same with ONETIME_RATE_*=off"
        )
        print()
        header = (
            f"{'system':9} {'scenario':13} {'c':>3} {'median/s':>9} {'min-max':>15} "
            f"{'p50 ms':>7} {'p99 ms':>8} {'gen CPU':>7} {'others':>6}  notes"
        )
        print(header)
        print("-" * len(header))
        for t in self.results["table"]:
            unit = " cyc" if t["scenario"].endswith("cycle") else ""
            print(
                f"{t['system']:9} {t['scenario'] + unit:13} {t['conc']:>3} {t['median']:>9.1f} "
                f"{t['min']:>7.0f}-{t['max']:<7.0f} {t['p50_ms']:>7.2f} {t['p99_ms']:>8.2f} "
                f"{t['generator_cpu_pct']:>6}% {t['foreign_cpu_pct']:>5}%  "
                f"{', '.join(t['warnings'])}"
            )
        print(
            "rates: successful answers/s (cyc: completed create+reveal cycles/s); latency per "
            "request; gen CPU: the load generator's CPU, % of one core; others: CPU used by "
            "neither the bench nor PostgreSQL, % of one core (worst run)"
        )
        print()

        def fmt(v: Any, spec: str) -> str:
            """Format ``v`` by ``spec`` (e.g. '>9.1f'), or a dash as wide for a missing value."""
            if v is not None:
                return format(v, spec)
            width = re.match(r">(\d*)", spec)
            return format("-", f">{width[1] if width else ''}")

        print(
            f"{'limits on (headline)':22} {'c':>3} {'OneTime':>9} {'floor':>9} {'OT/floor':>9} "
            f"{'snappass':>9} {'OT/snappass':>11} {'no-limits':>10} {'off/snappass':>12} "
            f"{'on/off':>7}"
        )
        for r in self.results["ratios"]:
            print(
                f"{r['scenario']:22} {r['conc']:>3} {fmt(r['onetime'], '>9.1f')} "
                f"{fmt(r['floor'], '>9.1f')} {fmt(r['onetime_over_floor'], '>9.3f')} "
                f"{fmt(r['snappass'], '>9.1f')} {fmt(r['onetime_over_snappass'], '>11.2f')} "
                f"{fmt(r['no_limits'], '>10.1f')} {fmt(r['no_limits_over_snappass'], '>12.2f')} "
                f"{fmt(r['limits_on_over_off'], '>7.2f')}"
            )
        w = self.results["waypoint"]
        got = w["onetime_over_snappass"]
        verdict = "no snappass figure" if got is None else "met" if got >= w["target"] else "missed"
        print(
            f"\nWAYPOINT (issue 11): create+reveal cycles at c={w['conc']}, rate limits on: "
            f"{fmt(got, '.2f')}x snappass (target >= {w['target']:.2f}x): {verdict}"
        )
        restarts = {k: v for k, v in self.results["worker_restarts"].items() if v}
        if restarts:
            print(f"worker restarts (server logs): {restarts}")
        for key, label in (
            ("rss_onetime", "OneTime workers after the scenarios"),
            ("rss_no_limits", "no-limits workers after the scenarios"),
            ("rss_onetime_after_scale", "OneTime workers at the end"),
            ("rss_snappass", "snappass workers"),
        ):
            rows = self.results.get(key)
            if rows:
                cells = ", ".join(
                    f"{r['rss_mb']:.0f} MB RSS ({r['uss_mb']:.0f} private)" for r in rows
                )
                print(f"{label}: {cells}")
        scale = self.results.get("codes_at_scale")
        if scale:
            print()
            for key, res in scale.items():
                if key == "cleanup":
                    continue
                print(
                    f"code issue at {key:9}: {res['rate']:7.1f}/s  p50 {res['p50_ms']:.2f} ms  "
                    f"p99 {res['p99_ms']:.2f} ms"
                )
            c = scale["cleanup"]
            under = c["code_under_cleanup"]
            print(
                f"cleanup of {c['expired_codes']:,} expired codes: {c['seconds']:.1f} s; "
                f"/code meanwhile (c=8): {under['rate']:.1f}/s, p99 {under['p99_ms']:.2f} ms, "
                f"max {under['max_ms']:.2f} ms"
            )

    # --- main ------------------------------------------------------------------------------

    def main(self) -> None:
        self.results["machine"] = self.machine()
        self.results["settings"] = {
            "duration_s": self.args.duration,
            "reps": self.args.reps,
            "concurrency": self.args.conc,
            "workers": self.cores,
            "access_log": not self.args.no_access_log,
            "pool": self.args.pool,
            "rate_limits": HIGH_RATE,
            "limits_off_cells": self.off_cells(),
        }
        self.wait_quiet()
        self.create_database()
        self.seed()
        onetime = self.start_onetime("onetime")
        no_limits = self.start_onetime("no-limits", limits=False) if self.off_cells() else None
        self.onetime_scenarios(onetime, no_limits)
        self.results["rss_onetime"] = worker_memory(onetime.proc.pid)
        if no_limits:
            self.results["rss_no_limits"] = worker_memory(no_limits.proc.pid)
            # Its idle connections and workers would only weigh on what follows.
            self.stop_server(no_limits)
        if not self.args.no_profile:
            self.profile(onetime)
        if not self.args.no_floor:
            self.floor()
        if not self.args.no_peer:
            self.peer()
        if not self.args.no_scale:
            self.codes_at_scale(onetime)
        self.results["load1_at_end"] = load1()
        self.summarize()
        path = self.write_results()
        self.print_table()
        print(f"\nJSON: {path.relative_to(ROOT)}; logs: {self.workdir.relative_to(ROOT)}/")


class ServerBench(Bench):
    """
    `make bench-servers`: which HTTP server OneTime should run in, measured side by side.

    Four servers run at once, each on its own port, with the same app, production settings
    (rate limits on at HIGH_RATE, the access log on), the same database and WEB_CONCURRENCY
    workers each; one is measured at a time. Per server: (a) /healthz and cycles while 50
    idle and 50 slow-body connections are held open, (b) cycles/s and p99 at c=32 (reps
    rotating across the servers), (c) RSS per worker, (d) full secret ids in its whole log
    after 404s, 410s and clients that hang up mid-request, (e) a reveal stuck behind a table
    lock, and a body that never arrives, (f) SIGTERM with a request in flight.
    """

    default_db = "onetime_bench_servers"
    names = ("gunicorn-sync", "gunicorn-gthread", "granian-wsgi", "production")
    held_idle = 50
    held_slow = 50
    # Per server: the slow bodies of (a), 4 for (d), 2 for (e), 1 for (f).
    per_server_ids = held_slow + 7

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.results["mode"] = "servers"
        self.probe_ids: set[str] = set()
        self.rows: dict[str, dict[str, Any]] = {name: {} for name in self.names}

    def start_all(self) -> dict[str, Server]:
        config = app_config(self.app_env)
        threads = str(config["web_threads"])
        logging_file = self.tmp / "logging.json"
        logging_file.write_text(json.dumps(config["logging"]))
        access = "off" if self.args.no_access_log else "on"
        servers: dict[str, Server] = {}
        for name in self.names:
            port = free_port()
            env = {**self.onetime_env(name, port), "GUNICORN_ACCESS_LOG": access}
            gunicorn = [
                str(BIN / "gunicorn"),
                *("--config", str(ROOT / "bench" / "gunicorn.conf.py")),
                *("--bind", f"127.0.0.1:{port}"),
                # gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default:
                # one of its own, so that another gunicorn on this machine keeps its socket.
                *("--control-socket", str(self.tmp / f"{name}.ctl")),
            ]
            boot_line = b"Booting worker"
            if name == "gunicorn-sync":
                cmd = [*gunicorn, "onetime.wsgi"]
            elif name == "gunicorn-gthread":
                cmd = [*gunicorn, "--worker-class", "gthread", "--threads", threads, "onetime.wsgi"]
            elif name == "granian-wsgi":
                # Production's server options (onetime/serve.py) on granian's WSGI interface:
                # the difference measured is the interface, not the configuration.
                cmd = [
                    str(BIN / "granian"),
                    *("--interface", "wsgi", "--http", "1"),
                    *("--workers", str(self.cores), "--blocking-threads", threads),
                    *("--host", "127.0.0.1", "--port", str(port)),
                    *("--http1-header-read-timeout", str(config["web_header_timeout"] * 1000)),
                    *("--log-config", str(logging_file)),
                    *(["--access-log"] if access == "on" else ["--no-access-log"]),
                    *("--access-log-fmt", config["access_log_format"]),
                    *("--respawn-failed-workers", "--workers-kill-timeout", "30"),
                    "onetime.wsgi:application",
                ]
                boot_line = b"Started worker"
            else:
                cmd = [str(BIN / "python"), "-m", "onetime.serve"]
                boot_line = b"Started worker"
            servers[name] = self.start_server(name, cmd, env=env, port=port, boot_line=boot_line)
        return servers

    # --- (a) held connections --------------------------------------------------------------

    def held(self, server: Server, ids: list[str]) -> None:
        """Measure /healthz and c=8 cycles while idle and slow-body connections are held open."""
        d = self.args.held_duration
        free = self.wrk("cycle", port=server.port, conc=8, duration=d)
        slow_paths = [f"/api/v1/secrets/{i}/reveal" for i in ids]
        answers: list[probes.Answer] = []
        held_run: dict[str, Any] = {}

        def load() -> None:
            held_run.update(self.wrk("cycle", port=server.port, conc=8, duration=d))

        with probes.held_connections(
            server.port, idle=self.held_idle, slow_paths=slow_paths
        ) as opened:
            time.sleep(1)  # the server accepts them (or queues them)
            wrk = threading.Thread(target=load, daemon=True)
            wrk.start()
            started = time.monotonic()
            while (len(answers) < 3 or wrk.is_alive()) and time.monotonic() < started + d + 20:
                answers.append(probes.request(server.port, "GET", "/healthz", timeout=5))
                time.sleep(0.5)
            wrk.join(timeout=d + 70)
        try:
            recovered: float | None = round(
                wait_http(f"http://127.0.0.1:{server.port}/healthz", timeout=60), 1
            )
        except RuntimeError:
            recovered = None
        failed = [a for a in answers if a.status != 200]
        row = {
            "held_open": opened,
            "healthz_probes": len(answers),
            "healthz_failed": len(failed),
            "healthz_max_ms": round(1000 * max(a.seconds for a in answers)),
            "healthz_errors": sorted({a.text for a in failed}),
            "cycles_free": free["cycles"],
            "cycles_held": held_run.get("cycles", 0),
            "held_run": held_run,
            "recovered_s": recovered,
        }
        self.rows[server.name]["held"] = row
        healthz = (
            f"{len(failed)} of {len(answers)} /healthz failed ({', '.join(row['healthz_errors'])})"
            if failed
            else f"/healthz max {row['healthz_max_ms']} ms over {len(answers)} probes"
        )
        log(
            f"{server.name}: {opened} connections held: {healthz}; cycles "
            f"{row['cycles_held']} against {row['cycles_free']} without them"
        )

    # --- (d) ids in logs -------------------------------------------------------------------

    def leak_probes(self, server: Server, ids: list[str]) -> None:
        """Send 404s and 410s on secret routes, and hang up mid-request."""
        unknown = [str(uuid.uuid4()) for _ in range(2)]
        self.probe_ids.update(unknown)
        port, revealed, reset, closed, mid_answer = server.port, *ids
        reveal = b"{}"
        statuses = {}
        for label, method, path, body in (
            ("page 404", "GET", f"/s/{unknown[0]}", None),
            ("reveal 404", "POST", f"/api/v1/secrets/{unknown[0]}/reveal", reveal),
            ("metadata 404", "GET", f"/api/v1/secrets/{unknown[1]}", None),
            ("reveal 200", "POST", f"/api/v1/secrets/{revealed}/reveal", reveal),
            ("reveal 410", "POST", f"/api/v1/secrets/{revealed}/reveal", reveal),
            ("page 410", "GET", f"/s/{revealed}", None),
            ("metadata 410", "GET", f"/api/v1/secrets/{revealed}", None),
        ):
            statuses[label] = probes.request(port, method, path, body=body, timeout=10).status
        probes.hang_up_mid_body(port, f"/api/v1/secrets/{reset}/reveal", reset=True)
        probes.hang_up_mid_body(port, f"/api/v1/secrets/{closed}/reveal", reset=False)
        probes.hang_up_before_answer(port, f"/api/v1/secrets/{mid_answer}/reveal")
        self.rows[server.name]["probe_statuses"] = statuses

    def count_leaks(self) -> None:
        """Count the full ids of this run's secrets in each server's whole log."""
        for server in self.servers:
            found = probes.full_ids(server.log.read_text(errors="replace"))
            known = found & self.probe_ids
            rest = sorted(found - known)
            if rest:
                listed = ",".join(f"'{i}'" for i in rest)
                known |= set(self.pg.sql(f"SELECT id FROM secrets WHERE id IN ({listed})").split())
            self.rows[server.name]["leaked_ids"] = len(known)
            self.rows[server.name]["full_uuids_in_log"] = len(found)

    # --- (e) a stuck request, (f) SIGTERM --------------------------------------------------

    def reveal_all(
        self, servers: dict[str, Server], ids: dict[str, str], timeout: float
    ) -> tuple[dict[str, probes.Answer], list[threading.Thread]]:
        """Send a reveal to every server at once; return the answers (filled in as they come)."""
        answers: dict[str, probes.Answer] = {}

        def send(name: str) -> None:
            answers[name] = probes.request(
                servers[name].port,
                "POST",
                f"/api/v1/secrets/{ids[name]}/reveal",
                body=b"{}",
                timeout=timeout,
            )

        threads = [threading.Thread(target=send, args=(name,), daemon=True) for name in servers]
        for thread in threads:
            thread.start()
        return answers, threads

    def stuck(
        self, servers: dict[str, Server], locked: dict[str, str], slow: dict[str, str]
    ) -> None:
        """
        Send a reveal while another session holds the table locked (the statement timeout
        should end it), and meanwhile a reveal whose body never arrives (a request or body
        timeout should end it, where the server has one).
        """
        seconds, wait = self.args.lock_seconds, self.args.slow_body_seconds
        log(
            f"(e) a reveal behind LOCK TABLE secrets held {seconds:g} s; meanwhile a reveal "
            f"whose body never arrives (waiting up to {wait:g} s)"
        )
        bodies: dict[str, probes.Answer] = {}

        def send_slow(name: str) -> None:
            path = f"/api/v1/secrets/{slow[name]}/reveal"
            bodies[name] = probes.body_never_sent(servers[name].port, path, timeout=wait)

        slow_threads = [
            threading.Thread(target=send_slow, args=(name,), daemon=True) for name in servers
        ]
        for thread in slow_threads:
            thread.start()
        locker = self.pg.hold_lock("secrets", seconds)
        try:
            answers, threads = self.reveal_all(servers, locked, timeout=seconds + 30)
            for thread in threads:
                thread.join(timeout=seconds + 40)
        finally:
            locker.wait(timeout=seconds + 30)
        for thread in slow_threads:
            thread.join(timeout=wait + 10)
        for name in servers:
            answer = answers.get(name, probes.Answer(None, 0.0, error="no answer"))
            body = bodies.get(name, probes.Answer(None, 0.0, error="no answer"))
            self.rows[name]["stuck"] = {
                "status": answer.status,
                "seconds": round(answer.seconds, 1),
                "error": answer.error,
            }
            self.rows[name]["body_never_sent"] = {
                "status": body.status,
                "seconds": round(body.seconds, 1),
                "error": body.error,
            }
            log(f"{name}: locked reveal -> {answer.text}; body never sent -> {body.text}")

    def sigterm(self, servers: dict[str, Server], ids: dict[str, str]) -> None:
        seconds = self.args.sigterm_lock_seconds
        log(f"(f) a reveal held {seconds:g} s by a table lock; SIGTERM to each server after 1 s")
        locker = self.pg.hold_lock("secrets", seconds)
        try:
            answers, threads = self.reveal_all(servers, ids, timeout=40)
            time.sleep(1)
            signalled = {}
            for name, server in servers.items():
                # To the main process only, as `docker stop` or a process manager sends it.
                os.kill(server.proc.pid, signal.SIGTERM)
                signalled[name] = time.monotonic()
            exited: dict[str, float] = {}
            deadline = time.monotonic() + 45
            while len(exited) < len(servers) and time.monotonic() < deadline:
                for name, server in servers.items():
                    if name not in exited and server.proc.poll() is not None:
                        exited[name] = time.monotonic() - signalled[name]
                time.sleep(0.05)
            for thread in threads:
                thread.join(timeout=40)
        finally:
            locker.wait(timeout=seconds + 30)
        for name, server in servers.items():
            answer = answers.get(name, probes.Answer(None, 0.0, error="no answer"))
            self.rows[name]["sigterm"] = {
                "in_flight_status": answer.status,
                "in_flight_answered": answer.status == 200 and PLAINTEXT.encode() in answer.body,
                "in_flight_seconds": round(answer.seconds, 1),
                "exit_seconds": round(exited[name], 1) if name in exited else None,
                "exit_code": server.proc.returncode,
            }
            exit_text = f"exited in {exited[name]:.1f} s" if name in exited else "did not exit"
            log(f"{name}: in-flight reveal -> {answer.text}; {exit_text}")
            if name not in exited:
                # It had its chance to stop gracefully: no second one.
                with suppress(ProcessLookupError):
                    os.killpg(server.proc.pid, signal.SIGKILL)
            self.stop_server(server)

    # --- report ----------------------------------------------------------------------------

    def summarize(self) -> None:
        for name in self.names:
            runs = [r for r in self.results["runs"] if r["system"] == name]
            rates = [r["rate"] for r in runs]
            row = self.rows[name]
            if rates:
                row["cycle_c32"] = {
                    "median": round(statistics.median(rates), 1),
                    "min": min(rates),
                    "max": max(rates),
                    "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 1),
                    "bad": sum(r["bad"] for r in runs),
                    "limited": sum(r["limited"] for r in runs),
                }
        self.results["servers"] = self.rows
        self.results["worker_restarts"] = {s.name: s.restarts() for s in self.servers}

    def print_table(self) -> None:
        m = self.results["machine"]
        print()
        print(
            f"Server comparison {self.stamp}: {m['nproc']} x {m['cpu']}, PostgreSQL "
            f"{m['postgresql']}, {m['granian']}, {m['gunicorn']}; WEB_CONCURRENCY="
            f"{self.cores} each, rate limits on, access log "
            f"{'off' if self.args.no_access_log else 'on'}; load average at start "
            f"{self.results['load1_at_start']:.2f}, others' CPU at start "
            f"{self.results['others_cpu_pct_at_start']}%"
        )
        print()
        columns = (
            ("server", 16),
            ("/healthz", 12),
            ("cycles", 9),
            ("cyc/s c=32", 15),
            ("p99", 5),
            ("RSS MB", 9),
            ("ids", 4),
            ("locked", 9),
            ("no body", 12),
            ("in flight", 10),
            ("exit", 6),
            ("restarts", 8),
        )
        parts = ("", "(a)", "(a)", "(b)", "(b)", "(c)", "(d)", "(e)", "(e)", "(f)", "(f)", "")
        print(" ".join(f"{part:>{width}}" for part, (_, width) in zip(parts, columns, strict=True)))
        header = f"{'server':<16} " + " ".join(f"{label:>{width}}" for label, width in columns[1:])
        print(header)
        print("-" * len(header))

        def answer(entry: dict[str, Any]) -> str:
            if not entry:
                return "-"
            if entry.get("status"):
                return f"{entry['status']} {entry['seconds']:.1f}s"
            if entry.get("error", "").startswith("closed"):
                return f"closed {entry['seconds']:.1f}s"
            return f"none {entry.get('seconds', 0):.0f}s"

        for name in self.names:
            row = self.rows[name]
            held = row.get("held", {})
            if not held:
                healthz = "-"
            elif held["healthz_failed"]:
                healthz = f"failed {held['healthz_failed']}/{held['healthz_probes']}"
            else:
                healthz = f"{held['healthz_max_ms']} ms"
            c32 = row.get("cycle_c32")
            term = row.get("sigterm", {})
            in_flight = "-"
            if term:
                in_flight = answer(
                    {"status": term["in_flight_status"], "seconds": term["in_flight_seconds"]}
                )
                if not term["in_flight_answered"]:
                    in_flight += "!"
            exit_s = term.get("exit_seconds")
            cells = (
                name,
                healthz,
                f"{held.get('cycles_held', '-')}/{held.get('cycles_free', '-')}",
                f"{c32['median']:.0f} ({c32['min']:.0f}-{c32['max']:.0f})" if c32 else "-",
                f"{c32['p99_ms']:.0f}" if c32 else "-",
                "/".join(f"{w['rss_mb']:.0f}" for w in row.get("rss", [])) or "-",
                str(row.get("leaked_ids", "-")),
                answer(row.get("stuck", {})),
                answer(row.get("body_never_sent", {})),
                in_flight,
                f"{exit_s:.1f}s" if exit_s is not None else ("none" if term else "-"),
                str(self.results["worker_restarts"].get(name, 0)),
            )
            print(
                f"{cells[0]:<16} "
                + " ".join(
                    f"{cell:>{width}}"
                    for cell, (_, width) in zip(cells[1:], columns[1:], strict=True)
                )
            )
        print(
            f"(a) {self.held_idle} idle + {self.held_slow} slow-body connections held during "
            f"{self.args.held_duration:g} s of c=8 cycles: the slowest /healthz probe (5 s "
            "timeout), cycles completed with them / without them just before. (b) median of "
            f"{self.args.reps} x {self.args.duration:g} s, reps rotating across the servers; "
            "p99 in ms. (c) per worker, after (b). (d) distinct full ids of this run's secrets "
            "anywhere in the server's log, after 404s, 410s and clients hanging up "
            f"mid-request. (e) a reveal while LOCK TABLE secrets is held "
            f"{self.args.lock_seconds:g} s; a reveal whose body never arrives (waited "
            f"{self.args.slow_body_seconds:g} s): status and seconds, 'closed' without an "
            "answer, 'none' if nothing came. (f) SIGTERM 1 s into a reveal held by a "
            f"{self.args.sigterm_lock_seconds:g} s lock: its answer ('!' if not the secret), "
            "seconds from SIGTERM to the server's exit. restarts: worker starts beyond "
            "WEB_CONCURRENCY in the server's log."
        )

    # --- main ------------------------------------------------------------------------------

    def main(self) -> None:
        self.results["machine"] = self.machine()
        self.results["settings"] = {
            "duration_s": self.args.duration,
            "reps": self.args.reps,
            "held_duration_s": self.args.held_duration,
            "workers": self.cores,
            "access_log": not self.args.no_access_log,
            "rate_limits": HIGH_RATE,
        }
        self.wait_quiet()
        self.create_database()
        live = self.seed_secrets("live", len(self.names) * self.per_server_ids)
        self.probe_ids.update(live)
        ids = {
            name: live[k * self.per_server_ids : (k + 1) * self.per_server_ids]
            for k, name in enumerate(self.names)
        }
        servers = self.start_all()
        for server in servers.values():
            self.wrk("cycle", port=server.port, conc=8, duration=1)
            self.wrk("healthz", port=server.port, conc=8, duration=1)
        log(f"(b) create+reveal cycles at c=32, {self.args.reps} reps rotating across servers")
        for rep in range(self.args.reps):
            k = rep % len(self.names)
            order = [*self.names[k:], *self.names[:k]]
            for name in order:
                res = self.wrk(
                    "cycle", port=servers[name].port, conc=32, duration=self.args.duration
                )
                self.record(name, "cycle", 32, rep + 1, res)
        for name, server in servers.items():
            self.rows[name]["rss"] = worker_memory(server.proc.pid)
        log(f"(a) {self.held_idle} idle + {self.held_slow} slow-body connections held, per server")
        for name, server in servers.items():
            self.held(server, ids[name][: self.held_slow])
        log("(d) 404s, 410s and hang-ups on secret routes")
        for name, server in servers.items():
            self.leak_probes(server, ids[name][self.held_slow : self.held_slow + 4])
        self.stuck(
            servers,
            locked={name: ids[name][-3] for name in servers},
            slow={name: ids[name][-2] for name in servers},
        )
        self.sigterm(servers, {name: ids[name][-1] for name in servers})
        self.count_leaks()
        self.results["load1_at_end"] = load1()
        self.summarize()
        path = self.write_results()
        self.print_table()
        print(f"\nJSON: {path.relative_to(ROOT)}; server logs: {self.workdir.relative_to(ROOT)}/")


@contextmanager
def terminated_cleanly() -> Iterator[None]:
    """Turn SIGTERM (from `timeout` or the user) into an exception so that cleanup runs."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    yield


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--servers",
        action="store_true",
        help="compare HTTP servers (make bench-servers) instead of the load bench",
    )
    p.add_argument("--duration", type=float, default=5, help="seconds per load run (5)")
    p.add_argument("--reps", type=int, default=3, help="repetitions per cell (3)")
    p.add_argument("--conc", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32])
    p.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=["create", "reveal", "cycle", "page", "code", "verify"],
    )
    p.add_argument(
        "--limits-off-scenarios",
        type=lambda s: [x for x in s.split(",") if x],
        default=["create", "reveal", "cycle"],
        help="scenarios that also run with the rate limits off ('' for none)",
    )
    p.add_argument(
        "--limits-off-conc",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[32],
        help="at these concurrencies (32)",
    )
    p.add_argument("--pool", type=int, default=25_000, help="secrets/codes per reveal/verify run")
    p.add_argument(
        "--scale",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[1_000_000],
        help="active-code counts for the issue-time runs (e.g. 1000000,8000000)",
    )
    p.add_argument("--cleanup-codes", type=int, default=1_000_000)
    p.add_argument("--no-floor", action="store_true")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--no-scale", action="store_true")
    p.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    p.add_argument("--no-access-log", action="store_true", help="WEB_ACCESS_LOG=off")
    p.add_argument(
        "--held-duration", type=float, default=5, help="--servers: seconds of load while held (5)"
    )
    p.add_argument(
        "--lock-seconds", type=float, default=12, help="--servers: how long (e) holds the lock"
    )
    p.add_argument(
        "--slow-body-seconds",
        type=float,
        default=40,
        help="--servers: how long (e) waits for an answer to a body never sent (40: more than "
        "gunicorn's 30 s timeout)",
    )
    p.add_argument(
        "--sigterm-lock-seconds",
        type=float,
        default=3,
        help="--servers: how long (f) holds the lock (3)",
    )
    p.add_argument(
        "--db",
        help="scratch database, dropped and re-created (onetime_bench; onetime_bench_servers)",
    )
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    p.add_argument("--max-load", type=float, default=1.5, help="wait until load1 is below")
    p.add_argument(
        "--wait-quiet",
        type=float,
        help="seconds to wait at most for a quiet machine (300; 120 with --servers)",
    )
    p.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
    )
    args = p.parse_args()
    if args.wait_quiet is None:
        args.wait_quiet = 120 if args.servers else 300
    return args


def main() -> None:
    args = parse_args()
    bench = ServerBench(args) if args.servers else Bench(args)
    try:
        with terminated_cleanly():
            bench.main()
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc or 'SIGINT'}); cleaning up")
        sys.exit(130)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
