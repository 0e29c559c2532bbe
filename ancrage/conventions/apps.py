from django.apps import AppConfig


class ConventionsConfig(AppConfig):
    name = "ancrage.conventions"
    verbose_name = "Conventions"
