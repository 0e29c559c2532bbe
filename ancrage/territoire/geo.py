"""Sector outlines: read them as IGN and others publish them, and draw them as SVG paths.

Pure module: no Django. Three inputs give the same result, ``{code IRIS or commune: GeoJSON
geometry in WGS 84}``, simplified to about a metre:

- a shapefile (IGN's "Contours IRIS", Lambert-93), its .shp, .shx, .dbf, .prj (and .cpg) in one
  .zip archive; read with pyshp, its projection taken from the .prj;
- a GeoPackage (.gpkg, IGN's other delivery): a SQLite database, opened in memory from its bytes
  with the standard library (``sqlite3``), its geometries decoded from the GeoPackage binary
  header and WKB here; its projection comes from its ``gpkg_spatial_ref_sys`` table;
- a GeoJSON FeatureCollection in WGS 84 (or one that declares its projection in ``crs``).

Any projection PROJ knows is turned into WGS 84 with pyproj. Outlines whose code is not a sector
of the territory are left out: IGN's files cover a département or all of France.

The map of the diagnostic is small (a commune, an intercommunality), so lon/lat are drawn
simply: equirectangular, x scaled by cos(mean latitude).
"""

from __future__ import annotations

import io
import json
import math
import posixpath
import sqlite3
import struct
import zipfile
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ancrage.core.importing import IssueCollector
from ancrage.territoire.insee import Source, load_bytes, normalise_iris, reject
from ancrage.territoire.simplify import simplify_polygons

CODE_PROPERTIES = (
    "code_iris",
    "CODE_IRIS",
    "iris",
    "IRIS",
    "DCOMIRIS",
    "code",
    "CODE",
    "insee_com",
    "INSEE_COM",
)
NAME_PROPERTIES = ("nom_iris", "NOM_IRIS", "libiris", "LIBIRIS", "nom", "NOM")
COMMUNE_NAME_PROPERTIES = ("nom_com", "NOM_COM", "libcom", "LIBCOM")
#: Points kept for the territory's outlines, once simplified.
MAX_POINTS = 200_000
#: Points read from a file (a département's IRIS are about 250,000; France's, some millions).
MAX_POINTS_READ = 20_000_000
#: Stored outlines are simplified to about a metre (1e-5 degree of latitude is 1.1 m).
TOLERANCE_DEGREES = 1e-5
COORDINATE_DECIMALS = 6

ZIP_MAGIC = b"PK\x03\x04"
SQLITE_MAGIC = b"SQLite format 3\x00"
SHP_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
WGS84 = "EPSG:4326"
# A GeoPackage is read in memory; a query that runs this many SQLite steps is stopped.
SQLITE_MAX_STEPS = 50_000_000


class Contours(dict):
    """``{code: GeoJSON geometry (WGS 84)}`` with what the file told besides.

    ``noms``: the sector's name when the file has one (IGN's NOM_IRIS, with its commune);
    ``ignores``: outlines left out, their code not being a sector of the territory;
    ``projection``: the projection the file was in; ``points_lus`` / ``points``: points read
    and kept once simplified.
    """

    def __init__(self, geometries=(), *, noms=None, ignores=0, projection="", points_lus=0, points=0):
        super().__init__(geometries)
        self.noms: dict[str, str] = dict(noms or {})
        self.ignores = ignores
        self.projection = projection
        self.points_lus = points_lus
        self.points = points


@dataclass
class _Feature:
    where: str  # "objet n° 3", "enregistrement n° 12 de IRIS_GE.dbf"
    code: str
    nom: str
    polygons: list  # GeoJSON-like: polygons of rings of [x, y, ...], in the file's projection


