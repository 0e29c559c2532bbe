from django.apps import AppConfig


class ConventionsConfig(AppConfig):
    name = "ancrage.conventions"
    verbose_name = "Conventions"

    def ready(self):
        from ancrage.conventions import checks  # noqa: F401  (registers the system checks)
