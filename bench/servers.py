"""
`make bench-servers`: the same OneTime under gunicorn (the project's gunicorn.conf.py) and
under granian, side by side, runs alternating so that machine drift hits both alike.

Both servers run at once on their own ports with the same settings, the same scratch
database (onetime_bench_servers, dropped and re-created) and WEB_CONCURRENCY workers each;
wrk drives one at a time with bench/lua's scripts. Access logs are off on both (granian's
cannot redact paths). Granian comes from its own venv (.local/bench/granian, made by the
Makefile): the app does not depend on it. Prints medians with min-max and worker RSS.
Every run stops by itself (wrk -d); traffic goes to 127.0.0.1 only.
"""

# The bench runs its own tools with arguments it builds: no outside input reaches them.
# ruff: noqa: S603

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from run import (
    LUA,
    ROOT,
    Postgres,
    Processes,
    app_env,
    free_port,
    wait_http,
    worker_memory,
    wrk_result,
)

DB = "onetime_bench_servers"
GRANIAN = ROOT / ".local/bench/granian/bin/granian"


def wrk(script: str, port: int, conc: int, duration: float, env: dict[str, str]) -> dict:
    cmd = ["wrk", "-t", "2", "-c", str(conc), "-d", f"{duration:g}s", "--timeout", "5s"]
    cmd += ["-s", str(LUA / f"{script}.lua"), f"http://127.0.0.1:{port}"]
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=True, timeout=duration + 60
    )
    res = wrk_result(out.stdout)
    if res["bad"]:
        sys.exit(f"{script}: {res['bad']} unexpected answers on port {port}")
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=8)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--plan", default="cycle:8,cycle:32,create:32,code:32,healthz:32")
    args = p.parse_args()
    pg = Postgres(os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    workers = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="onetime-servers-"))
    env = {**app_env(pg, DB, tmp, workers), "GUNICORN_ACCESS_LOG": "off"}
    ports = {"gunicorn": free_port(), "granian": free_port()}
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py"]
    granian = [str(GRANIAN), "--interface", "wsgi", "--workers", str(workers), "--no-access-log"]
    commands = {
        "gunicorn": [
            *gunicorn,
            *("--bind", f"127.0.0.1:{ports['gunicorn']}"),
            *("--control-socket", str(tmp / "g.ctl")),
            "onetime.wsgi",
        ],
        # One blocking thread per worker: one request at a time, as a gunicorn sync worker.
        "granian": [
            *granian,
            *("--blocking-threads", "1", "--host", "127.0.0.1", "--port", str(ports["granian"])),
            "onetime.wsgi:application",
        ],
    }
    procs = Processes()
    results: dict[tuple[str, int, str], list[tuple[float, float]]] = {}
    try:
        pg.sql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)', pg.admin_db)
        pg.sql(f'CREATE DATABASE "{DB}"', pg.admin_db)
        manage = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
        subprocess.run(manage, cwd=ROOT, env=env, check=True, timeout=300)
        pids = {
            name: procs.start(cmd, env=env, logfile=tmp / f"{name}.log").pid
            for name, cmd in commands.items()
        }
        for port in ports.values():
            wait_http(f"http://127.0.0.1:{port}/healthz")
        for rep in range(args.reps):
            for step in args.plan.split(","):
                script, conc = step.split(":")
                order = list(ports) if rep % 2 == 0 else list(reversed(ports))
                for name in order:
                    wrk_env = {
                        **os.environ,
                        "BENCH_LUA_DIR": str(LUA),
                        "BENCH_THREADS": "2",
                        "BENCH_WEBHOOK_SECRET": env["TELEGRAM_WEBHOOK_SECRET"],
                        # New users in every run: one user asking again gets no new code.
                        "BENCH_BASE": str(10**9 + (rep * 2 + (name == "granian")) * 10**7),
                    }
                    res = wrk(script, ports[name], int(conc), args.duration, wrk_env)
                    rate = res["cycles" if script == "cycle" else "ok"] / res["seconds"]
                    p99 = res["p99_ms"]
                    results.setdefault((script, int(conc), name), []).append((rate, p99))
                    line = f"{script:8} c={conc:>2} {name:9} {rate:8.1f}/s p99 {p99:.1f} ms"
                    print(f"rep {rep} {line}", flush=True)
        print("\nmedians (min-max), requests or cycles per second; p99 median")
        for (script, conc, name), runs in results.items():
            rates = sorted(r for r, _ in runs)
            p99 = statistics.median(q for _, q in runs)
            print(
                f"{script:8} c={conc:>2} {name:9} {statistics.median(rates):8.1f}"
                f" ({rates[0]:.0f}-{rates[-1]:.0f})  p99 {p99:.1f} ms"
            )
        for name, pid in pids.items():
            print(f"{name} worker RSS (MB): {[m['rss_mb'] for m in worker_memory(pid)]}")
    finally:
        procs.stop_all()
        pg.sql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)', pg.admin_db)
        print(f"server logs: {tmp}")


if __name__ == "__main__":
    main()
