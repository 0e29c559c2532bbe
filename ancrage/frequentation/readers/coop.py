"""The XLSX activity export of La Coop de la médiation numérique (one row per accompaniment,
sectors are communes, see ``design/COOP_EXPORT.md``).

Pure module: no Django.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection

from ancrage.core.importing import IssueCollector
from ancrage.frequentation.readers.labels import COOP_AGE_FOLDED, fold_label
from ancrage.frequentation.readers.records import Accompagnement, Frequentation, Progress
from ancrage.frequentation.readers.usagers import placement
from ancrage.territoire.insee import (
    COMMUNE_RE,
    Source,
    cell_text,
    column_letter,
    load_bytes,
    normalise_commune,
    reject,
    sniff_format,
    spreadsheet_sheets,
)

COOP_SEXE = {"Masculin": "H", "Féminin": "F"}
COOP_STATUT = {
    "Scolarisé": "etudiant",
    "Sans emploi": "chomeur",
    "En emploi": "actif_occupe",
    "Retraité": "retraite",
}
NON_COMMUNIQUE = ("Non communiqué", "Non communiqué ou hétérogène")


# --- La Coop XLSX export --------------------------------------------------------------------------

COOP_COLUMNS = {
    "date": "Date",
    "type": "Type",
    "code_commune": "Code Insee du bénéficiaire",
    "sexe": "Genre du bénéficiaire",
    "tranche_age": "Tranche d’âge du bénéficiaire",
    "situation": "Statut du bénéficiaire",
    "id_cra": "ID CRA",
}
COOP_REQUIRED = ("code_commune", "sexe", "tranche_age", "situation")
COOP_FOLDED = {fold_label(v): k for k, v in COOP_COLUMNS.items()}


def read_coop_export(
    source: Source,
    filename: str | None = None,
    *,
    secteurs_connus: Collection[str] | None = None,
    progress: Progress | None = None,
) -> Frequentation:
    """Read La Coop's activity export (XLSX). Unit: accompaniments; sectors: communes."""
    data, file = load_bytes(source, filename)
    if not data.strip():
        raise reject(file, "Le fichier est vide.")
    if sniff_format(data) != "xlsx":
        raise reject(
            file, "Ce fichier n'est pas un classeur Excel (.xlsx) : l'export de La Coop est un fichier XLSX."
        )
    # While the workbook is read, ``progress(0, 0)`` marks a chunk boundary that reports no count.
    tick = (lambda: progress(0, 0)) if progress else None
    sheet, rows, header_index, columns = _header(spreadsheet_sheets(data, "xlsx", file, tick=tick), file)
    issues = IssueCollector(file, sheet)
    records: list[Accompagnement] = []
    total = len(rows) - header_index - 1
    sexe_f = {fold_label(k): v for k, v in COOP_SEXE.items()}
    statut_f = {fold_label(k): v for k, v in COOP_STATUT.items()}
    unknown = {fold_label(v) for v in NON_COMMUNIQUE} | {""}

    def get(row, key) -> tuple[str, str]:
        j = columns.get(key)
        if j is None:
            return "", ""
        return (cell_text(row[j]) if j < len(row) else ""), column_letter(j)

    for k, row in enumerate(rows[header_index + 1 :]):
        line = header_index + 2 + k
        if progress and k % 1000 == 0:
            progress(k, total)
        if not any(cell_text(c) for c in row):
            continue
        before = len(issues.issues)
        raw, letter = get(row, "sexe")
        sexe = sexe_f.get(fold_label(raw))
        if sexe is None and fold_label(raw) not in unknown:
            issues.add(f"Genre « {raw} » non reconnu.", line=line, column=letter)
        raw, letter = get(row, "tranche_age")
        tranche = COOP_AGE_FOLDED.get(fold_label(raw))
        if tranche is None and fold_label(raw) not in unknown:
            issues.add(f"Tranche d'âge « {raw} » non reconnue.", line=line, column=letter)
        raw, letter = get(row, "situation")
        situation = statut_f.get(fold_label(raw))
        if situation is None and fold_label(raw) not in unknown:
            issues.add(f"Statut « {raw} » non reconnu.", line=line, column=letter)
        raw, letter = get(row, "code_commune")
        commune = normalise_commune(raw) if raw else None
        if commune is not None:
            if not COMMUNE_RE.match(commune):
                issues.add(
                    f"Code Insee « {raw} » invalide (5 caractères attendus).", line=line, column=letter
                )
            # A commune outside the imported population is kept: the diagnostic counts it apart.
        j = columns.get("date")
        value = row[j] if j is not None and j < len(row) else None
        date = (
            value.date() if isinstance(value, dt.datetime) else value if isinstance(value, dt.date) else None
        )
        raw, _ = get(row, "type")
        ident, _ = get(row, "id_cra")
        if len(issues.issues) == before:
            records.append(
                Accompagnement(
                    ligne=line,
                    date=date,
                    type=raw,
                    id_cra=ident or None,
                    tranche_age=tranche,
                    sexe=sexe,
                    situation=situation,
                    code_commune=commune,
                )
            )
    if not records and not issues:
        issues.add("L'export ne contient aucun accompagnement.", line=header_index + 1)
    issues.raise_if_any()
    if progress:
        progress(total, total)
    non_places = Counter(placement(None, r.code_commune, secteurs_connus) for r in records)
    non_places.pop(None, None)
    return Frequentation(
        unite="accompagnements",
        source="coop",
        fichier=file,
        individus=tuple(records),
        niveau="commune",
        infos={"non_places": dict(sorted(non_places.items()))},
    )


def _header(sheets, file: str) -> tuple[str, list, int, dict[str, int]]:
    """The sheet holding the export's header (« Activités » first), its rows, the header's index
    and the column of each known field."""
    for name, rows in sorted(sheets, key=lambda s: s[0] != "Activités"):
        for i, row in enumerate(rows[:200]):
            cells = {fold_label(cell_text(c)): j for j, c in enumerate(row) if cell_text(c)}
            matched = {COOP_FOLDED[c]: j for c, j in cells.items() if c in COOP_FOLDED}
            if all(k in matched for k in COOP_REQUIRED):
                return name, rows, i, matched
    raise reject(
        file,
        "Ligne d'en-tête de l'export de La Coop introuvable : les colonnes "
        + ", ".join(f"« {COOP_COLUMNS[k]} »" for k in COOP_REQUIRED)
        + " sont obligatoires.",
    )
