from django.apps import AppConfig


class WwwConfig(AppConfig):
    name = "ancrage.www"
    verbose_name = "Pages"

    def ready(self):
        from ancrage.www import checks  # noqa: F401  (registers the system checks)