def read_contours(
    source: Source,
    filename: str | None = None,
    *,
    codes_connus: Collection[str] | None = None,
    tick: Callable[[], None] | None = None,
) -> Contours:
    """Read outlines (shapefile in a .zip, GeoPackage or GeoJSON) into WGS 84 geometries by code.

    ``codes_connus``: the territory's sectors; outlines of other codes are left out (counted in
    ``ignores``), and a file with none of them is refused. ``tick`` is called now and then (a
    CPU budget that may stop the import). Raises ``ImportRejected`` with French messages naming
    the file, the record and the field.
    """
    data, file = load_bytes(source, filename)
    if not data.strip():
        raise reject(file, "Le fichier est vide.")
    tick = tick or (lambda: None)
    if data.startswith(ZIP_MAGIC):
        features, crs, issues = _read_zip(data, file, tick)
    elif data.startswith(SQLITE_MAGIC):
        features, crs, issues = _read_gpkg(data, file, file, tick)
    elif data.startswith(SHP_MAGIC):
        raise reject(
            file,
            "Un shapefile se compose de plusieurs fichiers (.shp, .shx, .dbf, .prj) : déposez-les "
            "ensemble, dans une archive .zip (telle qu'IGN la livre) ou en les choisissant tous à la fois.",
        )
    elif data.startswith(SEVEN_ZIP_MAGIC):
        raise reject(
            file,
            "Archive .7z (celle que livre l'IGN) : décompressez-la, puis déposez le GeoPackage (.gpkg) "
            "ou les fichiers du shapefile (.shp, .shx, .dbf, .prj) choisis ensemble.",
        )
    else:
        features, crs, issues = _read_geojson(data, file)
    return _finish(features, crs, file, issues, codes_connus, tick)


# --- GeoJSON --------------------------------------------------------------------------------------


def _read_geojson(data: bytes, file: str):
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        raise reject(
            file,
            "Ce fichier n'est ni un GeoJSON lisible (JSON invalide), ni une archive .zip de shapefile, "
            "ni un GeoPackage.",
            line=line,
        ) from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise reject(file, "Le GeoJSON doit être une « FeatureCollection ».")
    features = document.get("features")
    if not isinstance(features, list):
        raise reject(file, "La « FeatureCollection » n'a pas de liste « features ».")
    crs = _geojson_crs(document.get("crs"), file)
    issues = IssueCollector(file)
    read = []
    for number, feature in enumerate(features, start=1):
        where = f"objet n° {number}"
        if not isinstance(feature, dict):
            issues.add(f"{where} : ce n'est pas un objet GeoJSON.")
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            issues.add(f"{where} : ses « properties » ne sont pas un objet.")
            continue
        code = _first(properties, CODE_PROPERTIES)
        if not code:
            issues.add(f"{where} : aucune propriété « code_iris » (ou « code », « DCOMIRIS »).")
            continue
        geometry = feature.get("geometry") or {}
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in ("Polygon", "MultiPolygon"):
            issues.add(f"{where} (code {code}) : géométrie « {kind} » ; un polygone est attendu.")
            continue
        coordinates = geometry.get("coordinates")
        polygons = coordinates if kind == "MultiPolygon" else [coordinates]
        read.append(_Feature(where, code, _name(properties), polygons))
    return read, crs, issues


def _geojson_crs(member, file: str):
    """The projection a GeoJSON declares (the 2008 format's ``crs``); ``None``: WGS 84 (RFC 7946)."""
    if member is None:
        return None
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else None
    if not isinstance(name, str):
        raise reject(file, "Le membre « crs » du GeoJSON ne donne pas le nom de sa projection.")
    if name.upper().replace("::", ":").endswith(("CRS84", "EPSG:4326")):
        return None
    return _crs(name, file, "le membre « crs » du GeoJSON")


# --- Shapefile (zip) ------------------------------------------------------------------------------

CODEPAGES = {"1252": "cp1252", "ansi 1252": "cp1252", "88591": "latin-1", "iso 88591": "latin-1"}


