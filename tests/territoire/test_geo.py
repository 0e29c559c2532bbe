"""Reading sector outlines as IGN publishes them, and drawing them.

The fixture ``tests/fixtures/geo/iris-ge-extrait`` holds six real IRIS of Villeurbanne from IGN's
IRIS-GE shapefile (Lambert-93), records unchanged (scripts/build_demo_villeurbanne.py).
"""

import io
import json
import math
import re
import sqlite3
import struct
import zipfile
from pathlib import Path

import pyproj
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.core.importing import ImportRejected
from ancrage.territoire import geo, simplify
from tests.properties import examples

FIXTURE = Path(__file__).parents[1] / "fixtures" / "geo" / "iris-ge-extrait"
GRATTE_CIEL = "692661101"
CODES = {"692661101", "692661201", "692661202", "692661203", "692661204", "692661205"}
# Villeurbanne, generously: every point of its IRIS lies inside.
VILLEURBANNE_BOUNDS = (4.84, 45.74, 4.95, 45.80)
SUFFIXES = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def shapefile_zip(skip=(), folder="IRIS_GE/", change=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix in SUFFIXES:
            if suffix in skip:
                continue
            data = (FIXTURE / f"IRIS_GE{suffix}").read_bytes()
            if change and suffix in change:
                data = change[suffix](data)
            archive.writestr(f"{folder}IRIS_GE{suffix}", data)
    return buffer.getvalue()


def messages(error: pytest.ExceptionInfo) -> str:
    return " | ".join(str(issue) for issue in error.value.issues)


def all_points(contours):
    for geometry in contours.values():
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        for polygon in polygons:
            for ring in polygon:
                yield from ring


def test_ign_shapefile_in_lambert93_is_read_into_wgs84():
    contours = geo.read_contours(shapefile_zip(), "CONTOURS-IRIS.zip")
    assert set(contours) == CODES
    assert "2154" in contours.projection
    lon0, lat0, lon1, lat1 = VILLEURBANNE_BOUNDS
    assert all(lon0 < lon < lon1 and lat0 < lat < lat1 for lon, lat in all_points(contours))
    assert contours.noms[GRATTE_CIEL] == "Villeurbanne - Gratte-Ciel"
    # Simplified to about a metre: fewer points, every ring still closed.
    assert 0 < contours.points < contours.points_lus
    for geometry in contours.values():
        assert geometry["type"] == "Polygon"
        assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in geometry["coordinates"])


def test_known_codes_filter_the_file_and_a_file_without_any_is_refused():
    contours = geo.read_contours(shapefile_zip(), "c.zip", codes_connus={GRATTE_CIEL, "352380101"})
    assert set(contours) == {GRATTE_CIEL} and contours.ignores == 5
    with pytest.raises(ImportRejected) as error:
        geo.read_contours(shapefile_zip(), "c.zip", codes_connus={"352380101"})
    assert "Aucun des 6 contours" in messages(error) and "c.zip" in messages(error)


def test_a_shapefile_without_its_dbf_or_prj_or_alone_says_what_is_missing():
    with pytest.raises(ImportRejected) as error:
        geo.read_contours(shapefile_zip(skip={".dbf"}), "c.zip")
    assert "IRIS_GE.dbf" in messages(error) and "c.zip" in messages(error)
    with pytest.raises(ImportRejected) as error:
        geo.read_contours(shapefile_zip(skip={".prj"}), "c.zip")
    assert ".prj" in messages(error)
    with pytest.raises(ImportRejected) as error:
        geo.read_contours((FIXTURE / "IRIS_GE.shp").read_bytes(), "IRIS_GE.shp")
    assert "archive .zip" in messages(error)
    with pytest.raises(ImportRejected) as error:
        geo.read_contours(b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 30, "CONTOURS-IRIS.7z")
    assert "décompressez-la" in messages(error) and "CONTOURS-IRIS.7z" in messages(error)
    # Without its .shx the .shp is read in sequence: the same outlines.
    assert set(geo.read_contours(shapefile_zip(skip={".shx"}), "c.zip")) == CODES


