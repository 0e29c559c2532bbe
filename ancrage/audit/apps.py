from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ancrage.audit"
    verbose_name = "Journal d’audit"

    def ready(self):
        from ancrage.audit import signals  # noqa: F401  (connects the login receivers)
