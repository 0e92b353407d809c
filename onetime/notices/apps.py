from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "onetime.notices"
    label = "notices"
