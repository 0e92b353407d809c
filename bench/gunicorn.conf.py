"""
gunicorn settings (used by docker/entrypoint.sh web). Environment: PORT (8000),
WEB_CONCURRENCY (workers; default 2 × CPUs + 1), GUNICORN_TIMEOUT (30 s),
GUNICORN_ACCESS_LOG (on).
"""

import os
from typing import Any

from gunicorn.glogging import Logger

from onetime.core.logfilters import redact

bind = f"0.0.0.0:{os.environ.get('PORT') or '8000'}"
# The CPUs this process may run on (a container's share), not the host's count.
_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
workers = int(os.environ.get("WEB_CONCURRENCY") or _cpus * 2 + 1)
# A request that takes longer is killed and its worker replaced; SIGTERM lets requests in
# flight finish for graceful_timeout seconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so that a slow leak cannot grow without bound. Rarely: a
# recycled worker boots Django for a second or two, and without recycling the workers' RSS
# stayed at 72 MB from 18,000 to 71,000 requests each (docs/performance.md, lever 12).
max_requests = 100_000
max_requests_jitter = 10_000
# Containers have a memory-backed /dev/shm; the default tmp dir may be a slow overlay.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# One line per request on stdout; GUNICORN_ACCESS_LOG=off when a proxy in front already
# logs requests (it costs ~3 % of an API request, docs/performance.md).
accesslog = None if os.environ.get("GUNICORN_ACCESS_LOG", "on").lower() in {"off", "0"} else "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


class RedactingLogger(Logger):  # type: ignore[misc]
    """Access log lines with secret ids and receipt tokens cut to a short prefix."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


logger_class = RedactingLogger
