"""The diagnostic as documents: the PDF report for the collectivité, CSV and XLSX exports.

Used by the pages and by the ``diagnostic`` command (which has no database): everything here
works from the result dict alone.
"""

import io

from django.template.loader import render_to_string

from ancrage.core.csv_safe import SafeWriter, xlsx_row
from ancrage.core.pdf import html_to_pdf
from ancrage.diagnostic import charts
from ancrage.diagnostic.cibles import category_label, dimension_label
from ancrage.territoire import libelles

# WeasyPrint logs each layout step at INFO: noise in the server's and the command's output.

SECTEUR_COLUMNS = [
    "code",
    "nom",
    "population",
    "usagers",
    "taux_pour_mille",
    "ic95_bas",
    "ic95_haut",
    "ratio_standardise",
    "sous_frequente",
]
CATEGORIE_COLUMNS = [
    "dimension",
    "categorie",
    "population",
    "usagers",
    "part_population",
    "part_usagers",
    "indice_representation",
    "ic95_bas",
    "ic95_haut",
    "sous_represente",
    "usagers_manquants",
    "approximation",
]
CIBLE_COLUMNS = [
    "rang",
    "dimension",
    "categorie",
    "public",
    "secteur",
    "nom_secteur",
    "priorites",
    "score",
    "explication",
]


def csv_bytes(rows) -> bytes:
    """UTF-8 with a BOM (Excel on Windows then reads accents) and ``;``, as French spreadsheets expect;
    every cell escaped against formula injection."""
    buffer = io.StringIO()
    SafeWriter(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _yes(value) -> str:
    return "oui" if value else "non"


def table_rows(resultat: dict) -> dict[str, list[list]]:
    """The three tables of a diagnostic, as rows (header first)."""
    secteurs = [SECTEUR_COLUMNS] + [
        [
            s["code"],
            libelles.libelle_secteur(s["code"], s["nom"]),
            s["population"],
            s["usagers"],
            s["taux_pour_mille"],
            *(s["ic95"] or [None, None]),
            s["ratio_standardise"],
            _yes(s["sous_frequente"]),
        ]
        for s in resultat.get("secteurs", [])
    ]
    noms = libelles.noms_secteurs(resultat.get("secteurs", []))
    categories = [CATEGORIE_COLUMNS + ["libelle_dimension", "libelle_categorie"]] + [
        [
            c["dimension"],
            c["categorie"],
            c["population"],
            c["usagers"],
            c["part_population"],
            c["part_usagers"],
            c["indice_representation"],
            *(c["ic95"] or [None, None]),
            _yes(c["sous_represente"]),
            c["usagers_manquants"],
            _yes(c["approximation"]),
            dimension_label(c["dimension"]),
            category_label(c["dimension"], c["categorie"]),
        ]
        for c in resultat.get("categories", [])
    ]
    cibles = [CIBLE_COLUMNS] + [
        [
            c["rang"],
            c["dimension"] or "",
            c["categorie"] or "",
            category_label(c["dimension"], c["categorie"]) if c["dimension"] else "tous les habitants",
            c["secteur"] or "",
            libelles.libelle_secteur(c["secteur"], noms.get(c["secteur"] or "")) if c["secteur"] else "",
            ", ".join(c["priorites"]),
            c["score"],
            c["explication"],
        ]
        for c in resultat.get("cibles", [])
    ]
    return {"secteurs": secteurs, "categories": categories, "cibles": cibles}


def export_csv(resultat: dict) -> bytes:
    """One CSV with the three tables one after the other, each introduced by its name."""
    rows: list[list] = []
    for name, table in table_rows(resultat).items():
        if rows:
            rows.append([])
        rows.append([f"# {name}"])
        rows.extend([["" if v is None else v for v in row] for row in table])
    return csv_bytes(rows)


def export_xlsx(resultat: dict) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, table in table_rows(resultat).items():
        sheet = workbook.create_sheet(name.capitalize())
        for row in table:
            sheet.append(xlsx_row(row))
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def chart_context(resultat: dict, contours_svg=None) -> dict:
    categories = resultat.get("categories", [])
    dimensions = [d for d in charts.DIMENSION_LABELS if any(c["dimension"] == d for c in categories)]
    carte = None
    if contours_svg:
        paths, height = contours_svg
        carte = charts.map_chart(paths, height, resultat.get("secteurs", []))
    noms = libelles.noms_secteurs(resultat.get("secteurs", []))
    cibles = [
        {
            **c,
            "public": category_label(c["dimension"], c["categorie"])
            if c["dimension"]
            else "tous les habitants",
        }
        for c in resultat.get("cibles", [])
    ]
    return {
        "chart_secteurs": charts.secteurs_chart(resultat.get("secteurs", [])),
        "charts_categories": [charts.categories_chart(categories, d) for d in dimensions],
        "carte": carte,
        "cibles": cibles,
        "noms_secteurs": noms,
        "nb_sous_frequentes": sum(1 for s in resultat.get("secteurs", []) if s["sous_frequente"]),
        "nb_sous_representes": sum(1 for c in categories if c["sous_represente"]),
        "unite": resultat.get("unite", "personnes"),
    }


def render_pdf(
    resultat: dict, *, titre: str, structure: str = "", parametres=None, contours_svg=None
) -> bytes:
    context = {
        "titre": titre,
        "structure": structure,
        "parametres": parametres or {},
        "resultat": resultat,
        "secteurs": resultat.get("secteurs", []),
        **chart_context(resultat, contours_svg),
    }
    html = render_to_string("diagnostic/rapport_pdf.html", context)
    return html_to_pdf(html)  # fetches nothing: the report embeds all it shows (SVG inline)
