#!/bin/sh
# Entry point of the OneTime image: `web`, `migrate`, `bot`, `scheduler`, or any command.
set -eu

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
