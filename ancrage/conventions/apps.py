from django.apps import AppConfig


class ConventionsConfig(AppConfig):
    name = "ancrage.conventions"
    verbose_name = "Conventions"

    def ready(self):
        from ancrage.conventions import checks  # noqa: F401  (registers the system checks)
        from ancrage.dossiers.signals import dossier_created

        dossier_created.connect(_attach_signed_conventions, dispatch_uid="conventions.attach")


def _attach_signed_conventions(sender, dossier, **kwargs):
    """A dossier created for an action whose convention is already signed gets it at once."""
    from ancrage.conventions.models import Convention
    from ancrage.conventions.services import attach_to_dossiers

    for convention in Convention.objects.filter(action_id=dossier.action_id).exclude(pdf_signe=""):
        attach_to_dossiers(convention, [dossier])
