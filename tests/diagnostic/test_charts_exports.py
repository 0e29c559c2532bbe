import csv
import io

import pytest

from ancrage.core.importing import ImportRejected
from ancrage.diagnostic import charts, rapport
from ancrage.territoire import geo

RESULT = {
    "unite": "personnes",
    "secteurs": [
        {
            "code": "352380101",
            "nom": "=cmd|' /C calc'!A0",
            "population": 2000,
            "usagers": 10,
            "taux_pour_mille": 5.0,
            "ic95": [2.4, 9.2],
            "ratio_standardise": 0.5,
            "sous_frequente": True,
        },
        {
            "code": "352380102",
            "nom": "B",
            "population": 1000,
            "usagers": 20,
            "taux_pour_mille": 20.0,
            "ic95": [12.2, 30.9],
            "ratio_standardise": 1.6,
            "sous_frequente": False,
        },
    ],
    "categories": [
        {
            "dimension": "age",
            "categorie": "60-74",
            "population": 500,
            "usagers": 1,
            "part_population": 0.2,
            "part_usagers": 0.05,
            "indice_representation": 0.25,
            "ic95": [0.01, 0.1],
            "sous_represente": True,
            "usagers_manquants": -3.5,
            "approximation": False,
        },
    ],
    "cibles": [
        {
            "rang": 1,
            "dimension": "age",
            "categorie": "60-74",
            "secteur": None,
            "priorites": ["seniors"],
            "score": 12.0,
            "explication": "@SUM(1)",
        }
    ],
}


def test_bars_carry_their_intervals_in_plot_coordinates():
    chart = charts.secteurs_chart(RESULT["secteurs"])
    first = chart["bars"][0]
    assert first["flagged"] and first["ci_lo"] < chart["x0"] + first["w"] < first["ci_hi"]
    assert chart["reference"] == pytest.approx(10.0)
    cat = charts.categories_chart(RESULT["categories"], "age")["bars"][0]
    assert cat["ci_lo"] < cat["ci_hi"] and cat["label"] == "personnes de 60 à 74 ans"


def test_exports_escape_formulas_but_keep_numbers():
    text = rapport.export_csv(RESULT).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert ["'=cmd|' /C calc'!A0"] == [r[1] for r in rows if r and r[0] == "352380101"]
    assert any("-3.5" in r for r in rows)  # a negative number stays a number
    assert "'@SUM(1)" in text
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(rapport.export_xlsx(RESULT)))
    assert workbook["Secteurs"]["B2"].value.startswith("'=")
    assert workbook["Categories"]["K2"].value == -3.5


def test_comparison_matches_codes():
    after = {**RESULT, "secteurs": [{**RESULT["secteurs"][0], "taux_pour_mille": 8.0}]}
    table = charts.comparaison(RESULT, after)
    assert table["secteurs"][0]["evolution"] == pytest.approx(3.0)


def test_geojson_reader_and_projection():
    good = (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"352380101"},'
        b'"geometry":{"type":"Polygon","coordinates":[[[-1.68,48.11],[-1.67,48.11],[-1.67,48.12],[-1.68,48.11]]]}}]}'
    )
    contours = geo.read_contours(good, "c.geojson", codes_connus={"352380101"})
    drawing = geo.svg_paths(contours)
    assert drawing["paths"]["352380101"].startswith("M") and float(drawing["height"]) > 0
    with pytest.raises(ImportRejected, match="Aucun des 1 contours"):
        geo.read_contours(good, "c.geojson", codes_connus={"352380102"})
    lambert = good.replace(b"-1.68", b"351000").replace(b"48.11", b"6789000")
    with pytest.raises(ImportRejected, match="Lambert-93"):
        geo.read_contours(lambert, "c.geojson")
    with pytest.raises(ImportRejected, match="c.geojson"):
        geo.read_contours(b"{pas du json", "c.geojson")
