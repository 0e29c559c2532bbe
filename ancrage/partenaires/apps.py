from django.apps import AppConfig


class PartenairesConfig(AppConfig):
    name = "ancrage.partenaires"
    verbose_name = "Partenaires"
