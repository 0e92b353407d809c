from django.apps import AppConfig


class CleanupConfig(AppConfig):
    name = "onetime.cleanup"
    label = "cleanup"
