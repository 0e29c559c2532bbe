"""``ancrage diagnostic``: the territorial diagnostic on files, without a database.

ancrage diagnostic --population base-ic-evol-struct-pop-2021.csv [--population …]
                   --usagers usagers.csv [--format ancrage|coop|agrege]
                   [--priorites priorites.csv] [--niveau iris|commune] [--ages 15+] [--passage table.csv]
                   --json OUT [--pdf OUT]
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ancrage.core.importing import ImportRejected
from ancrage.diagnostic.engine import DiagnosticImpossible, diagnostic_json, parse_ages, run_diagnostic
from ancrage.diagnostic.priorites import DEFAULT_PRIORITES, read_priorites
from ancrage.frequentation.readers import read_frequentation
from ancrage.territoire.insee import MillesimesMelanges, merge_populations, read_insee, read_passage_iris


class Command(BaseCommand):
    help = "Calcule le diagnostic du territoire à partir de fichiers (sans base de données)."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--population", action="append", required=True, type=Path, help="base INSEE à l'IRIS"
        )
        parser.add_argument("--usagers", required=True, type=Path, help="fichier de fréquentation")
        parser.add_argument("--format", choices=["ancrage", "coop", "agrege"], default="ancrage")
        parser.add_argument("--priorites", type=Path, help="CSV theme;poids;dimension;categorie;secteurs")
        parser.add_argument("--niveau", choices=["iris", "commune"], default=None)
        parser.add_argument(
            "--qpv", default="", help="codes IRIS des quartiers prioritaires, séparés par des virgules"
        )
        parser.add_argument(
            "--annee", type=int, default=None, help="année de référence pour l'âge des usagers"
        )
        parser.add_argument(
            "--ages",
            default=None,
            help="âges servis par le lieu (population de comparaison), par exemple 15+ ou 60-74 ; "
            "par défaut tous âges",
        )
        parser.add_argument(
            "--passage",
            type=Path,
            help="table de passage entre géographies des IRIS (CSV code_iris;code_iris_population)",
        )
        parser.add_argument("--json", required=True, type=Path, dest="json_out")
        parser.add_argument("--pdf", type=Path, dest="pdf_out")

    def handle(self, *args, **options):
        try:
            ages = parse_ages(options["ages"])
            population = merge_populations([read_insee(p) for p in options["population"]])
            known = set(population.codes) | {c[:5] for c in population.codes}
            frequentation = read_frequentation(
                options["usagers"], format=options["format"], secteurs_connus=known
            )
            priorites = (
                read_priorites(options["priorites"]) if options["priorites"] else list(DEFAULT_PRIORITES)
            )
            niveau = options["niveau"] or ("commune" if frequentation.niveau == "commune" else "iris")
            qpv_iris = {c.strip() for c in options["qpv"].split(",") if c.strip()}
            qpv = qpv_iris if niveau == "iris" else {c[:5] for c in qpv_iris}
            result = run_diagnostic(
                population,
                frequentation,
                priorites=priorites,
                niveau=niveau,
                secteurs_qpv=qpv,
                reference_year=options["annee"],
                ages=ages,
                passage=read_passage_iris(options["passage"]) if options["passage"] else None,
            )
        except ImportRejected as exc:
            raise CommandError("Fichier refusé :\n" + exc.summary()) from None
        except (DiagnosticImpossible, MillesimesMelanges) as exc:
            raise CommandError(str(exc)) from None
        options["json_out"].write_text(diagnostic_json(result), encoding="utf-8")
        self.stdout.write(
            f"{len(result['secteurs'])} secteurs, {len(result['categories'])} catégories, "
            f"{len(result['cibles'])} cibles → {options['json_out']}"
        )
        if options["pdf_out"]:
            from ancrage.diagnostic.rapport import render_pdf

            titre = f"Diagnostic du territoire — {options['usagers'].name}"
            parametres = {
                "niveau": niveau,
                "population": {"millesime": population.millesime},
                "ages": result["public"]["ages"],
            }
            options["pdf_out"].write_bytes(render_pdf(result, titre=titre, parametres=parametres))
            self.stdout.write(f"Rapport PDF → {options['pdf_out']}")