def _read_zip(data: bytes, file: str, tick):
    from ancrage.core import safe_files  # zip bombs, traversal paths, encrypted entries

    safe_files.check_zip(data, filename=file)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {
            info.filename: info
            for info in archive.infolist()
            if not info.is_dir() and "__MACOSX" not in info.filename
        }
    except Exception:  # damaged: check_zip has mostly said so already
        raise reject(file, "L'archive .zip est endommagée.") from None

    def read(name: str) -> bytes:
        try:
            return archive.read(members[name])
        except Exception:
            raise reject(file, f"« {name} » ne peut pas être lu dans l'archive (endommagé).") from None

    by_suffix: dict[str, list[str]] = {}
    for name in members:
        by_suffix.setdefault(posixpath.splitext(name)[1].lower(), []).append(name)
    for suffix in (".gpkg",):
        if by_suffix.get(suffix):
            name = by_suffix[suffix][0]
            return _read_gpkg(read(name), file, posixpath.basename(name), tick)
    shps = by_suffix.get(".shp", [])
    if not shps:
        for suffix in (".geojson", ".json"):
            if by_suffix.get(suffix):
                return _read_geojson(read(by_suffix[suffix][0]), file)
        raise reject(
            file,
            "L'archive ne contient ni shapefile (.shp), ni GeoPackage (.gpkg), ni GeoJSON : "
            + (", ".join(sorted(posixpath.basename(n) for n in members)[:10]) or "elle est vide")
            + ".",
        )
    if len(shps) > 1:
        raise reject(
            file,
            "L'archive contient plusieurs shapefiles ("
            + ", ".join(posixpath.basename(n) for n in sorted(shps)[:10])
            + ") : n'en gardez qu'un, celui des contours IRIS.",
        )
    shp = shps[0]
    stem = posixpath.splitext(shp)[0]
    siblings = {posixpath.splitext(n)[1].lower(): n for n in members if posixpath.splitext(n)[0] == stem}
    base = posixpath.basename(stem)
    if ".dbf" not in siblings:
        raise reject(file, f"Le fichier « {base}.dbf » manque dans l'archive : il porte les codes IRIS.")
    prj = read(siblings[".prj"]).decode("utf-8", "replace") if ".prj" in siblings else None
    cpg = read(siblings[".cpg"]).decode("ascii", "replace").strip() if ".cpg" in siblings else None
    return _read_shapefile(
        shp=read(shp),
        shx=read(siblings[".shx"]) if ".shx" in siblings else None,
        dbf=read(siblings[".dbf"]),
        prj=prj,
        cpg=cpg,
        file=file,
        base=base,
        tick=tick,
    )


def bundle_files(files: Iterable[tuple[str, bytes]]) -> bytes:
    """Files uploaded together (a shapefile's .shp, .shx, .dbf, .prj) as one .zip, by base name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(posixpath.basename(name.replace("\\", "/")) or "fichier", data)
    return buffer.getvalue()


def shapefile_encoding(cpg: str | None, dbf: bytes) -> str:
    """The DBF's text encoding: its .cpg, else UTF-8 when its bytes decode as UTF-8, else CP1252."""
    if cpg:
        key = cpg.strip().lower().replace("-", "").replace("_", "")
        if key in ("utf8", "65001"):
            return "utf-8"
        if key in CODEPAGES or key.replace(" ", "") in CODEPAGES:
            return CODEPAGES.get(key) or CODEPAGES[key.replace(" ", "")]
        try:
            return io.TextIOWrapper(io.BytesIO(), encoding=cpg.strip()).encoding
        except LookupError:
            pass
    header_length = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 10 else 0
    try:
        dbf[header_length:].decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _read_shapefile(*, shp, shx, dbf, prj, cpg, file, base, tick):
    import shapefile  # pyshp

    issues = IssueCollector(file)
    encoding = shapefile_encoding(cpg, dbf)
    crs = _crs(prj, file, f"le fichier « {base}.prj »") if prj and prj.strip() else "inconnue"
    try:
        reader = shapefile.Reader(
            shp=io.BytesIO(shp),
            shx=io.BytesIO(shx) if shx else None,
            dbf=io.BytesIO(dbf),
            encoding=encoding,
            encodingErrors="strict",
        )
        fields = [f[0] for f in reader.fields[1:]]
        shape_type = reader.shapeType
    except Exception:
        raise reject(
            file, f"Le shapefile « {base} » est illisible (en-tête .shp ou .dbf endommagé)."
        ) from None
    if shape_type not in (shapefile.POLYGON, shapefile.POLYGONZ, shapefile.POLYGONM, shapefile.NULL):
        raise reject(
            file,
            f"Le shapefile « {base} » contient des géométries de type "
            f"« {shapefile.SHAPETYPE_LOOKUP.get(shape_type, shape_type)} » ; "
            "des polygones (contours) sont attendus.",
        )
    code_field = _first_field(fields, CODE_PROPERTIES)
    if code_field is None:
        raise reject(
            file,
            f"{base}.dbf : aucun champ de code IRIS (« CODE_IRIS », « code_iris », « DCOMIRIS » ou "
            f"« INSEE_COM ») ; champs présents : {', '.join(fields[:20]) or 'aucun'}.",
        )
    features = _shapefile_features(reader, fields, code_field, encoding, base, issues, tick)
    return features, crs, issues


