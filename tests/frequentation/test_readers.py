"""Attendance readers: correct files, edge cases, and random input that must never crash."""

import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ancrage.core.importing import ImportRejected
from ancrage.frequentation import readers
from tests.properties import examples

FIXTURES = Path(__file__).parents[1] / "fixtures" / "frequentation"
CORRECT = FIXTURES / "correct-files"
EDGE = FIXTURES / "edge-cases"
KNOWN = {"352380101", "352380102", "352380201", "35238", "35051"}


def test_template_is_the_documented_header():
    header = readers.TEMPLATE_PATH.read_text(encoding="utf-8").strip()
    assert header.split(";") == list(readers.USAGERS_COLUMNS)
    with pytest.raises(ImportRejected, match="aucun usager"):
        readers.read_usagers(readers.TEMPLATE_PATH)


def test_the_format_page_documents_the_readers_columns():
    # The columns are listed once in code (readers.USAGERS_COLUMNS); the user's page must follow.
    page = (Path(__file__).resolve().parents[2] / "docs" / "formats" / "usagers.md").read_text(
        encoding="utf-8"
    )
    assert ";".join(readers.USAGERS_COLUMNS) in page.splitlines()
    table = re.findall(r"^\| `(\w+)` \|", page, flags=re.MULTILINE)
    assert table == list(readers.USAGERS_COLUMNS)
    optional = readers.USAGERS_COLUMNS[len(readers.USAGERS_REQUIRED) :]
    assert " et ".join(f"`{c}`" for c in optional) + " peuvent manquer" in " ".join(page.split())


def test_usagers_file():
    freq = readers.read_usagers(CORRECT / "usagers.csv", secteurs_connus=KNOWN, current_year=2025)
    assert freq.unite == "personnes" and freq.niveau == "iris" and len(freq) == 5
    u1, u2, u3, u4, u5 = freq.individus
    assert (u1.annee_naissance, u1.sexe, u1.csp, u1.situation) == (1958, "F", "CS7", "retraite")
    assert u1.premiere_visite == dt.date(2024, 9, 12) and u1.oriente_par == "CCAS de Rennes"
    assert u2.tranche_age == (15, 30) and u2.situation == "etudiant"
    assert u3.code_iris is None and u3.code_commune == "35238"
    assert u4.tranche_age == (75, None) and u4.sexe is None
    assert u5.tranche_age == (25, 40) and u5.situation == "chomeur"


def test_usagers_bom_comma_crlf_quotes():
    freq = readers.read_usagers(CORRECT / "usagers-bom-virgule.csv")
    assert [u.identifiant for u in freq.individus] == ["A-1", "A-2"]
    assert freq.individus[0].oriente_par == 'Association "Les Liens", Rennes'
    assert freq.individus[1].tranche_age == (60, 75)


def test_windows_1252_is_read():
    freq = readers.read_usagers(EDGE / "windows-1252.csv")
    assert freq.individus[0].situation == "retraite"
    assert freq.individus[1].oriente_par == "Maison de quartier Bréquigny"


def test_coop_export():
    freq = readers.read_coop_export(CORRECT / "export-coop.xlsx", secteurs_connus=KNOWN)
    assert freq.unite == "accompagnements" and freq.niveau == "commune"
    assert len(freq.individus) == 6  # a workshop of 3 is 3 rows
    first = freq.individus[0]
    assert (first.sexe, first.tranche_age, first.situation, first.code_commune) == (
        "F",
        (60, 70),
        "retraite",
        "35238",
    )
    assert first.date == dt.date(2025, 3, 3)
    unknown = freq.individus[3]
    assert (unknown.sexe, unknown.tranche_age, unknown.situation) == (None, None, None)
    assert freq.individus[5].code_commune is None


def test_coop_export_refuses_unknown_values(tmp_path):
    wb = openpyxl.load_workbook(CORRECT / "export-coop.xlsx")
    ws = wb["Activités"]
    header_row = next(r for r in ws.iter_rows() if r[0].value == "Date")[0].row
    ws.cell(header_row + 1, 24).value = "Autre"
    ws.cell(header_row + 2, 23).value = "ABC"
    path = tmp_path / "coop.xlsx"
    wb.save(path)
    with pytest.raises(ImportRejected) as exc:
        readers.read_coop_export(path)
    issues = exc.value.issues
    assert [(i.sheet, i.line, i.column) for i in issues] == [
        ("Activités", header_row + 1, "X"),
        ("Activités", header_row + 2, "W"),
    ]
    assert "Genre « Autre » non reconnu" in str(exc.value)


def test_aggregated_counts():
    freq = readers.read_aggregated(CORRECT / "agrege.csv", secteurs_connus=KNOWN)
    assert freq.niveau == "iris" and freq.source == "agrege"
    assert [(a.code_secteur, a.dimension, a.categorie, a.usagers) for a in freq.agregats[:3]] == [
        ("352380101", "total", "", 40),
        ("352380101", "age", "15-29", 12),
        ("352380101", "age", "60-74", 3),
    ]
    assert freq.agregats[-1].categorie == "CS6"


