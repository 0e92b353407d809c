from django.apps import AppConfig


class OtsConfig(AppConfig):
    """OneTimeSecret's API v1 over OneTime's secrets (docs/compatibility.md)."""

    name = "onetime.ots"
    label = "ots"