def _shapefile_features(reader, fields, code_field, encoding, base, issues, tick) -> list[_Feature]:
    """The records of an open pyshp reader; the first unreadable one stops the reading (named)."""
    import shapefile

    name_field = _first_field(fields, NAME_PROPERTIES)
    commune_field = _first_field(fields, COMMUNE_NAME_PROPERTIES)
    features = []
    number = 0
    records = reader.iterRecords()
    shapes = reader.iterShapes()
    while True:
        number += 1
        where = f"{base}, enregistrement n° {number}"
        try:
            record = next(records, None)
        except Exception as error:
            if _caused_by(error, UnicodeDecodeError) or "decode" in str(error):  # pyshp's own wording
                issues.add(
                    f"{where} : texte illisible dans « {base}.dbf » (encodage {encoding} attendu : "
                    "joignez le fichier .cpg qui dit le sien)."
                )
            else:
                issues.add(
                    f"{where} : enregistrement illisible dans « {base}.dbf » (fichier endommagé ou tronqué)."
                )
            break
        try:
            shape = next(shapes, None)
        except Exception:
            issues.add(f"{where} : géométrie illisible dans « {base}.shp » (fichier endommagé ou tronqué).")
            break
        if record is None and shape is None:
            break
        if record is None or shape is None:
            issues.add(
                f"{base} : le .shp et le .dbf n'ont pas le même nombre d'enregistrements "
                f"(l'un s'arrête à l'enregistrement n° {number - 1})."
            )
            break
        if number % 200 == 0:
            tick()
        values = dict(zip(fields, record, strict=False))
        code = str(values.get(code_field) or "").strip()
        if not code:
            issues.add(f"{where}, champ {code_field} : code vide.")
            continue
        if shape.shapeType == shapefile.NULL or not shape.points:
            issues.add(f"{where}, champ {code_field} = {code} : géométrie vide.")
            continue
        try:
            geometry = shape.__geo_interface__
        except Exception:
            issues.add(f"{where} (code {code}) : géométrie illisible dans « {base}.shp ».")
            continue
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        nom = str(values.get(name_field) or "").strip() if name_field else ""
        commune = str(values.get(commune_field) or "").strip() if commune_field else ""
        features.append(_Feature(where, code, _join_name(commune, nom), polygons))
    return features


def _caused_by(error: BaseException, kind: type) -> bool:
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, kind):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _first_field(fields: Iterable[str], candidates: Iterable[str]) -> str | None:
    by_lower = {f.lower(): f for f in fields}
    return next((by_lower[c.lower()] for c in candidates if c.lower() in by_lower), None)


# --- GeoPackage -----------------------------------------------------------------------------------


def _read_gpkg(data: bytes, file: str, base: str, tick):
    issues = IssueCollector(file)
    connection = sqlite3.connect(":memory:")
    steps = [0]

    def progress():
        steps[0] += 1
        if steps[0] % 1000 == 0:
            tick()
        return 1 if steps[0] * 1000 > SQLITE_MAX_STEPS else 0

    try:
        try:
            connection.deserialize(data)
            connection.execute("PRAGMA query_only = ON")
            connection.execute("PRAGMA trusted_schema = OFF")
            connection.set_progress_handler(progress, 1000)
            tables = connection.execute(
                "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c "
                "JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
                "WHERE c.data_type = 'features' ORDER BY c.table_name"
            ).fetchall()
        except sqlite3.Error:
            raise reject(
                file,
                f"« {base} » n'est pas un GeoPackage lisible (tables gpkg_contents et "
                "gpkg_geometry_columns absentes, ou base endommagée).",
            ) from None
        if not tables:
            raise reject(file, f"Le GeoPackage « {base} » ne contient aucune couche de contours.")
        table, column, srs_id, fields, code_field = _gpkg_layer(connection, tables, file, base)
        crs = _gpkg_crs(connection, srs_id, file, base)
        features = _gpkg_features(connection, table, column, fields, code_field, file, base, issues)
        return features, crs, issues
    finally:
        connection.close()


