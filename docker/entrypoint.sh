#!/bin/sh
# Entry point of the OneTime image: `web`, `migrate`, `bot`, `scheduler`, or any command.
set -eu

# Metrics: every process writes its own files into PROMETHEUS_MULTIPROC_DIR, named
# <type>_<host name>_<pid>.db (onetime/core/metrics.py), and /metrics adds up all of them.
# Before any process of this container writes, remove what its earlier run left: stale
# counts, and files a new process with a reused pid would carry on from. Only this host
# name's files: other containers sharing the volume may be writing theirs right now.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    for stale in "$PROMETHEUS_MULTIPROC_DIR"/*_"$(uname -n)"_[0-9]*.db; do
        [ -e "$stale" ] || continue
        rm -f -- "$stale" || echo "entrypoint: cannot remove $stale" >&2
    done
fi

case "${1:-web}" in
    migrate)
        # The one-shot step that runs before the other services start.
        exec python manage.py migrate --no-input
        ;;
    web)
        exec python -m onetime.serve
        ;;
    bot)
        exec python manage.py runbot
        ;;
    scheduler)
        exec python manage.py runscheduler
        ;;
    *)
        exec "$@"
        ;;
esac
