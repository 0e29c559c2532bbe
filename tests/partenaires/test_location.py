"""Locating a place: point in polygon, commune from its code INSEE or its name and postal code."""

import math

from hypothesis import given
from hypothesis import strategies as st

from ancrage.partenaires.location import (
    OutlineIndex,
    commune_code,
    departements_of_postal_code,
    distance_km,
    in_geometry,
    locate,
)
from tests.properties import examples

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]]}
WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
        [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]],
    ],
}


def test_point_in_polygon_with_holes_and_multipolygons():
    assert in_geometry(2, 2, SQUARE)
    assert not in_geometry(5, 2, SQUARE)
    assert not in_geometry(2, 2, WITH_HOLE)
    assert in_geometry(0.5, 0.5, WITH_HOLE)
    multi = {
        "type": "MultiPolygon",
        "coordinates": [SQUARE["coordinates"], [[[10, 10], [11, 10], [11, 11], [10, 10]]]],
    }
    assert in_geometry(10.8, 10.2, multi)
    assert not in_geometry(1, 1, {"type": "Point", "coordinates": [1, 1]})


@given(st.floats(0.01, 3.99), st.floats(0.01, 3.99))
@examples(50)
def test_every_point_strictly_inside_the_square_is_in_it(x, y):
    assert in_geometry(x, y, SQUARE)


def test_outline_index_names_the_iris_or_the_commune():
    index = OutlineIndex(
        {"352380501": SQUARE, "35051": {"type": "Polygon", "coordinates": [[[5, 0], [6, 0], [6, 1], [5, 0]]]}}
    )
    assert index.locate(1, 1) == "352380501"
    assert index.locate(100, 100) is None
    located = locate(latitude=1, longitude=1, code_insee="16015", outlines=index)
    assert (located.iris, located.commune) == ("352380501", "35238")
    # Outside every outline: the code INSEE.
    assert locate(latitude=50, longitude=50, code_insee="16015", outlines=index).commune == "16015"
    assert not OutlineIndex({})


def test_commune_from_code_insee_or_from_its_name_in_the_postal_code_departement():
    assert commune_code("35238") == ("35238", "code INSEE")
    assert commune_code("", "16100", "CHÂTEAUBERNARD") == ("16089", "nom de la commune et code postal")
    assert commune_code("", "35000", "rennes")[0] == "35238"
    # Paris's arrondissement counts as Paris.
    assert commune_code("75112")[0] == "75056"
    assert commune_code("99999", "", "") == ("", "")
    assert commune_code("", "35000", "Commune qui n'existe pas") == ("", "")
    assert departements_of_postal_code("20000") == ("2A", "2B")
    assert departements_of_postal_code("97400") == ("974",)
    assert departements_of_postal_code("3500") == ()


def test_distance_rennes_angouleme_is_about_290_km():
    assert math.isclose(distance_km(48.1113, -1.6800, 45.6484, 0.1562), 309, rel_tol=0.03)
    assert distance_km(48.1, -1.6, 48.1, -1.6) == 0
