from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "onetime.codes"
    label = "codes"
