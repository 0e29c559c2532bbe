from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "ancrage.dossiers"
    verbose_name = "Dossiers de projet"
