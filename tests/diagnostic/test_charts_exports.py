import csv
import io

import numpy as np
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
    # Coordinates are strings with a plain dot decimal: French localisation never touches them.
    assert all("," not in first[key] for key in ("ci_lo", "w", "ci_hi"))
    assert first["flagged"] and float(first["ci_lo"]) < chart["x0"] + float(first["w"]) < float(
        first["ci_hi"]
    )
    assert chart["reference"] == pytest.approx(10.0)
    cat = charts.categories_chart(RESULT["categories"], "age")["bars"][0]
    assert float(cat["ci_lo"]) < float(cat["ci_hi"]) and cat["label"] == "personnes de 60 à 74 ans"


def test_funnel_limits_and_points():
    """Exact Poisson limits around 1 (narrower for larger sectors); points in plot coordinates,
    written with a dot; sectors under 10 expected users grey."""
    secteurs = [
        {"code": "a", "nom": "A", "usagers": 5, "usagers_attendus": 6.0, "ratio_standardise": 5 / 6,
         "ratio_ic95": [0.27, 1.94], "sous_frequente": False},
        {"code": "b", "nom": "B", "usagers": 40, "usagers_attendus": 100.0, "ratio_standardise": 0.4,
         "ratio_ic95": [0.29, 0.54], "sous_frequente": True},
    ]  # fmt: skip
    f = charts.funnel_chart(secteurs)
    assert f["n"] == 2 and all("," not in p["cx"] + p["cy"] for p in f["points"])
    grey, red = f["points"]
    assert grey["couleur"] == "#bbbbbb" and red["couleur"] == charts.COULEUR_ALERTE
    from ancrage.diagnostic import stats

    lo95, hi95 = stats.funnel_limits(np.array([10.0, 100.0, 1000.0]), 0.95)
    lo998, _ = stats.funnel_limits(np.array([100.0]), 0.998)
    assert (np.diff(lo95) > 0).all() and (np.diff(hi95) < 0).all() and lo998[0] < lo95[1] < 1
    assert lo95[2] == pytest.approx(1 - 1.96 / np.sqrt(1000), abs=0.01)  # the normal limit, for large E


def test_funnel_labels_of_points_of_the_same_reach_do_not_overlap():
    """Two places of nearly the same reach and ratio (the demo's Blosne and Cesson-Sévigné): their
    names are written a line apart, not one over the other."""
    lieux = [
        {"code": str(i), "nom": nom, "usagers": u, "usagers_attendus": e, "ratio_standardise": u / e,
         "ratio_ic95": [0.8, 1.1], "sous_frequente": False}
        for i, (nom, u, e) in enumerate(
            [("Espace numérique de Cesson-Sévigné (démo)", 175, 178.0), ("EPN du Blosne (démo)", 176, 180.0),
             ("Espace numérique de Vitré (démo)", 310, 190.0)]
        )
    ]  # fmt: skip
    points = charts.funnel_chart(lieux, objet="lieu", objets="lieux", etiquettes=True)["points"]
    boxes = []
    for p in points:
        x, y, width = float(p["etiquette_x"]), float(p["etiquette_y"]), len(p["etiquette"]) * 5.6
        boxes.append(((x - width, x) if p["etiquette_ancre"] == "end" else (x, x + width), y))
    for i, ((a0, a1), ay) in enumerate(boxes):
        for (b0, b1), by in boxes[i + 1 :]:
            assert not (a0 < b1 and b0 < a1 and abs(ay - by) < 13), (boxes, points)
    # Without the spreading, the first two would overlap: the test reads a real collision.
    assert abs(float(points[0]["cy"]) - float(points[1]["cy"])) < 13


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


def test_the_map_colours_the_smoothed_ratio_and_greys_small_sectors():
    """An IRIS of 90 inhabitants with 3 users: its raw ratio says "more than 120 %", its smoothed
    ratio is near the territory's, and with fewer than 10 expected users it is greyed out."""
    secteurs = [
        {"code": "a", "nom": "Petit", "usagers": 3, "population": 90,
         "ratio_standardise": 2.5, "ratio_lisse": 1.05, "attendus_faibles": True, "sous_frequente": False},
        {"code": "b", "nom": "Grand", "usagers": 40, "population": 9000,
         "ratio_standardise": 0.45, "ratio_lisse": 0.47, "attendus_faibles": False, "sous_frequente": True},
        {"code": "c", "nom": "Ancien", "usagers": 9, "population": 500,
         "ratio_standardise": 1.3, "sous_frequente": False},
    ]  # fmt: skip
    drawing = {"paths": {"a": "M0 0", "b": "M1 1", "c": "M2 2"}, "width": "600", "height": "412.5",
               "view_box": "0 0 600 412.5"}  # fmt: skip
    carte = charts.map_chart(drawing, secteurs)
    shapes = {s["code"]: s for s in carte["shapes"]}
    assert shapes["a"]["grise"] and shapes["a"]["fill"] == "#dddddd" and shapes["a"]["ratio_lisse"] == 1.05
    assert shapes["b"]["fill"] == "#f4bfb1" and shapes["b"]["stroke_width"] == "2.5"
    assert shapes["c"]["fill"] == "#6a6af4"  # a result saved before smoothing: its raw ratio
    assert carte["height"] == "412.5" and [s["code"] for s in carte["shapes"]][-1] == "b"
    rows = {r["code"]: r for r in carte["rows"]}
    assert rows["a"]["rapport"] == "250 %" and rows["a"]["rapport_lisse"] == "105 %"  # the table: both
    legende = {entry["label"]: entry["nombre"] for entry in carte["legende"]}
    assert legende[charts.MAP_FAIBLE[1]] == 1
