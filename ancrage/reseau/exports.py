"""The network's indicators as a spreadsheet: CSV (semicolons, UTF-8 with BOM, as the other
exports) and XLSX, every cell through ``core.csv_safe``.

Pure module: no Django. The rows are ``indicators.export_rows``: one per EPN, then the total; the
XLSX adds a sheet saying what each column counts, over which period and on which day.
"""

from __future__ import annotations

import io

from ancrage.core.csv_safe import SafeWriter, xlsx_row
from ancrage.reseau.indicators import NetworkIndicators, export_rows, period_label

#: What each figure counts, in the words of the page (the XLSX's « À lire » sheet, the PDF).
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Actions (toutes)",
        "Les fiches action du lieu, quel que soit leur statut ; la période ne s’y applique pas.",
    ),
    ("Actions menées dans la période", "Les actions ayant au moins une séance dans la période."),
    ("Séances", "Les séances qui commencent dans la période."),
    ("Présences", "Chaque personne présente à chaque séance de la période."),
    (
        "Participants",
        "Les personnes différentes présentes à au moins une séance de la période, comptées par lieu : "
        "les identifiants sont propres à chaque lieu, une personne venue dans deux lieux compte deux fois.",
    ),
    (
        "Nouveaux publics",
        "Les participants dont la première visite tombe pendant l’action et qui sont dans ses publics ou "
        "secteurs visés (comme le bilan annuel du lieu).",
    ),
    (
        "Partenariats",
        "Les partenaires de l’annuaire du lieu avec qui il a travaillé (page « Les trois questions »), "
        "au jour de la situation.",
    ),
    (
        "Partenaires amenant de nouveaux publics",
        "Question 1 : les partenaires ayant orienté au moins un nouveau public sur les douze mois "
        "précédant le jour de la situation.",
    ),
    (
        "Partenariats à risque / à surveiller",
        "Question 2 : la santé des partenariats au jour de la situation.",
    ),
    (
        "Partenariats sans convention en vigueur",
        "Question 3 : les partenariats sans convention signée en vigueur.",
    ),
    (
        "Conventions proches de l’échéance",
        "Les conventions signées dont l’échéance (ou le délai de dénonciation) approche, "
        "au jour de la situation.",
    ),
    (
        "Dossiers",
        "Les dossiers de projet déposés, par état ; un brouillon reste à l’EPN et n’est pas compté.",
    ),
    (
        "Usagers, population, attendus, ratio",
        "Du dernier diagnostic de chaque lieu : ses usagers placés dans un secteur, la population de son "
        "territoire (dans les âges servis), les usagers attendus au taux moyen du réseau et leur rapport.",
    ),
)


def about_rows(network: NetworkIndicators) -> list[list[str]]:
    rows = [
        ["Période des séances", period_label(network.debut, network.fin)],
        ["Situation au", network.au.strftime("%d/%m/%Y")],
    ]
    if network.collectivite:
        rows.append(["Collectivité", network.collectivite])
    rows.append(["", ""])
    rows.append(["Colonne", "Ce qu’elle compte"])
    rows += [list(d) for d in DEFINITIONS]
    return rows


def csv_bytes(network: NetworkIndicators) -> bytes:
    buffer = io.StringIO()
    SafeWriter(buffer, delimiter=";", lineterminator="\r\n").writerows(export_rows(network))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(network: NetworkIndicators) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Indicateurs"
    rows = export_rows(network)
    for row in rows:
        sheet.append(xlsx_row(row))
    bold = Font(bold=True)
    for cell in (*sheet[1], *sheet[len(rows)]):
        cell.font = bold
    sheet.freeze_panes = "C2"
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 24
    about = workbook.create_sheet("À lire")
    for row in about_rows(network):
        about.append(xlsx_row(row))
    about.column_dimensions["A"].width = 40
    about.column_dimensions["B"].width = 110
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
