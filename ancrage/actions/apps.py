from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "ancrage.actions"
    verbose_name = "Actions"
