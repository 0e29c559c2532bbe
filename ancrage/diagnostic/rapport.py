"""The diagnostic as documents: the PDF report for the collectivité, CSV and XLSX exports.

Used by the pages and by the ``diagnostic`` command (which has no database): everything here
works from the result dict alone.
"""

import io

from django.template.loader import render_to_string

from ancrage.core.csv_safe import SafeWriter, xlsx_row
from ancrage.core.pdf import html_to_pdf
from ancrage.diagnostic import charts, placement
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
    # Added with the ranges and the ages served (older columns keep their place).
    "ratio_ic95_bas",
    "ratio_ic95_haut",
    "usagers_attendus",
    "usagers_manquants",
    "usagers_manquants_ic95_bas",
    "usagers_manquants_ic95_haut",
    "ratio_lisse",
    "population_eligible",
    "taux_pour_mille_tous_ages",
    "moins_de_10_attendus",
    "estimation_recensement",
    "qvalue",
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
    "usagers_manquants_ic95_bas",
    "usagers_manquants_ic95_haut",
    "indice_ic95_bas",
    "indice_ic95_haut",
    "usagers_estimes",
    "part_attendue",
    "standardise_age",
    "estimation_recensement",
    "qvalue",
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
    "usagers_manquants",
    "usagers_manquants_ic95_bas",
    "usagers_manquants_ic95_haut",
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
            *(s.get("ratio_ic95") or [None, None]),
            s.get("usagers_attendus"),
            s.get("usagers_manquants"),
            *(s.get("usagers_manquants_ic95") or [None, None]),
            s.get("ratio_lisse"),
            s.get("population_eligible"),
            s.get("taux_pour_mille_tous_ages"),
            _yes(s.get("attendus_faibles")),
            _yes(s.get("estimation_recensement")),
            s.get("qvalue"),
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
            *(c.get("usagers_manquants_ic95") or [None, None]),
            *(c.get("indice_ic95") or [None, None]),
            c.get("usagers_estimes"),
            c.get("part_attendue"),
            _yes(c.get("standardise_age")),
            _yes(c.get("estimation_recensement")),
            c.get("qvalue"),
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
            c.get("usagers_manquants"),
            *(c.get("usagers_manquants_ic95") or [None, None]),
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
    carte = charts.map_chart(contours_svg, resultat.get("secteurs", []))
    noms = libelles.noms_secteurs(resultat.get("secteurs", []))
    cibles = [
        {
            **c,
            "public": category_label(c["dimension"], c["categorie"])
            if c["dimension"]
            else "tous les habitants",
            "score_txt": charts.sig3(c["score"]),
        }
        for c in resultat.get("cibles", [])
    ]
    return {
        "chart_secteurs": charts.secteurs_chart(resultat.get("secteurs", [])),
        "chart_entonnoir": charts.funnel_chart(resultat.get("secteurs", [])),
        "public": resultat.get("public") or {"libelle": "tous âges", "ages": None},
        "categories_affichees": [_affiche_categorie(c) for c in categories],
        "charts_categories": [charts.categories_chart(categories, d) for d in dimensions],
        "carte": carte,
        "cibles": cibles,
        "noms_secteurs": noms,
        "nb_sous_frequentes": sum(1 for s in resultat.get("secteurs", []) if s["sous_frequente"]),
        "nb_sous_representes": sum(1 for c in categories if c["sous_represente"]),
        "unite": resultat.get("unite", "personnes"),
        "non_places": placement.resume(resultat),
    }


def _range(values, max_decimals: int | None = None) -> str:
    if not values or values[0] is None or values[1] is None:
        return ""
    return f"{charts.sig3(values[0], max_decimals)} – {charts.sig3(values[1], max_decimals)}"


def affiche_secteurs(secteurs) -> list[dict]:
    """The sectors of one page of the table, with their display texts."""
    return [_affiche_secteur(s) for s in secteurs]


def _affiche_secteur(s: dict) -> dict:
    """A sector's figures for the page and the PDF: rounded to 3 significant digits, as text."""
    return {
        **s,
        "population_txt": charts.sig3(s.get("population_eligible", s["population"])),
        "taux_txt": charts.sig3(s["taux_pour_mille"]),
        "taux_ic_txt": _range(s.get("ic95")),
        "ratio_txt": charts.sig3(s["ratio_standardise"]),
        "ratio_ic_txt": _range(s.get("ratio_ic95")),
        "manquants_txt": charts.sig3(s.get("usagers_manquants"), 1),
        "manquants_ic_txt": _range(s.get("usagers_manquants_ic95"), 1),
        "prudence": bool(s.get("prudence", False)),
    }


def _affiche_categorie(c: dict) -> dict:
    pct = charts._pct
    ic = c.get("ic95") or [None, None]
    return {
        **c,
        "libelle": category_label(c["dimension"], c["categorie"]),
        "part_population_txt": pct(c["part_population"]),
        "part_usagers_txt": pct(c["part_usagers"]),
        "part_ic_txt": f"{pct(ic[0])} – {pct(ic[1])}",
        "indice_txt": charts.sig3(c["indice_representation"]),
        "indice_ic_txt": _range(c.get("indice_ic95")),
        "manquants_txt": charts.sig3(c["usagers_manquants"], 1),
        "manquants_ic_txt": _range(c.get("usagers_manquants_ic95"), 1),
        "estime": bool(c.get("approximation")),
    }


def render_pdf_html(
    resultat: dict, *, titre: str, structure: str = "", parametres=None, contours_svg=None
) -> str:
    """The report's HTML, which WeasyPrint prints (``render_pdf``): the map and charts inline."""
    context = {
        "titre": titre,
        "structure": structure,
        "parametres": parametres or {},
        "resultat": resultat,
        "secteurs": affiche_secteurs(resultat.get("secteurs", [])),
        **chart_context(resultat, contours_svg),
    }
    return render_to_string("diagnostic/rapport_pdf.html", context)


def render_pdf(
    resultat: dict, *, titre: str, structure: str = "", parametres=None, contours_svg=None
) -> bytes:
    html = render_pdf_html(
        resultat, titre=titre, structure=structure, parametres=parametres, contours_svg=contours_svg
    )
    return html_to_pdf(html)  # fetches nothing: the report embeds all it shows (SVG inline)