def _gpkg_layer(connection, tables, file: str, base: str):
    """The first feature table with a code field: its name, geometry column, SRS, fields, code field."""
    chosen = None
    for table, column, srs_id in tables:
        try:
            fields = [row[1] for row in connection.execute(f'PRAGMA table_info("{_ident(table)}")')]
        except sqlite3.Error:
            continue
        code_field = _first_field(fields, CODE_PROPERTIES)
        if code_field:
            chosen = (table, column, srs_id, fields, code_field)
            break
    if chosen is None:
        raise reject(
            file,
            f"Le GeoPackage « {base} » n'a aucune couche avec un champ de code IRIS "
            f"(« CODE_IRIS », « code_iris » ou « INSEE_COM ») ; couches : "
            + ", ".join(t for t, _, _ in tables[:10])
            + ".",
        )
    return chosen


def _gpkg_features(connection, table, column, fields, code_field, file, base, issues) -> list[_Feature]:
    name_field = _first_field(fields, NAME_PROPERTIES)
    commune_field = _first_field(fields, COMMUNE_NAME_PROPERTIES)
    selected = [code_field, column] + [f for f in (name_field, commune_field) if f]
    query = f'SELECT {", ".join(chr(34) + _ident(f) + chr(34) for f in selected)} FROM "{_ident(table)}"'
    features = []
    try:
        for number, row in enumerate(connection.execute(query), start=1):
            where = f"{base}, couche {table}, objet n° {number}"
            code = str(row[0] if row[0] is not None else "").strip()
            values = dict(zip(selected, row, strict=True))
            if not code:
                issues.add(f"{where}, champ {code_field} : code vide.")
                continue
            blob = row[1]
            if not isinstance(blob, bytes):
                issues.add(f"{where} (code {code}), champ {column} : géométrie absente.")
                continue
            try:
                polygons = gpkg_geometry(blob)
            except ValueError as error:
                issues.add(f"{where} (code {code}), champ {column} : {error}")
                continue
            nom = str(values.get(name_field) or "").strip() if name_field else ""
            commune = str(values.get(commune_field) or "").strip() if commune_field else ""
            features.append(_Feature(where, code, _join_name(commune, nom), polygons))
    except sqlite3.Error:
        raise reject(
            file,
            f"La couche « {table} » du GeoPackage « {base} » est illisible (base endommagée ou trop lourde).",
        ) from None
    return features


def _ident(name: str) -> str:
    return str(name).replace('"', '""')


def _gpkg_crs(connection, srs_id, file: str, base: str):
    try:
        row = connection.execute(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys "
            "WHERE srs_id = ?",
            (srs_id,),
        ).fetchone()
    except sqlite3.Error:
        row = None
    if row is None:
        raise reject(
            file, f"Le GeoPackage « {base} » ne décrit pas la projection n° {srs_id} de ses contours."
        )
    organization, number, definition = row
    if str(organization or "").upper() == "EPSG" and number:
        if int(number) == 4326:
            return None
        return _crs(f"EPSG:{int(number)}", file, f"le GeoPackage « {base} »")
    if srs_id in (-1, 0):  # the standard's undefined systems: cartesian, geographic
        return None if srs_id == 0 else "inconnue"
    return _crs(str(definition or ""), file, f"le GeoPackage « {base} »")


GPKG_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}


def gpkg_geometry(blob: bytes) -> list:
    """The polygons of a GeoPackage geometry blob (header, then WKB); ``ValueError`` in French."""
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("ce n'est pas une géométrie GeoPackage (en-tête « GP » absent).")
    flags = blob[3]
    if flags & 0b100000:
        raise ValueError("géométrie GeoPackage étendue, non prise en charge.")
    envelope = GPKG_ENVELOPE_DOUBLES.get((flags >> 1) & 0b111)
    if envelope is None:
        raise ValueError("en-tête de géométrie GeoPackage invalide.")
    if flags & 0b10000:
        raise ValueError("géométrie vide.")
    return wkb_polygons(blob[8 + 8 * envelope :])


