from django.apps import AppConfig


class TerritoireConfig(AppConfig):
    name = "ancrage.territoire"
    verbose_name = "Territoire"
