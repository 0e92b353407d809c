"""
Serve OneTime over HTTP: `python -m onetime.serve` (make run, the image, compose).

Granian with WEB_CONCURRENCY worker processes, each reading requests with Rust's async
I/O and running Django in WEB_THREADS threads (onetime/asgi.py says why). Settings come
from the environment through onetime/settings.py, so a bad value stops the server before
a worker starts, with a message that names the variable. Logs, the access log included,
go through the project's redacting handler (LOG_FORMAT, LOG_LEVEL).

SIGTERM or SIGINT stop accepting, let requests in flight finish, then stop the workers
(killed after 30 s, inside compose's stop_grace_period).
"""

import os

import django
from django.conf import settings
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.server import MPServer

# Like gunicorn's access log, without the client's user agent: the id in a path is cut
# short by the redacting filter (onetime/core/logfilters.py).
ACCESS_LOG_FORMAT = '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).0fms'


def server() -> MPServer:
    """Return the configured server (not started): worker processes, not threads."""
    return MPServer(
        "onetime.asgi:application",
        address=settings.HOST,
        port=settings.PORT,
        interface=Interfaces.ASGI,
        workers=settings.WEB_CONCURRENCY,
        # HTTP/1.1 only: a proxy in front speaks HTTP/2 to browsers if it wants to.
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=HTTP1Settings(header_read_timeout=settings.WEB_HEADER_TIMEOUT * 1000),
        log_dictconfig=settings.LOGGING,
        log_access=settings.WEB_ACCESS_LOG,
        log_access_format=ACCESS_LOG_FORMAT,
        respawn_failed_workers=True,
        workers_kill_timeout=30,
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onetime.settings")
    django.setup()
    server().serve()


if __name__ == "__main__":
    main()
