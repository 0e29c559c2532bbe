"""Build the demo's Villeurbanne extracts (ancrage/demo/data) and the shapefile test fixture.

Run from the repository: ``.venv/bin/python scripts/build_demo_villeurbanne.py [SHARED_DATA_DIR]``
(default ``../shared/data``). It writes, from the project's shared real data:

- ``ancrage/demo/data/iris-population-2016-villeurbanne.csv``: the header and the lines of
  Villeurbanne (IRIS 69266xxxx) of ``reference/insee-iris-2016-habitat-extract``, byte copies;
- ``ancrage/demo/data/contours-iris-villeurbanne.geojson``: the IGN IRIS outlines of
  Villeurbanne from ``reference/rhone-iris-ge`` (Lambert-93), read, reprojected to WGS 84 and
  simplified by Ancrage's own reader (``ancrage.territoire.geo``), coordinates to 5 decimals;
- ``tests/fixtures/geo/iris-ge-extrait/``: a few of those outlines as a shapefile in Lambert-93,
  their records (geometry and attributes) unchanged, for the reader's tests.

The demo and the tests read only these extracts, never the shared folder.
"""

import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# ../shared/data beside the checkout (or beside the folder of worktrees).
SHARED = (
    Path(sys.argv[1])
    if len(sys.argv) > 1
    else next(
        (
            p / "shared" / "data"
            for p in (ROOT.parent, ROOT.parent.parent)
            if (p / "shared" / "data").is_dir()
        ),
        ROOT.parent / "shared" / "data",
    )
)
IRIS_GE = SHARED / "reference" / "rhone-iris-ge" / "IRIS_GE"
POPULATION = SHARED / "reference" / "insee-iris-2016-habitat-extract" / "IRIS_population_IR_Hab.csv"
DEMO = ROOT / "ancrage" / "demo" / "data"
FIXTURE = ROOT / "tests" / "fixtures" / "geo" / "iris-ge-extrait"
COMMUNE = "69266"  # Villeurbanne
#: The fixture's IRIS: Gratte-Ciel and its neighbours (the 11xx and 12xx of Villeurbanne).
FIXTURE_PREFIXES = ("6926611", "6926612")


def population() -> None:
    lines = POPULATION.read_bytes().split(b"\n")
    kept = [lines[0]] + [
        line
        for line in lines[1:]
        if line.split(b",")[1:2] and line.split(b",")[1].startswith(COMMUNE.encode())
    ]
    (DEMO / "iris-population-2016-villeurbanne.csv").write_bytes(b"\n".join(kept) + b"\n")
    print(f"population: {len(kept) - 1} IRIS")


def contours() -> None:
    import shapefile

    from ancrage.territoire import geo

    reader = shapefile.Reader(str(IRIS_GE), encoding="utf-8")
    codes = {r["CODE_IRIS"] for r in reader.iterRecords() if r["INSEE_COM"] == COMMUNE}
    archive = io.BytesIO()  # IGN's files as a user would upload them: one .zip
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for suffix in (".SHP", ".SHX", ".DBF", ".PRJ", ".CPG"):
            z.write(IRIS_GE.with_suffix(suffix), "IRIS_GE" + suffix)
    result = geo.read_contours(archive.getvalue(), "IRIS_GE.zip", codes_connus=codes)
    names = {r["CODE_IRIS"]: (r["NOM_IRIS"], r["TYP_IRIS"]) for r in reader.iterRecords()}

    def rounded(value):
        return [rounded(v) for v in value] if isinstance(value, list) else round(value, 5)

    features = [
        {
            "type": "Feature",
            "properties": {
                "code_iris": code,
                "nom_com": "Villeurbanne",
                "nom_iris": names[code][0],
                "typ_iris": names[code][1],
            },
            "geometry": {"type": geometry["type"], "coordinates": rounded(geometry["coordinates"])},
        }
        for code, geometry in sorted(result.items())
    ]
    document = {"type": "FeatureCollection", "features": features}
    target = DEMO / "contours-iris-villeurbanne.geojson"
    target.write_text(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(
        f"contours: {len(features)} IRIS, {result.points_lus} points read, {result.points} kept, "
        f"{target.stat().st_size} bytes"
    )


def fixture() -> None:
    import shapefile

    FIXTURE.mkdir(parents=True, exist_ok=True)
    reader = shapefile.Reader(str(IRIS_GE), encoding="utf-8")
    writer = shapefile.Writer(str(FIXTURE / "IRIS_GE"), shapeType=reader.shapeType, encoding="utf-8")
    writer.fields = list(reader.fields[1:])
    kept = 0
    for shape_record in reader.iterShapeRecords():
        if shape_record.record["CODE_IRIS"].startswith(FIXTURE_PREFIXES):
            writer.record(*shape_record.record)
            writer.shape(shape_record.shape)
            kept += 1
    writer.close()
    (FIXTURE / "IRIS_GE.prj").write_bytes(IRIS_GE.with_suffix(".PRJ").read_bytes())
    (FIXTURE / "IRIS_GE.cpg").write_bytes(IRIS_GE.with_suffix(".CPG").read_bytes())
    print(f"fixture: {kept} IRIS")


if __name__ == "__main__":
    population()
    contours()
    fixture()
