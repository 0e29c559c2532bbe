"""``ancrage annuaire-importer FICHIER --lieu ID [--dry-run]``: a directory file into an EPN's directory.

The same services as the import page (``partenaires.services.plan_import`` then ``apply_plan``),
in one transaction: a file refused leaves nothing behind. With ``--dry-run``, the analysis only:
what would be added, updated, merged, what is doubtful, and each refused row with its file, row,
column and reason. A département that reloads the Cartographie's regional file each month can
script it: places already there (same id, or same pivot at the same address) are updated.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ancrage.core.importing import ImportRejected
from ancrage.core.wording import de_nom, nombre
from ancrage.partenaires import services
from ancrage.partenaires.management.commands._annuaire import epn_or_error


class Command(BaseCommand):
    help = "Importe un fichier de lieux (CSV ou JSON du standard) dans l’annuaire d’un EPN."

    def add_arguments(self, parser):
        parser.add_argument("fichier", type=Path, help="le fichier CSV ou JSON du standard")
        parser.add_argument("--lieu", type=int, required=True, help="numéro de l’EPN dont c’est l’annuaire")
        parser.add_argument("--dry-run", action="store_true", help="analyser seulement : rien n’est importé")
        parser.add_argument(
            "--douteux",
            choices=sorted(services.DECISIONS),
            default=services.DECISION_IGNORER,
            help="que faire des lieux douteux : les laisser de côté (par défaut), les importer comme "
            "lieux distincts, ou les fusionner avec le lieu auquel ils ressemblent",
        )

    def handle(self, *args, fichier: Path, lieu: int, dry_run: bool, douteux: str, **options):
        epn = epn_or_error(lieu)
        try:
            data = fichier.read_bytes()
        except OSError as error:
            raise CommandError(f"Fichier « {fichier} » illisible : {error.strerror}.") from None
        try:
            plan = services.plan_import(epn=epn, data=data, filename=fichier.name)
            decisions = {item["id"]: douteux for item in plan.as_json()["douteux"]}
            if decisions and douteux != services.DECISION_IGNORER:
                plan = services.plan_import(epn=epn, data=data, filename=fichier.name, decisions=decisions)
            self._report(plan.as_json(), dry_run)
            if dry_run:
                return
            outcome = services.import_directly(
                acting_user=None, epn=epn, data=data, filename=fichier.name, decisions=decisions
            )
        except ImportRejected as exc:
            raise CommandError("Fichier refusé :\n" + exc.summary()) from None
        self.stdout.write(
            f"Importé dans l’annuaire {de_nom(epn.nom)} : "
            f"{nombre(len(outcome.created), 'créé', 'créés')}, {len(outcome.updated)} mis à jour."
        )

    def _report(self, plan: dict, dry_run: bool) -> None:
        write = self.stdout.write
        write(
            f"{nombre(plan['lus'], 'lieu lu', 'lieux lus')} : {len(plan['a_creer'])} à ajouter, "
            f"{len(plan['a_mettre_a_jour'])} à mettre à jour, "
            f"{nombre(len(plan['fusions']), 'fusionné', 'fusionnés')}, "
            f"{len(plan['douteux'])} à vérifier, {nombre(len(plan['rejetes']), 'écarté', 'écartés')}."
        )
        for item in plan["douteux"]:
            avec = (
                f"fiche n° {item['avec']['fiche']}" if item["avec"]["fiche"] else f"id {item['avec']['id']}"
            )
            write(
                f"  à vérifier : « {item['nom']} » ({item['commune']}, id {item['id']}) ressemble à "
                f"« {item['avec']['nom']} » ({avec}) : {item['raison']} → {item['decision_label']}."
            )
        for issue in plan["rejetes"]:
            column = f"colonne {issue['colonne']}" if issue["colonne"] else ""
            where = ", ".join(part for part in (issue["fichier"], issue["ligne"], column) if part)
            write(f"  écarté : {where} : {issue['raison']}")
        if dry_run:
            write("Simulation : rien n’est importé.")
