"""``ancrage purger-usagers [--dry-run]``: delete the usagers records past their retention period.

Run it daily (cron or systemd timer). Everything happens in one transaction: either every expired
record is deleted, with the aggregates rebuilt and one audit entry per import, or nothing is.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ancrage.frequentation.services import usagers_purge


class Command(BaseCommand):
    help = (
        "Supprime les données des usagers dont la durée de conservation est dépassée "
        "(ANCRAGE_RETENTION_USAGERS_MOIS, 36 mois par défaut)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="afficher ce qui serait supprimé, sans rien supprimer"
        )
        parser.add_argument(
            "--mois", type=int, default=None, help="durée de conservation en mois (par défaut le réglage)"
        )

    def handle(self, *args, dry_run=False, mois=None, **options):
        mois = settings.ANCRAGE_RETENTION_USAGERS_MOIS if mois is None else mois
        if mois < 1:
            raise CommandError("La durée de conservation est d’au moins un mois.")
        report = usagers_purge(acting_user=None, mois=mois, dry_run=dry_run)
        prefix = "Simulation (rien n’est supprimé) : " if dry_run else ""
        verbe = "seraient supprimés" if dry_run else "supprimés"
        self.stdout.write(
            f"{prefix}{report.usagers} enregistrement(s) d’usagers importés avant le "
            f"{report.avant:%d/%m/%Y} {verbe} "
            f"({len(report.imports_supprimes)} fichier(s) entier(s), "
            f"{len(report.imports_reduits)} fichier(s) en partie) ; "
            f"{report.depots_vides} dépôt(s) de fichier non confirmé(s) ou ancien(s) vidé(s)."
        )
