from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "onetime.vault"
    label = "vault"
