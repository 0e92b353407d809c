from django.apps import AppConfig


class BotConfig(AppConfig):
    name = "onetime.bot"
    label = "bot"
