from django.core.management.base import BaseCommand, CommandError

from ancrage.dossiers import journal


class Command(BaseCommand):
    help = (
        "Vérifie l'historique chaîné des dossiers de projet : chaque entrée porte l'empreinte de la "
        "précédente ; une entrée modifiée ou supprimée est signalée."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dossier", type=int, action="append", help="n° d'un dossier (répétable)")

    def handle(self, *args, dossier=None, **options):
        report = journal.verify_all(dossier)
        self.stdout.write(
            f"{report.checked} dossier(s), {report.entries} entrée(s) d'historique vérifiée(s) "
            f"({journal.key_source()})."
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("Historique intact : aucune entrée modifiée ni supprimée."))
            return
        for where, messages in report.problems.items():
            self.stdout.write(self.style.ERROR(f"{where} :"))
            for message in messages:
                self.stdout.write(f"  - {message}")
        raise CommandError(
            f"Historique altéré dans {len(report.problems)} dossier(s) : voir le détail ci-dessus.",
            returncode=1,
        )
