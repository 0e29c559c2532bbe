"""Sector outlines: read a GeoJSON file, and draw the outlines as SVG paths.

Pure module: no Django. The map of the diagnostic is small (a commune, an intercommunality), so
lon/lat are projected simply: equirectangular, x scaled by cos(mean latitude), which keeps shapes
right at that scale without a projection library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping

from ancrage.core.importing import IssueCollector
from ancrage.territoire.insee import Source, load_bytes, normalise_iris, reject

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
MAX_POINTS = 200_000


def read_contours(
    source: Source, filename: str | None = None, *, codes_connus: Collection[str] | None = None
) -> dict[str, dict]:
    """Read a GeoJSON FeatureCollection in WGS 84 into ``{code IRIS or commune: geometry}``.

    The code is taken from the first property among :data:`CODE_PROPERTIES`. Only Polygon and
    MultiPolygon geometries are kept (they are what a sector outline is).
    """
    data, file = load_bytes(source, filename)
    if not data.strip():
        raise reject(file, "Le fichier est vide.")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        raise reject(file, "Ce fichier n'est pas un GeoJSON lisible (JSON invalide).", line=line) from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise reject(file, "Le GeoJSON doit être une « FeatureCollection ».")
    features = document.get("features")
    if not isinstance(features, list):
        raise reject(file, "La « FeatureCollection » n'a pas de liste « features ».")
    issues = IssueCollector(file)
    contours: dict[str, dict] = {}
    points = 0
    for number, feature in enumerate(features, start=1):
        where = f"objet n° {number}"
        if not isinstance(feature, dict):
            issues.add(f"{where} : ce n'est pas un objet GeoJSON.")
            continue
        properties = feature.get("properties") or {}
        code = next((str(properties[p]) for p in CODE_PROPERTIES if properties.get(p)), "")
        code = normalise_iris(code) if len(code) in (8, 9) else code.strip().upper()
        if not code:
            issues.add(f"{where} : aucune propriété « code_iris » (ou « code », « DCOMIRIS »).")
            continue
        geometry = feature.get("geometry") or {}
        kind = geometry.get("type")
        if kind not in ("Polygon", "MultiPolygon"):
            issues.add(f"{where} (code {code}) : géométrie « {kind} » ; un polygone est attendu.")
            continue
        polygons = geometry.get("coordinates") if kind == "MultiPolygon" else [geometry.get("coordinates")]
        try:
            for polygon in polygons:
                for ring in polygon:
                    for lon, lat, *_ in ring:
                        points += 1
                        if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):
                            raise ValueError
        except (TypeError, ValueError):
            issues.add(
                f"{where} (code {code}) : coordonnées invalides ; des longitudes/latitudes en degrés "
                "(WGS 84) sont attendues, pas du Lambert-93."
            )
            continue
        if codes_connus is not None and code not in codes_connus:
            issues.add(
                f"{where} : code « {code} » inconnu : il n'est dans aucune base de population importée."
            )
            continue
        contours[code] = {"type": kind, "coordinates": geometry["coordinates"]}
    if points > MAX_POINTS:
        issues.add(f"Contours trop détaillés ({points} points, {MAX_POINTS} au plus) : simplifiez-les.")
    if not contours and not issues:
        issues.add("Le fichier ne contient aucun contour.")
    issues.raise_if_any()
    return contours


def svg_paths(
    contours: Mapping[str, dict], width: float = 600, margin: float = 8
) -> tuple[dict[str, str], float]:
    """SVG path data per code, fitted in ``width``; returns the paths and the drawing's height."""
    rings_by_code = {}
    lons, lats = [], []
    for code, geometry in contours.items():
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        rings = [ring for polygon in polygons for ring in polygon]
        rings_by_code[code] = rings
        for ring in rings:
            for lon, lat, *_ in ring:
                lons.append(float(lon))
                lats.append(float(lat))
    if not lons:
        return {}, 0.0
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * k, 1e-9)
    span_y = max(max(lats) - min(lats), 1e-9)
    scale = (width - 2 * margin) / span_x
    height = span_y * scale + 2 * margin
    x0, y1 = min(lons), max(lats)
    paths = {}
    for code, rings in rings_by_code.items():
        parts = []
        for ring in rings:
            coords = [
                f"{margin + (float(lon) - x0) * k * scale:.1f},{margin + (y1 - float(lat)) * scale:.1f}"
                for lon, lat, *_ in ring
            ]
            parts.append("M" + " L".join(coords) + " Z")
        paths[code] = " ".join(parts)
    return paths, round(height, 1)
