from django.apps import AppConfig


class ReseauConfig(AppConfig):
    name = "ancrage.reseau"
    verbose_name = "Réseau"
