from django.apps import AppConfig


class DiagnosticConfig(AppConfig):
    name = "ancrage.diagnostic"
    verbose_name = "Diagnostic du territoire"