class _Wkb:
    """A cursor over WKB bytes; every problem is a ``ValueError`` in French."""

    def __init__(self, data: bytes):
        self.data, self.offset = data, 0

    def unpack(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise ValueError("géométrie tronquée (WKB incomplet).")
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return values

    def left(self) -> int:
        return len(self.data) - self.offset

    def header(self) -> tuple[str, int, int]:
        """Byte order, base type (3 polygon, 6 multipolygon…) and coordinates per point."""
        (order,) = self.unpack("B")
        if order not in (0, 1):
            raise ValueError("géométrie endommagée (ordre des octets WKB invalide).")
        endian = "<" if order == 1 else ">"
        (kind,) = self.unpack(endian + "I")
        dims = 2 + bool(kind & 0x80000000) + bool(kind & 0x40000000)  # EWKB Z, M
        if kind & 0x20000000:  # EWKB SRID
            self.unpack(endian + "I")
        kind &= 0x0FFFFFFF
        iso, base = divmod(kind, 1000)
        if iso > 3:
            raise ValueError(f"type de géométrie WKB inconnu ({kind}).")
        return endian, base, dims + (0, 1, 1, 2)[iso]

    def polygon(self, endian: str, dims: int) -> list:
        (nrings,) = self.unpack(endian + "I")
        if nrings * 4 > self.left():
            raise ValueError("géométrie tronquée (WKB incomplet).")
        rings = []
        for _ in range(nrings):
            (npoints,) = self.unpack(endian + "I")
            if npoints * 8 * dims > self.left():
                raise ValueError("géométrie tronquée (WKB incomplet).")
            values = self.unpack(endian + "d" * (npoints * dims))
            rings.append([[values[i], values[i + 1]] for i in range(0, len(values), dims)])
        return rings


def wkb_polygons(wkb: bytes) -> list:
    """Polygons (rings of [x, y]) of a WKB Polygon or MultiPolygon (ISO or EWKB, Z/M ignored)."""
    reader = _Wkb(wkb)
    endian, kind, dims = reader.header()
    if kind == 3:
        return [reader.polygon(endian, dims)]
    if kind == 6:
        (count,) = reader.unpack(endian + "I")
        if count * 9 > reader.left():
            raise ValueError("géométrie tronquée (WKB incomplet).")
        polygons = []
        for _ in range(count):
            endian_i, kind_i, dims_i = reader.header()
            if kind_i != 3:
                raise ValueError("un multipolygone WKB contient autre chose que des polygones.")
            polygons.append(reader.polygon(endian_i, dims_i))
        return polygons
    names = {1: "point", 2: "ligne", 4: "multipoint", 5: "multiligne", 7: "collection"}
    raise ValueError(f"géométrie de type « {names.get(kind, kind)} » ; un polygone est attendu.")


# --- Common: codes, projection, simplification ----------------------------------------------------


def _first(properties: Mapping, candidates: Iterable[str]) -> str:
    return next((str(properties[p]).strip() for p in candidates if properties.get(p) not in (None, "")), "")


def _name(properties: Mapping) -> str:
    return _join_name(_first(properties, COMMUNE_NAME_PROPERTIES), _first(properties, NAME_PROPERTIES))


def _join_name(commune: str, nom: str) -> str:
    """The sector's name as the INSEE reader writes it: "commune - IRIS" (or the IRIS alone)."""
    if nom and commune and not nom.startswith(commune):
        return f"{commune} - {nom}"
    return nom


def _normalise_code(code: str) -> str:
    code = code.strip()
    return normalise_iris(code) if len(code) in (8, 9) else code.upper()


def _crs(definition: str, file: str, where: str):
    """A pyproj CRS from a .prj WKT, an EPSG code or a GeoJSON ``crs`` name (``ImportRejected`` if none)."""
    import pyproj

    try:
        crs = pyproj.CRS.from_user_input(definition)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        raise reject(
            file,
            f"La projection décrite par {where} est inconnue : « {definition.strip()[:80]} ». "
            "Ancrage lit le Lambert-93 (EPSG:2154), le WGS 84 et les autres projections usuelles.",
        ) from None
    if crs.is_geographic and crs.to_epsg() == 4326:
        return None
    return crs


def _crs_label(crs) -> str:
    if crs is None:
        return "WGS 84 (EPSG:4326)"
    if isinstance(crs, str):
        return crs
    epsg = crs.to_epsg()
    return f"{crs.name} (EPSG:{epsg})" if epsg else crs.name


def _finish(features, crs, file, issues: IssueCollector, codes_connus, tick) -> Contours:
    known = None if codes_connus is None else set(codes_connus)
    kept: dict[str, list] = {}
    noms: dict[str, str] = {}
    where_of: dict[str, str] = {}
    ignored = 0
    found_codes = []
    points_read = 0
    for feature in features:
        code = _normalise_code(feature.code)
        found_codes.append(code)
        if known is not None and code not in known:
            ignored += 1
            continue
        try:
            polygons = [
                [[[float(p[0]), float(p[1])] for p in ring] for ring in polygon]
                for polygon in feature.polygons
            ]
            if not polygons or any(
                not polygon or any(len(ring) < 4 for ring in polygon) for polygon in polygons
            ):
                raise ValueError
        except (TypeError, ValueError, IndexError, KeyError):
            issues.add(
                f"{feature.where} (code {code}) : coordonnées invalides (un contour fermé d'au moins "
                "trois points est attendu)."
            )
            continue
        points_read += sum(len(ring) for polygon in polygons for ring in polygon)
        if points_read > MAX_POINTS_READ:
            raise reject(
                file, f"Le fichier compte plus de {MAX_POINTS_READ:,} points : découpez-le.".replace(",", " ")
            )
        if code in kept:
            kept[code].extend(polygons)  # a sector in several records: its parts together
        else:
            kept[code], where_of[code] = polygons, feature.where
        if feature.nom:
            noms.setdefault(code, feature.nom)
        tick()
    if issues:
        issues.raise_if_any()
    if known is not None and not kept and found_codes:
        examples = ", ".join(sorted(set(found_codes))[:5])
        raise reject(
            file,
            f"Aucun des {len(found_codes)} contours du fichier ne correspond à un secteur de votre "
            "territoire "
            f"(codes du fichier : {examples}…). Importez d'abord la population de ces IRIS.",
        )
    if crs == "inconnue":
        raise reject(
            file,
            "La projection des contours n'est pas indiquée (fichier .prj absent) : joignez le fichier .prj "
            "livré avec le shapefile (Lambert-93 pour les contours IRIS de l'IGN).",
        )
    geometries = _to_wgs84(kept, where_of, crs, file)
    contours: dict[str, dict] = {}
    points = 0
    for code, polygons in geometries.items():
        simplified = [
            [
                [[round(x, COORDINATE_DECIMALS), round(y, COORDINATE_DECIMALS)] for x, y in ring]
                for ring in polygon
            ]
            for polygon in simplify_polygons(polygons, TOLERANCE_DEGREES)
        ]
        points += sum(len(ring) for polygon in simplified for ring in polygon)
        if len(simplified) == 1:
            contours[code] = {"type": "Polygon", "coordinates": simplified[0]}
        else:
            contours[code] = {"type": "MultiPolygon", "coordinates": simplified}
        tick()
    if points > MAX_POINTS:
        raise reject(
            file, f"Contours trop détaillés ({points} points, {MAX_POINTS} au plus) : simplifiez-les."
        )
    if not contours:
        raise reject(file, "Le fichier ne contient aucun contour.")
    return Contours(
        contours,
        noms={c: n for c, n in noms.items() if c in contours},
        ignores=ignored,
        projection=_crs_label(crs),
        points_lus=points_read,
        points=points,
    )


def _to_wgs84(kept: Mapping[str, list], where_of: Mapping[str, str], crs, file: str) -> dict[str, list]:
    """Every point turned into lon/lat (one vectorised pyproj call), then checked."""
    if not kept:
        return {}
    xs = np.array(
        [p[0] for polygons in kept.values() for polygon in polygons for ring in polygon for p in ring]
    )
    ys = np.array(
        [p[1] for polygons in kept.values() for polygon in polygons for ring in polygon for p in ring]
    )
    if crs is not None:
        import pyproj

        transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
        with np.errstate(all="ignore"):
            xs, ys = transformer.transform(xs, ys, errcheck=False)
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    result: dict[str, list] = {}
    issues = IssueCollector(file)
    i = 0
    for code, polygons in kept.items():
        n = sum(len(ring) for polygon in polygons for ring in polygon)
        lon, lat = xs[i : i + n], ys[i : i + n]
        i += n
        if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))) or not (
            np.all(np.abs(lon) <= 180) and np.all(np.abs(lat) <= 90)
        ):
            hint = (
                "des longitudes/latitudes en degrés (WGS 84) sont attendues : un GeoJSON en Lambert-93 doit "
                "le déclarer (membre « crs » : EPSG:2154)"
                if crs is None
                else f"elles sortent du domaine de la projection {_crs_label(crs)}"
            )
            issues.add(f"{where_of[code]} (code {code}) : coordonnées invalides ; {hint}.")
            continue
        j = 0
        out = []
        for polygon in polygons:
            rings = []
            for ring in polygon:
                rings.append(np.column_stack([lon[j : j + len(ring)], lat[j : j + len(ring)]]).tolist())
                j += len(ring)
            out.append(rings)
        result[code] = out
    issues.raise_if_any()
    return result


