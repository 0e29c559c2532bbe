import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ancrage.conventions.verification import verification_report


class Command(BaseCommand):
    help = (
        "Vérifie une convention signée (PDF) : intégrité, signataires, sceau, horodatage ; "
        "le même rapport que la page publique /verifier/."
    )

    def add_arguments(self, parser):
        parser.add_argument("fichier", help="le PDF signé à vérifier")
        parser.add_argument("--sha256", help="l'empreinte enregistrée lors de la signature, si vous l'avez")

    def handle(self, *args, fichier, sha256=None, **options):
        path = Path(fichier)
        if not path.is_file():
            raise CommandError(f"Fichier introuvable : {path}")
        data = path.read_bytes()
        if sha256 is not None and sha256.strip().lower() != hashlib.sha256(data).hexdigest():
            self.stdout.write(
                "Résultat : NON VALIDE\nL'empreinte SHA-256 du fichier ne correspond pas à celle "
                "enregistrée lors de la signature : ce fichier n'est pas le document signé."
            )
            raise CommandError("La signature n'est pas valide.", returncode=1)
        report = verification_report(data)
        self.stdout.write(report.as_text())
        if not report.ok:
            raise CommandError("La signature n'est pas valide.", returncode=1)
