from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "ancrage.bench"
    verbose_name = "Bancs d'essai"
