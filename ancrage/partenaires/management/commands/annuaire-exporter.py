"""``ancrage annuaire-exporter --lieu ID --format csv|json|tableur -o FICHIER``: an EPN's directory.

The same service as the page's downloads (``partenaires.services.annuaire_export``, logged):
``csv`` and ``json`` follow the national standard to the letter; ``tableur`` is the CSV for
spreadsheets (BOM, formulas escaped), which is not the standard.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ancrage.core.wording import de_nom
from ancrage.partenaires import services, standard
from ancrage.partenaires.management.commands._annuaire import epn_or_error


class Command(BaseCommand):
    help = "Exporte l’annuaire d’un EPN au standard des lieux de médiation numérique (CSV ou JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--lieu", type=int, required=True, help="numéro de l’EPN dont c’est l’annuaire")
        parser.add_argument("--format", choices=sorted(services.EXPORT_FORMATS), default="csv", dest="fmt")
        parser.add_argument("-o", "--output", type=Path, required=True, help="le fichier à écrire")

    def handle(self, *args, lieu: int, fmt: str, output: Path, **options):
        epn = epn_or_error(lieu)
        try:
            body = services.annuaire_export(acting_user=None, epn=epn, fmt=fmt)
        except standard.StandardExportError as error:
            raise CommandError(f"L’export ne suit pas le standard : {error}") from None
        try:
            output.write_bytes(body)
        except OSError as error:
            raise CommandError(f"Impossible d’écrire « {output} » : {error.strerror}.") from None
        self.stdout.write(f"Annuaire {de_nom(epn.nom)} ({fmt}) → {output}")
