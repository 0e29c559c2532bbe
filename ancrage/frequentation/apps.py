from django.apps import AppConfig


class FrequentationConfig(AppConfig):
    name = "ancrage.frequentation"
    verbose_name = "Fréquentation"
