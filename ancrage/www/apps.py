from django.apps import AppConfig


class WwwConfig(AppConfig):
    name = "ancrage.www"
    verbose_name = "Pages"
