from django.apps import AppConfig


class PwpushConfig(AppConfig):
    """Password Pusher's JSON API, v1 and v2, over OneTime's secrets (docs/compatibility.md)."""

    name = "onetime.pwpush"
    label = "pwpush"
