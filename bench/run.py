"""
`make bench`: OneTime under load, next to the PostgreSQL floor and the snappass peer.

Steps (each load run is bounded by wrk's -d or pgbench's -T, and the whole script by the
Makefile's `timeout`):

1. Drop and re-create the scratch database onetime_bench, migrate it, seed it.
2. Start OneTime under gunicorn with the project's gunicorn.conf.py, production settings
   (DEBUG=0, keys generated for this run, rate limits off) and WEB_CONCURRENCY=nproc.
3. Drive every scenario with wrk (Lua scripts in bench/lua) at each concurrency, several
   repetitions; /healthz shows the generator's headroom.
4. The floor: the app's own SQL (bench/sql) with pgbench on the same server.
5. The peer: snappass 1.6.2 (own venv under .local/bench) with its own redis-server.
6. Codes at scale: issue time at 0 and 1 M active codes, cleanup of 1 M expired codes
   while /code is under load.

Prints a table and writes bench-results/<timestamp>.json. Traffic goes to 127.0.0.1 only.
"""

# The bench runs its own tools (wrk, pgbench, psql, gunicorn) with arguments it builds, and
# SQL from its own constants: no outside input reaches a command line or a statement.
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
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PEER_BIN = ROOT / ".local" / "bench" / "venv" / "bin"
LUA = ROOT / "bench" / "lua"
SQL = ROOT / "bench" / "sql"
RESULTS = ROOT / "bench-results"
DB_NAME = "onetime_bench"

# Telegram user ids of the different pools, far apart so that runs never share a user.
VERIFY_BASE = 7_000_000_000
WEBHOOK_BASE = 8_000_000_000
SCALE_BASE = 9_000_000_000


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
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)


