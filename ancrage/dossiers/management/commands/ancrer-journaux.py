"""``ancrage ancrer-journaux --out DIR``: write the head of every chained history to a file.

Run it daily (cron or systemd timer) and keep the files outside the database server; ``ancrage
verifier-journal --ancre FICHIER`` then checks that every chain still extends what was recorded.
"""

from django.core.management.base import BaseCommand, CommandError

from ancrage.core.wording import nombre
from ancrage.dossiers.anchors import AnchorError, write


class Command(BaseCommand):
    help = (
        "Écrit dans un fichier l’empreinte signée de la tête de chaque historique chaîné (journal "
        "d’audit et historique de chaque dossier), à conserver hors de la base."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="le dossier où écrire ancre-AAAAMMJJTHHMMSSZ.jsonl")

    def handle(self, *args, out, **options):
        try:
            path, count = write(out)
        except AnchorError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{nombre(count, 'chaîne ancrée', 'chaînes ancrées')} dans « {path} ».")
