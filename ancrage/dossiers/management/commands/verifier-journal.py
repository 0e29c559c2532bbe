from django.core.management.base import BaseCommand, CommandError

from ancrage.audit import chain as audit_chain
from ancrage.core.wording import nombre
from ancrage.dossiers import anchors, journal


class Command(BaseCommand):
    help = (
        "Vérifie les historiques chaînés (journal d’audit et historique des dossiers de projet) : "
        "chaque entrée porte l’empreinte de la précédente, et l’ancre de chaque chaîne est signée ; "
        "une entrée modifiée ou supprimée, une ancre ramenée en arrière sont signalées."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dossier", type=int, action="append", help="n° d'un dossier (répétable)")
        parser.add_argument(
            "--ancre",
            metavar="FICHIER",
            help="un fichier écrit par « ancrage ancrer-journaux » : chaque chaîne doit le prolonger",
        )

    def handle(self, *args, dossier=None, ancre=None, **options):
        report = journal.verify_all(dossier)
        problems = dict(report.problems)
        summary = f"{nombre(report.checked, 'dossier')}, {nombre(report.entries, 'entrée')} d'historique"
        if not dossier:
            audit_entries, audit_problems = audit_chain.verify()
            summary += f", {nombre(audit_entries, 'entrée')} du journal d’audit"
            if audit_problems:
                problems["Journal d’audit"] = [p.message for p in audit_problems]
        if ancre:
            try:
                for where, messages in anchors.verify_file(ancre).items():
                    problems.setdefault(where, []).extend(messages)
            except anchors.AnchorError as error:
                raise CommandError(str(error)) from error
            summary += f", comparées au fichier d’ancrage « {ancre} »"
        self.stdout.write(f"{summary} : vérification faite ({journal.key_source()}).")
        if not problems:
            self.stdout.write(self.style.SUCCESS("Historique intact : aucune entrée modifiée ni supprimée."))
            return
        for where, messages in problems.items():
            self.stdout.write(self.style.ERROR(f"{where} :"))
            for message in messages:
                self.stdout.write(f"  - {message}")
        raise CommandError(
            f"Historique altéré ({nombre(len(problems), 'chaîne ou fichier', 'chaînes ou fichiers')}) : "
            "voir le détail ci-dessus.",
            returncode=1,
        )