class Postgres:
    def __init__(self, admin_url: str) -> None:
        parts = urlsplit(admin_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = str(parts.port or 5432)
        self.user = parts.username or "postgres"
        self.password = parts.password or ""
        self.admin_db = parts.path.lstrip("/") or "postgres"

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

    def sql(self, statement: str, db: str = DB_NAME) -> str:
        out = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", *self.args(db), "-c", statement],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return out.stdout.strip()


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - 127.0.0.1
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def cpu_snapshot() -> dict[str, Any]:
    """
    Return CPU seconds used so far by finished children and by each live process, grouped
    as this bench's process tree (gunicorn, redis, …), PostgreSQL's processes (which serve
    other users of the server too) and the rest.
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


def app_env(pg: Postgres, db: str, tmp: Path, workers: int) -> dict[str, str]:
    """OneTime's environment in a bench: production settings, keys and tokens for this run."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ONETIME_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DATABASE_URL": pg.url(db),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "ONETIME_RATE_CREATE": "off",
        "ONETIME_RATE_REVEAL": "off",
        "CODES_VERIFY_TOKEN": secrets.token_urlsafe(32),
        "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "WEB_CONCURRENCY": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "DJANGO_SETTINGS_MODULE": "onetime.settings",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("DATABASE_CONN_MAX_AGE", "LOG_LEVEL", "ONETIME_BASE_URL"):
        env.pop(name, None)
    if pg.password:
        env["PGPASSWORD"] = pg.password
    (tmp / "metrics").mkdir()
    return env


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


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cores = os.cpu_count() or 1
        self.procs = Processes()
        self.pg = Postgres(args.admin_url)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.stamp = stamp
        self.workdir = RESULTS / stamp
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="onetime-bench-"))
        self.results: dict[str, Any] = {
            "started_at": stamp,
            "runs": [],
            "load1": [],
            "gunicorn_cmd_args": os.environ.get("GUNICORN_CMD_ARGS", ""),
            "access_log": not args.no_access_log,
        }
        self.run_counter = 0
        self.app_env = app_env(self.pg, DB_NAME, self.tmp, self.cores)

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
        log(f"re-creating database {DB_NAME}")
        self.pg.sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)', self.pg.admin_db)
        self.pg.sql(f'CREATE DATABASE "{DB_NAME}"', self.pg.admin_db)
        subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=self.app_env,
            check=True,
            timeout=300,
        )

    def seed(self, runs: int) -> None:
        pool = self.args.pool
        log(f"seeding {runs} x {pool} secrets to reveal, 2,000 for the page, {runs} x {pool} codes")
        for kind, count in (("reveal", runs * pool), ("page", 2000)):
            subprocess.run(
                [str(BIN / "python"), "bench/seed.py", "secrets", str(count), str(self.tmp / kind)],
                cwd=ROOT,
                env=self.app_env,
                check=True,
                timeout=900,
            )
        # Verification pool: user VERIFY_BASE + k holds code 1000000 + k, valid for hours.
        total = runs * pool
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

    def start_onetime(self, *, access_log: bool = True) -> subprocess.Popen[bytes]:
        port = free_port()
        cmd = [
            str(BIN / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            # The config binds 0.0.0.0 (for containers); the bench stays on loopback.
            "--bind",
            f"127.0.0.1:{port}",
            # gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default: one
            # of its own, so that another gunicorn on this machine keeps its socket.
            "--control-socket",
            str(self.tmp / "onetime.ctl"),
        ]
        env = {**self.app_env, "GUNICORN_ACCESS_LOG": "on" if access_log else "off"}
        proc = self.procs.start(
            [*cmd, "onetime.wsgi"], env=env, logfile=self.workdir / "onetime.log"
        )
        self.port = port
        wait_http(f"http://127.0.0.1:{port}/healthz")
        log(f"OneTime up on 127.0.0.1:{port} (gunicorn pid {proc.pid}, {self.cores} workers)")
        return proc

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
        """Count gunicorn worker boots so far (max_requests recycles workers mid-run)."""
        count = 0
        for name in ("onetime.log", "snappass.log"):
            path = self.workdir / name
            if path.exists():
                count += path.read_bytes().count(b"Booting worker")
        return count

    def record(self, system: str, scenario: str, conc: int, rep: int, res: dict[str, Any]) -> None:
        unit = "cycles" if scenario.endswith("cycle") else "ok"
        res["rate"] = round(res[unit] / res["seconds"], 1) if res["seconds"] else 0.0
        res.update(system=system, scenario=scenario, conc=conc, rep=rep)
        self.results["runs"].append(res)
        flags = []
        if res.get("bad"):
            flags.append(f"{res['bad']} unexpected answers")
        if res.get("exhausted"):
            flags.append("POOL EXHAUSTED")
        if res.get("worker_restarts"):
            flags.append(f"{res['worker_restarts']} worker restart(s)")
        if res.get("socket_errors") or res.get("timeouts"):
            flags.append(f"{res['socket_errors']} socket errors, {res['timeouts']} timeouts")
        log(
            f"{system:9} {scenario:12} c={conc:<3} rep {rep}: {res['rate']:8.1f}/s  "
            f"p50 {res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:7.2f} ms  "
            f"load {res.get('load1_before', 0):.2f}  others {res.get('foreign_cpu_pct', 0)}% CPU  "
            f"{'; '.join(flags)}"
        )

    def onetime_scenarios(self) -> None:
        d, pool = self.args.duration, self.args.pool
        reveal_ids = (self.tmp / "reveal").read_text().split()
        # Warm every route once (imports, templates, connections); not recorded.
        for script, extra in (
            ("create", {}),
            ("page", {"BENCH_IDS": str(self.tmp / "page")}),
            (
                "code",
                {
                    "BENCH_BASE": str(WEBHOOK_BASE + 9 * 10**8),
                    "BENCH_WEBHOOK_SECRET": self.app_env["TELEGRAM_WEBHOOK_SECRET"],
                },
            ),
        ):
            self.wrk(script, port=self.port, conc=8, duration=1, env=extra)
        self.wrk("healthz", port=self.port, conc=8, duration=1)
        for conc in self.args.conc:
            for rep in range(1, self.args.reps + 1):
                res = self.wrk("healthz", port=self.port, conc=conc, duration=d)
                self.record("onetime", "healthz", conc, rep, res)
        for scenario in self.args.scenarios:
            run = 0  # index of the run within the scenario: picks its own slice of a pool
            for conc in self.args.conc:
                for rep in range(1, self.args.reps + 1):
                    env: dict[str, str] = {}
                    if scenario == "reveal":
                        ids_file = self.tmp / f"reveal-{run}"
                        ids_file.write_text("\n".join(reveal_ids[run * pool : (run + 1) * pool]))
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
                    res = self.wrk(scenario, port=self.port, conc=conc, duration=d, env=env)
                    self.record("onetime", scenario, conc, rep, res)
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
            *self.pg.args(DB_NAME)[:-2],
            DB_NAME,
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
        # GUNICORN_CMD_ARGS (e.g. another worker class, to measure it) is for OneTime only.
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
        snappass = self.procs.start(
            [
                str(PEER_BIN / "gunicorn"),
                "--workers",
                str(self.cores),
                "--bind",
                f"127.0.0.1:{port}",
                "--control-socket",
                str(self.tmp / "snappass.ctl"),
                "snappass.main:app",
            ],
            env=env,
            logfile=self.workdir / "snappass.log",
            # Not the project's directory: gunicorn would read OneTime's gunicorn.conf.py.
            cwd=self.tmp,
        )
        wait_http(f"http://127.0.0.1:{port}/")
        log(f"snappass up on 127.0.0.1:{port} (gunicorn pid {snappass.pid}), redis :{redis_port}")
        self.wrk("snappass_cycle", port=port, conc=8, duration=1)
        for conc in self.args.conc:
            for rep in range(1, self.args.reps + 1):
                res = self.wrk("snappass_cycle", port=port, conc=conc, duration=self.args.duration)
                self.record("snappass", "cycle", conc, rep, res)
        self.results["rss_snappass"] = worker_memory(snappass.pid)
        self.procs.stop(snappass)
        self.procs.stop(redis)

    # --- codes at scale --------------------------------------------------------------------

    def codes_at_scale(self, gunicorn_pid: int) -> None:
        d = self.args.duration
        secret = self.app_env["TELEGRAM_WEBHOOK_SECRET"]
        scale: dict[str, Any] = {}
        run = 0

        def issue(label: str) -> None:
            nonlocal run
            for conc in (1, 8):
                run += 1
                env = {"BENCH_BASE": str(SCALE_BASE + run * 10**7), "BENCH_WEBHOOK_SECRET": secret}
                res = self.wrk("code", port=self.port, conc=conc, duration=d, env=env)
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
                f"http://127.0.0.1:{self.port}",
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
        self.results["rss_onetime_after_scale"] = worker_memory(gunicorn_pid)

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

    def profile(self, gunicorn_pid: int) -> None:
        out = self.workdir / "profile-cycle.txt"
        seconds = max(10, int(self.args.duration * 2))
        log(f"profiling the create+reveal cycle at c=8 with py-spy for {seconds} s")
        spy = subprocess.Popen(
            [
                str(PEER_BIN / "py-spy"),
                "record",
                "--pid",
                str(gunicorn_pid),
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
        self.wrk("cycle", port=self.port, conc=8, duration=seconds - 2)
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
                            + (["socket errors"] if r.get("socket_errors") else [])
                            + (["timeouts"] if r.get("timeouts") else [])
                            + (["worker restarts"] if r.get("worker_restarts") else [])
                        }
                    ),
                }
            )
        self.results["table"] = table
        medians = {(t["system"], t["scenario"], t["conc"]): t["median"] for t in table}
        ratios = []
        for conc in self.args.conc:
            for scenario in ("create", "reveal", "cycle"):
                one = medians.get(("onetime", scenario, conc))
                floor = medians.get(("floor", scenario, conc))
                peer = medians.get(("snappass", scenario, conc))
                ratios.append(
                    {
                        "scenario": scenario,
                        "conc": conc,
                        "onetime": one,
                        "floor": floor,
                        "onetime_over_floor": round(one / floor, 3) if one and floor else None,
                        "snappass": peer,
                        "onetime_over_snappass": round(one / peer, 2) if one and peer else None,
                    }
                )
        self.results["ratios"] = ratios

    def print_table(self) -> None:
        m = self.results["machine"]
        print()
        print(
            f"OneTime bench {self.stamp}: {m['nproc']} x {m['cpu']}, {m['ram_gb']} GB, "
            f"PostgreSQL {m['postgresql']}, {self.args.reps} x {self.args.duration:g} s per cell, "
            f"load average at start {self.results['load1_at_start']:.2f}, others' CPU at start "
            f"{self.results['others_cpu_pct_at_start']}%"
            + ("" if self.results["access_log"] else ", OneTime without its access log")
            + (
                f", GUNICORN_CMD_ARGS={extra!r}"
                if (extra := self.results["gunicorn_cmd_args"])
                else ""
            )
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
        print(
            f"{'ratio':22} {'c':>3} {'OneTime':>9} {'floor':>9} {'OT/floor':>9} "
            f"{'snappass':>9} {'OT/snappass':>11}"
        )
        for r in self.results["ratios"]:

            def fmt(v: Any, spec: str) -> str:
                return format(v, spec) if v is not None else "-"

            print(
                f"{r['scenario']:22} {r['conc']:>3} {fmt(r['onetime'], '>9.1f')} "
                f"{fmt(r['floor'], '>9.1f')} {fmt(r['onetime_over_floor'], '>9.3f')} "
                f"{fmt(r['snappass'], '>9.1f')} {fmt(r['onetime_over_snappass'], '>11.2f')}"
            )
        for key, label in (
            ("rss_onetime", "OneTime workers after the scenarios"),
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
        }
        runs = len(self.args.conc) * self.args.reps
        self.wait_quiet()
        self.create_database()
        self.seed(runs)
        gunicorn = self.start_onetime(access_log=not self.args.no_access_log)
        self.onetime_scenarios()
        self.results["rss_onetime"] = worker_memory(gunicorn.pid)
        if not self.args.no_profile:
            self.profile(gunicorn.pid)
        if not self.args.no_floor:
            self.floor()
        if not self.args.no_peer:
            self.peer()
        if not self.args.no_scale:
            self.codes_at_scale(gunicorn.pid)
        self.results["load1_at_end"] = load1()
        self.summarize()
        path = RESULTS / f"{self.stamp}.json"
        path.write_text(json.dumps(self.results, indent=2, ensure_ascii=False))
        self.print_table()
        print(f"\nJSON: {path.relative_to(ROOT)}; logs: {self.workdir.relative_to(ROOT)}/")

    def close(self) -> None:
        self.procs.stop_all()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if not self.args.keep_db:
            try:
                self.pg.sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)', self.pg.admin_db)
            except (subprocess.SubprocessError, OSError) as exc:
                log(f"could not drop {DB_NAME}: {exc}")


@contextmanager
def terminated_cleanly() -> Iterator[None]:
    """Turn SIGTERM (from `timeout` or the user) into an exception so that cleanup runs."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    yield


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=5, help="seconds per load run (5)")
    p.add_argument("--reps", type=int, default=3, help="repetitions per cell (3)")
    p.add_argument("--conc", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32])
    p.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=["create", "reveal", "cycle", "page", "code", "verify"],
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
    p.add_argument("--no-access-log", action="store_true", help="GUNICORN_ACCESS_LOG=off")
    p.add_argument("--keep-db", action="store_true", help=f"keep {DB_NAME} afterwards")
    p.add_argument("--max-load", type=float, default=1.5, help="wait until load1 is below")
    p.add_argument("--wait-quiet", type=float, default=300, help="seconds to wait at most")
    p.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
    )
    return p.parse_args()


def main() -> None:
    args = parse_args()
    bench = Bench(args)
    try:
        with terminated_cleanly():
            bench.main()
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc}); cleaning up")
        sys.exit(130)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
