from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "onetime.core"
    label = "core"
