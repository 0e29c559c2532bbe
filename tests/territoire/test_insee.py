"""INSEE IRIS bases: real layouts, re-exports, vintages and special communes."""

import csv
import io
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import xlrd

from ancrage.core.importing import ImportRejected
from ancrage.territoire import insee

FIXTURES = Path(__file__).parents[1] / "fixtures" / "insee"
XLS_POP = FIXTURES / "base-ic-evol-struct-pop-2016-com.xls"
XLS_ACT = FIXTURES / "base-ic-activite-residents-2016-com-cIA.xls"


def xls_rows(path):
    sheet = xlrd.open_workbook(path).sheet_by_index(0)
    return [[c.value for c in sheet.row(r)] for r in range(sheet.nrows)]


def test_real_insee_xls_struct_pop():
    pop = insee.read_insee(XLS_POP)
    assert pop.millesime == 2016
    assert len(pop) == 16
    assert set(pop.repartitions) == {"age_fin", "age_large", "sexe", "csp"}
    # Commune without IRIS division: IRIS = commune + 0000.
    i = pop.index()["975010000"]
    assert pop.communes[i] == "97501" and pop.noms[i] == "Miquelon-Langlade"
    # SOURCE.md checks: populations of the communes, H + F = P_POP, CS sum.
    communes = insee.aggregate_population(pop)
    assert dict(zip(communes.codes, communes.total, strict=True)) == pytest.approx(
        {"97501": 596, "97502": 5412, "97701": 9793, "97801": 35746}
    )
    np.testing.assert_allclose(pop.repartitions["sexe"].values.sum(axis=1), pop.total)
    np.testing.assert_allclose(pop.repartitions["age_fin"].values.sum(axis=1), pop.total)
    np.testing.assert_allclose(pop.repartitions["age_large"].values.sum(axis=1), pop.total)
    assert pop.repartitions["csp"].complementaire and not pop.repartitions["sexe"].complementaire
    assert not pop.total_derive


def test_values_match_an_independent_read_of_the_sheet():
    rows = xls_rows(XLS_POP)
    header = rows[5]
    pop = insee.read_insee(XLS_POP)
    for row in rows[6:]:
        i = pop.index()[row[0]]
        assert pop.total[i] == row[header.index("P16_POP")]
        assert pop.repartitions["sexe"].values[i, 0] == row[header.index("P16_POPF")]
        assert pop.repartitions["csp"].values[i, 2] == row[header.index("C16_POP15P_CS3")]
        assert pop.repartitions["age_fin"].values[i, -1] == row[header.index("P16_POP80P")]


def test_real_insee_xls_activite_and_merge():
    act = insee.read_insee(XLS_ACT)
    assert set(act.repartitions) == {"activite"}
    rows = xls_rows(XLS_ACT)
    header, first = rows[5], rows[6]
    assert list(act.repartitions["activite"].values[0]) == [
        first[header.index(c)]
        for c in ("P16_ACTOCC1564", "P16_CHOM1564", "P16_ETUD1564", "P16_RETR1564", "P16_AINACT1564")
    ]
    merged = insee.merge_populations([act, insee.read_insee(XLS_POP)])
    assert not merged.total_derive and np.nansum(merged.total) == 51547
    assert set(merged.repartitions) == {"activite", "age_fin", "age_large", "sexe", "csp"}


def test_third_party_reexport_rennes():
    pop = insee.read_insee(FIXTURES / "rennes-iris-2016.csv")
    assert len(pop) == 84 and set(pop.communes) == {"35238"}
    assert pop.total_derive  # no P16_POP column: sum of the six age bands
    with open(FIXTURES / "rennes-iris-2016.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = sum(
        float(r[f"P16_POP{b}"]) for r in rows for b in ("0014", "1529", "3044", "4559", "6074", "75P")
    )
    assert pop.total.sum() == pytest.approx(expected)
    assert "sexe" not in pop.repartitions


def test_arrondissements_corsica_overseas_and_leading_zero():
    pop = insee.read_insee(FIXTURES / "habitat-2016-arrondissements-corse-outremer.csv")
    communes = set(pop.communes)
    assert {"01004", "69381", "69382", "13201", "2A004", "2B033", "97101", "97411"} <= communes
    assert insee.aggregate_population(pop).codes == tuple(sorted(communes))