# --- SVG ------------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    """A number for an SVG attribute: dot decimal, one decimal at most, never localised."""
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def svg_paths(
    contours: Mapping[str, dict],
    width: float = 600,
    *,
    max_height: float = 600,
    margin: float = 8,
    tolerance: float = 0.4,
    points: Mapping | None = None,
) -> dict | None:
    """SVG path data per code, fitted in ``width`` × ``max_height`` (a tall territory is narrower).

    Returns ``{"paths": {code: d}, "width", "height", "view_box"}``, numbers as dot-decimal
    strings, the view box tight around the outlines (plus ``margin``), or ``None`` when there is
    nothing to draw. Outlines are simplified to ``tolerance`` user units (a fraction of a pixel)
    and written with relative commands rounded to a tenth, which keeps the SVG small.
    ``points``: key -> (longitude, latitude), projected alike into ``"points"`` (key -> (x, y) as
    strings), those outside the view box left out.
    """
    polygons_by_code = {}
    lons, lats = [], []
    for code, geometry in contours.items():
        try:
            coordinates = geometry["coordinates"]
            polygons = coordinates if geometry["type"] == "MultiPolygon" else [coordinates]
            polygons = [
                [[(float(p[0]), float(p[1])) for p in ring] for ring in polygon] for polygon in polygons
            ]
        except (KeyError, TypeError, ValueError, IndexError):
            continue  # a damaged stored outline: the sector is left off the map, not the page
        polygons_by_code[code] = polygons
        for polygon in polygons:
            for ring in polygon:
                for lon, lat in ring:
                    lons.append(lon)
                    lats.append(lat)
    finite = [(x, y) for x, y in zip(lons, lats, strict=True) if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        return None
    lons, lats = [x for x, _ in finite], [y for _, y in finite]
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * k, 1e-9)
    span_y = max(max(lats) - min(lats), 1e-9)
    scale = min((width - 2 * margin) / span_x, (max_height - 2 * margin) / span_y)
    drawn_width = span_x * scale + 2 * margin
    height = span_y * scale + 2 * margin
    x0, y1 = min(lons), max(lats)
    paths = {}
    for code, polygons in polygons_by_code.items():
        projected = [
            [
                [(margin + (lon - x0) * k * scale, margin + (y1 - lat) * scale) for lon, lat in ring]
                for ring in polygon
            ]
            for polygon in polygons
        ]
        parts = [_ring_path(ring) for polygon in simplify_polygons(projected, tolerance) for ring in polygon]
        if any(parts):
            paths[code] = "".join(parts)
    w, h = _fmt(drawn_width), _fmt(height)
    projected_points = {}
    for key, (lon, lat) in (points or {}).items():
        x, y = margin + (lon - x0) * k * scale, margin + (y1 - lat) * scale
        if 0 <= x <= drawn_width and 0 <= y <= height:
            projected_points[key] = (_fmt(x), _fmt(y))
    return {"paths": paths, "width": w, "height": h, "view_box": f"0 0 {w} {h}", "points": projected_points}


def _ring_path(ring) -> str:
    """``M x,y l dx,dy … z`` in tenths: differences of rounded points, so that nothing drifts
    ("" for a ring that rounds to fewer than three points)."""
    tenths = [(round(x * 10), round(y * 10)) for x, y in ring]
    if tenths[-1] == tenths[0]:
        tenths = tenths[:-1]
    x, y = tenths[0]
    steps = []
    for nx, ny in tenths[1:]:
        if (nx, ny) != (x, y):
            steps.append(f"{_fmt((nx - x) / 10)},{_fmt((ny - y) / 10)}")
            x, y = nx, ny
    if len(steps) < 2:
        return ""
    return f"M{_fmt(tenths[0][0] / 10)},{_fmt(tenths[0][1] / 10)}l" + " ".join(steps) + "z"
