from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ancrage.accounts"
    verbose_name = "Comptes"