def test_a_record_without_code_is_named_with_its_field():
    def blank_first_code(dbf: bytes) -> bytes:
        header_length = struct.unpack_from("<H", dbf, 8)[0]
        # INSEE_COM (5), NOM_COM (45), IRIS (4), then CODE_IRIS (9): after the deletion flag.
        start = header_length + 1 + 5 + 45 + 4
        return dbf[:start] + b" " * 9 + dbf[start + 9 :]

    with pytest.raises(ImportRejected) as error:
        geo.read_contours(shapefile_zip(change={".dbf": blank_first_code}), "c.zip")
    assert "IRIS_GE, enregistrement n° 1, champ CODE_IRIS : code vide" in messages(error)


def test_a_dbf_in_cp1252_without_cpg_is_read():
    def to_cp1252(dbf: bytes) -> bytes:  # one byte for one: the field keeps its width
        return dbf.replace(b"Gratte-Ciel Est", "Gratte-Ciel Ést".encode("cp1252"))

    contours = geo.read_contours(shapefile_zip(skip={".cpg"}, change={".dbf": to_cp1252}), "c.zip")
    assert contours.noms["692661204"] == "Villeurbanne - Gratte-Ciel Ést"
    # The same bytes declared UTF-8 by their .cpg: the record is named.
    with pytest.raises(ImportRejected) as error:
        geo.read_contours(shapefile_zip(change={".dbf": to_cp1252}), "c.zip")
    assert "enregistrement n° " in messages(error) and "utf-8" in messages(error)


def _wkb_polygon(rings) -> bytes:
    out = struct.pack("<BII", 1, 3, len(rings))
    for ring in rings:
        out += struct.pack("<I", len(ring)) + b"".join(struct.pack("<dd", x, y) for x, y in ring)
    return out


def geopackage(srs_definition: str | None = None) -> bytes:
    """The fixture's records in a GeoPackage, as IGN also delivers them (Lambert-93, EPSG 2154)."""
    import shapefile

    reader = shapefile.Reader(str(FIXTURE / "IRIS_GE"), encoding="utf-8")
    connection = sqlite3.connect(":memory:")
    connection.executescript(
        """
        CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT, srs_id INTEGER PRIMARY KEY, organization TEXT,
            organization_coordsys_id INTEGER, definition TEXT, description TEXT);
        CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT, identifier TEXT,
            description TEXT, last_change TEXT, min_x REAL, min_y REAL, max_x REAL, max_y REAL,
            srs_id INTEGER);
        CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT, geometry_type_name TEXT,
            srs_id INTEGER, z INTEGER, m INTEGER);
        CREATE TABLE iris_ge (fid INTEGER PRIMARY KEY, geom BLOB, code_iris TEXT, nom_com TEXT,
            nom_iris TEXT);
        """
    )
    organization, number = ("EPSG", 2154) if srs_definition is None else ("IGNF", 1)
    connection.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('RGF93 v1 / Lambert-93', 2154, ?, ?, ?, '')",
        (organization, number, srs_definition or (FIXTURE / "IRIS_GE.prj").read_text()),
    )
    connection.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, srs_id) VALUES ('iris_ge', 'features', 2154)"
    )
    connection.execute(
        "INSERT INTO gpkg_geometry_columns VALUES ('iris_ge', 'geom', 'MULTIPOLYGON', 2154, 0, 0)"
    )
    for shape_record in reader.iterShapeRecords():
        ring = [tuple(p) for p in shape_record.shape.points]
        blob = b"GP\x00\x01" + struct.pack("<i", 2154) + _wkb_polygon([ring])
        record = shape_record.record
        connection.execute(
            "INSERT INTO iris_ge (geom, code_iris, nom_com, nom_iris) VALUES (?, ?, ?, ?)",
            (blob, record["CODE_IRIS"], record["NOM_COM"], record["NOM_IRIS"]),
        )
    connection.commit()
    data = connection.serialize()
    connection.close()
    return data


