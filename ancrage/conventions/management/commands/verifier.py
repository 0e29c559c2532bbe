from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ancrage.conventions.platform import platform_certificate
from ancrage.conventions.signature import verify_pdf


class Command(BaseCommand):
    help = "Vérifie la signature électronique et l'empreinte d'une convention signée (PDF)."

    def add_arguments(self, parser):
        parser.add_argument("fichier", help="le PDF signé à vérifier")
        parser.add_argument("--sha256", help="l'empreinte enregistrée lors de la signature, si vous l'avez")

    def handle(self, *args, fichier, sha256=None, **options):
        path = Path(fichier)
        if not path.is_file():
            raise CommandError(f"Fichier introuvable : {path}")
        data = path.read_bytes()
        result = verify_pdf(
            data, trusted_certificates=[platform_certificate().cert_path], expected_sha256=sha256
        )
        self.stdout.write(str(result))
        if not result.ok:
            raise CommandError("La signature n'est pas valide.", returncode=1)