def test_paris_activity_and_diploma_with_comma_delimiter():
    emploi = insee.read_insee(FIXTURES / "paris-emploi-2015-extrait.csv")
    diplomes = insee.read_insee(FIXTURES / "paris-diplomes-2015-extrait.csv")
    assert emploi.millesime == 2015 and set(emploi.repartitions) == {"activite"}
    assert diplomes.repartitions["diplome"].categories == insee.DIPLOME_CATEGORIES
    with open(FIXTURES / "paris-diplomes-2015-extrait.csv", newline="") as f:
        first = next(csv.DictReader(f))
    assert list(diplomes.repartitions["diplome"].values[0]) == [
        float(first[f"P15_NSCOL15P_{c}"]) for c in ("DIPLMIN", "CAPBEP", "BAC", "SUP")
    ]
    assert {c[:5] for c in emploi.codes} <= {f"751{a:02d}" for a in range(1, 21)}


def _as_published_csv(rows, vintage="21", delimiter=";"):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["Données infra-communales"])
    writer.writerow(["Mise en ligne le ..."])
    writer.writerow(rows[4])
    for row in rows[5:]:
        writer.writerow([str(c).replace("P16_", f"P{vintage}_").replace("C16_", f"C{vintage}_") for c in row])
    return out.getvalue()


@pytest.mark.parametrize("vintage", ["17", "19", "21", "23"])
def test_any_vintage_and_title_lines_in_csv(vintage):
    text = _as_published_csv(xls_rows(XLS_POP), vintage)
    pop = insee.read_insee(text.encode("utf-8"), "base-ic-evol-struct-pop.csv")
    assert pop.millesime == 2000 + int(vintage) and len(pop) == 16 and pop.total.sum() == 51547


def test_xlsx_with_title_lines(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "IRIS"
    for row in xls_rows(XLS_POP):
        ws.append(
            [str(c).replace("P16_", "P20_").replace("C16_", "C20_") if isinstance(c, str) else c for c in row]
        )
    path = tmp_path / "base-ic-evol-struct-pop-2020.xlsx"
    wb.save(path)
    pop = insee.read_insee(path)
    assert pop.millesime == 2020 and pop.total.sum() == 51547


def test_windows_1252_csv():
    text = _as_published_csv(xls_rows(XLS_POP))
    pop = insee.read_insee(text.encode("cp1252"), "f.csv")
    assert "Saint-Barthélemy - Centre" in pop.noms


def test_quartiers_and_qpv():
    pop = insee.read_insee(FIXTURES / "rennes-iris-2016.csv")
    mapping = insee.read_quartiers(b"code_iris;quartier\n352380901;Maurepas\n352380902;Maurepas\n", "q.csv")
    quartiers = insee.aggregate_population(pop, mapping, niveau="quartier")
    assert quartiers.codes == ("Maurepas",)
    idx = pop.index()
    assert quartiers.total[0] == pytest.approx(pop.total[idx["352380901"]] + pop.total[idx["352380902"]])
    assert insee.secteurs_qpv(pop, ["352380901"]) == {"352380901"}
    assert insee.secteurs_qpv(insee.aggregate_population(pop), ["352380901"]) == {"35238"}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "vide"),
        (b"IRIS;COM\n123;456\n", "En-tête introuvable"),
        (b"PK\x03\x04garbage", "classeur Excel"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1garbage", "classeur Excel"),
        (b"IRIS;P21_POPF;P21_POPH\n352380101;12;-4\n", "négative"),
        (b"IRIS;P21_POPF;P21_POPH\n352380101;12;abc\n", "non numérique"),
        (b"IRIS;P21_POPF;P21_POPH\n35238;12;4\n", "IRIS"),
        (b"IRIS;P21_POPF;P16_POPH\n352380101;12;4\n", "millésimes"),
        (b"IRIS;P21_FOO\n352380101;12\n", "Aucune variable"),
    ],
)
def test_bad_files_are_refused_with_located_french_messages(content, needle):
    with pytest.raises(ImportRejected) as exc:
        insee.read_insee(content, "base.csv")
    assert needle in str(exc.value)
    assert all(issue.file == "base.csv" for issue in exc.value.issues)


def test_all_issues_reported_with_line_and_column():
    content = b"IRIS;COM;P21_POPF;P21_POPH\n352380101;35238;12;-4\n352380102;35000;1;x\n"
    with pytest.raises(ImportRejected) as exc:
        insee.read_insee(content, "base.csv")
    places = [(i.line, i.column) for i in exc.value.issues]
    assert places == [(2, "D"), (3, "B"), (3, "D")]