def test_geopackage_gives_the_same_outlines_as_the_shapefile():
    from_shapefile = geo.read_contours(shapefile_zip(), "c.zip")
    from_gpkg = geo.read_contours(geopackage(), "CONTOURS-IRIS.gpkg")
    assert from_gpkg == from_shapefile
    assert from_gpkg.noms == from_shapefile.noms
    # Its projection given by its WKT alone (no EPSG number): the same.
    assert (
        geo.read_contours(geopackage(srs_definition=(FIXTURE / "IRIS_GE.prj").read_text()), "c.gpkg")
        == from_gpkg
    )


def test_geopackage_in_a_zip_and_a_broken_one():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("CONTOURS-IRIS/iris.gpkg", geopackage())
    assert set(geo.read_contours(buffer.getvalue(), "c.zip")) == CODES
    with pytest.raises(ImportRejected) as error:
        geo.read_contours(b"SQLite format 3\x00" + b"\x00" * 200, "c.gpkg")
    assert "c.gpkg" in messages(error) and "GeoPackage" in messages(error)


GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code_iris": "352380101"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-1.68, 48.11], [-1.67, 48.11], [-1.67, 48.12], [-1.68, 48.11]]],
            },
        }
    ],
}


def test_geojson_in_wgs84_still_works_and_lambert93_needs_its_crs():
    contours = geo.read_contours(json.dumps(GEOJSON).encode(), "c.geojson")
    assert contours["352380101"]["coordinates"][0][0] == [-1.68, 48.11]
    assert contours.projection.startswith("WGS 84")
    lambert = geo.read_contours(shapefile_zip(), "c.zip")  # read again as a Lambert-93 GeoJSON:
    import shapefile

    reader = shapefile.Reader(str(FIXTURE / "IRIS_GE"), encoding="utf-8")
    features = [
        {
            "type": "Feature",
            "properties": {"CODE_IRIS": sr.record["CODE_IRIS"]},
            "geometry": sr.shape.__geo_interface__,
        }
        for sr in reader.iterShapeRecords()
    ]
    document = {"type": "FeatureCollection", "features": features}
    with pytest.raises(ImportRejected) as error:
        geo.read_contours(json.dumps(document).encode(), "l93.geojson")
    assert "Lambert-93" in messages(error) and "l93.geojson" in messages(error)
    document["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}
    assert geo.read_contours(json.dumps(document).encode(), "l93.geojson") == lambert


def test_simplified_ring_keeps_original_points_and_stays_within_tolerance():
    ring = [[0, 0], [1, 0.001], [2, 0], [2, 1], [1.0005, 1], [0, 1], [0, 0]]
    kept = simplify.simplify_ring(ring, 0.01)
    assert kept == [[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]
    assert simplify.simplify_ring([[0, 0], [1e-9, 0], [0, 1e-9], [0, 0]], 0.01) is None


@examples(60)
@given(
    points=st.lists(
        st.tuples(st.floats(-1000, 1000, allow_nan=False), st.floats(-1000, 1000, allow_nan=False)),
        min_size=3,
        max_size=60,
    ),
    tolerance=st.floats(0, 50),
)
def test_simplification_property(points, tolerance):
    ring = [list(p) for p in points] + [list(points[0])]
    kept = simplify.simplify_ring(ring, tolerance)
    if kept is not None:
        originals = {tuple(map(float, p)) for p in ring}
        assert kept[0] == kept[-1] and len(kept) >= 4
        assert all(tuple(p) in originals for p in kept)
    polygons = simplify.simplify_polygons([[ring]], tolerance)
    assert len(polygons) <= 1  # never more polygons than given, and a sector is kept when it can be


NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def test_svg_paths_fill_their_view_box_with_plain_numbers():
    contours = geo.read_contours(shapefile_zip(), "c.zip")
    drawing = geo.svg_paths(contours, width=600, max_height=600, margin=8)
    assert set(drawing["paths"]) == CODES
    numbers = drawing["view_box"].split()
    assert numbers[:2] == ["0", "0"] and all(NUMBER.match(n) for n in numbers)
    width, height = float(drawing["width"]), float(drawing["height"])
    xs, ys = [], []
    for d in drawing["paths"].values():
        for ring in re.findall(r"M([^z]*)z", d):
            start, _, steps = ring.partition("l")
            x, y = map(float, start.split(","))
            xs.append(x), ys.append(y)
            for step in steps.split():
                dx, dy = map(float, step.split(","))
                x, y = x + dx, y + dy
                xs.append(x), ys.append(y)
        assert all(NUMBER.match(n) for n in re.split(r"[Mlz, ]+", d) if n)
    # The drawing touches the margin on both sides of its longer axis: it fills its frame.
    assert min(xs) == pytest.approx(8, abs=0.2) and min(ys) == pytest.approx(8, abs=0.2)
    assert max(xs) == pytest.approx(width - 8, abs=0.2) or max(ys) == pytest.approx(height - 8, abs=0.2)
    assert max(width, height) == pytest.approx(600, abs=0.1)


def point_by_point_svg(contours, width=600, margin=8) -> int:
    """The size of the paths as Ancrage drew them before: every point, absolute, "M x,y L … Z"."""
    points = list(all_points(contours))
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    scale = (width - 2 * margin) / ((max(lons) - min(lons)) * k)
    return sum(
        len(f"{margin + (lon - min(lons)) * k * scale:.1f},{margin + (max(lats) - lat) * scale:.1f} L")
        for lon, lat in points
    )


def test_the_svg_is_smaller_than_the_outlines_drawn_point_by_point():
    import shapefile

    reader = shapefile.Reader(str(FIXTURE / "IRIS_GE"), encoding="utf-8")
    transformer = pyproj.Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    raw = {
        sr.record["CODE_IRIS"]: {
            "type": "Polygon",
            "coordinates": [[list(transformer.transform(*p)) for p in sr.shape.points]],
        }
        for sr in reader.iterShapeRecords()
    }
    drawing = geo.svg_paths(geo.read_contours(shapefile_zip(), "c.zip"))
    assert sum(len(d) for d in drawing["paths"].values()) < point_by_point_svg(raw) / 2


# --- Corrupted files: a refusal naming the file, never another error ------------------------------

ZIPPED = shapefile_zip()
PLAIN = {suffix: (FIXTURE / f"IRIS_GE{suffix}").read_bytes() for suffix in (".shp", ".shx", ".dbf")}
GPKG = geopackage()


def _flip(data: bytes, draw) -> bytes:
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    return bytes(data)


@st.composite
def corrupted_shapefile(draw):
    """The fixture's zip with one of its files cut or with bytes changed, or the zip itself so."""
    target = draw(st.sampled_from([".shp", ".shx", ".dbf", "zip"]))
    cut = draw(st.booleans())
    if target == "zip":
        return ZIPPED[: draw(st.integers(0, len(ZIPPED)))] if cut else _flip(ZIPPED, draw)
    data = PLAIN[target]
    changed = data[: draw(st.integers(0, len(data)))] if cut else _flip(data, draw)
    return shapefile_zip(change={target: lambda _: changed})


def _read_or_refuse(data: bytes, name: str):
    try:
        contours = geo.read_contours(data, name)
    except ImportRejected as error:
        assert error.issues and all(issue.file == name for issue in error.issues)
        assert all(issue.message and not issue.message.startswith("Traceback") for issue in error.issues)
        return None
    # Whatever was read is a drawable outline in degrees.
    assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in all_points(contours))
    assert geo.svg_paths(contours) is not None
    return contours


@examples(40)
@given(data=corrupted_shapefile())
def test_a_corrupted_shapefile_is_refused_with_its_name(data):
    _read_or_refuse(data, "contours.zip")


@st.composite
def corrupted_geopackage(draw):
    if draw(st.booleans()):
        return GPKG[: draw(st.integers(0, len(GPKG)))]
    return _flip(GPKG, draw)


@examples(30)
@given(data=corrupted_geopackage())
def test_a_corrupted_geopackage_is_refused_with_its_name(data):
    _read_or_refuse(data, "contours.gpkg")


@examples(60)
@given(blob=st.binary(max_size=200))
def test_wkb_reader_raises_only_french_value_errors(blob):
    try:
        geo.wkb_polygons(blob)
    except ValueError as error:
        assert str(error)[0].islower() and str(error).endswith(".")
