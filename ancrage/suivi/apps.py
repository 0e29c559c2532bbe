from django.apps import AppConfig


class SuiviConfig(AppConfig):
    name = "ancrage.suivi"
    verbose_name = "Suivi et pérennisation"