@pytest.mark.parametrize(
    ("reader", "name", "message", "line", "column"),
    [
        (readers.read_usagers, "mauvais-separateur.csv", "séparateur", None, None),
        (readers.read_usagers, "colonne-manquante.csv", "« tranche_age »", 1, None),
        (readers.read_aggregated, "nombres-negatifs.csv", "négatif", 2, "usagers"),
        (readers.read_usagers, "fichier-vide.csv", "vide", None, None),
        (readers.read_aggregated, "fichier-vide.csv", "vide", None, None),
        (readers.read_coop_export, "pas-un-classeur.xlsx", "n'est pas un classeur Excel", None, None),
    ],
)
def test_edge_cases_are_refused_with_located_messages(reader, name, message, line, column):
    kwargs = {"secteurs_connus": KNOWN}
    with pytest.raises(ImportRejected) as exc:
        reader(EDGE / name, **kwargs)
    first = exc.value.issues[0]
    assert message in str(exc.value)
    assert first.file == name and first.line == line and first.column == column


def test_insee_reader_refuses_a_fake_workbook():
    from ancrage.territoire.insee import read_insee

    with pytest.raises(ImportRejected, match="extension Excel"):
        read_insee(EDGE / "pas-un-classeur.xlsx")


def test_every_problem_of_a_bad_file_is_listed():
    with pytest.raises(ImportRejected) as exc:
        readers.read_usagers(EDGE / "valeurs-invalides.csv", current_year=2025)
    columns = [(i.line, i.column) for i in exc.value.issues]
    assert columns == [
        (2, "annee_naissance"),
        (2, "sexe"),
        (2, "csp"),
        (2, "situation"),
        (2, "code_iris"),
        (2, "premiere_visite"),
        (3, "identifiant"),
    ]
    assert "Fichier « valeurs-invalides.csv », ligne 2, colonne sexe : Sexe « X » non reconnu" in str(
        exc.value
    )


def test_a_file_with_errors_returns_nothing():
    good = "identifiant;annee_naissance;tranche_age;sexe;csp;situation;code_iris;code_commune\n"
    content = good + "u1;1980;;F;;;;35238\n" + "u2;1980;;Z;;;;35238\n"
    with pytest.raises(ImportRejected) as exc:
        readers.read_usagers(content.encode(), "u.csv")
    assert len(exc.value.issues) == 1


def test_progress_is_reported():
    calls = []
    readers.read_usagers(CORRECT / "usagers.csv", progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 5) and calls[-1] == (5, 5)


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("15-29", (15, 30)),
        ("75+", (75, None)),
        ("Moins de 12 ans", (0, 12)),
        ("70 ans et plus", (70, None)),
        ("12 - 17 ans", (12, 18)),
        ("abc", None),
        ("30-10", None),
    ],
)
def test_parse_age_band(text, band):
    assert readers.parse_age_band(text) == band


# --- Property-based: any input gives records or ImportRejected, never another exception ---------

HEADER = ";".join(readers.USAGERS_COLUMNS)
cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
row = st.lists(cell, min_size=0, max_size=12).map(lambda cells: ";".join(cells))


@examples(300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400))
@pytest.mark.parametrize("reader", [readers.read_usagers, readers.read_aggregated, readers.read_coop_export])
def test_random_bytes_never_crash(reader, data):
    try:
        reader(data, "aleatoire.csv")
    except ImportRejected as exc:
        assert exc.issues and all(i.file == "aleatoire.csv" for i in exc.issues)


@examples(300, deadline=None)
@given(st.lists(row, max_size=8), st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_bad_rows_never_crash_and_are_located(rows, encoding):
    text = "\n".join([HEADER, *rows])
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    try:
        freq = readers.read_usagers(data, "u.csv")
    except ImportRejected as exc:
        for issue in exc.issues:
            assert issue.file == "u.csv"
            assert issue.message and issue.message[0].isupper()
    else:
        assert all(isinstance(u, readers.Usager) for u in freq.individus)


@examples(200, deadline=None)
@given(st.lists(st.tuples(cell, cell, cell, cell), max_size=8))
def test_aggregated_bad_rows_never_crash(rows):
    text = "code_secteur;dimension;categorie;usagers\n" + "\n".join(";".join(r) for r in rows)
    try:
        readers.read_aggregated(text.encode("utf-8"), "a.csv")
    except ImportRejected as exc:
        assert all(i.file == "a.csv" for i in exc.issues)


@examples(50, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(cell, st.integers(), st.floats(allow_nan=False), st.none()), max_size=6),
        max_size=6,
    )
)
def test_random_workbooks_never_crash(rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(
        [
            "Genre du bénéficiaire",
            "Tranche d’âge du bénéficiaire",
            "Statut du bénéficiaire",
            "Code Insee du bénéficiaire",
        ]
    )
    for r in rows:
        ws.append([c if not isinstance(c, str) else ILLEGAL_CHARACTERS_RE.sub("", c).lstrip("=") for c in r])
    buffer = io.BytesIO()
    wb.save(buffer)
    try:
        readers.read_coop_export(buffer.getvalue(), "coop.xlsx")
    except ImportRejected as exc:
        assert all(i.file == "coop.xlsx" and i.line for i in exc.issues)
