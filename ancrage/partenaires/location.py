"""Where a place of the directory is: its IRIS or commune, and its distance to the EPN.

Pure module: no Django. A place is located, in this order:

1. by its coordinates inside a sector outline, when the EPN has loaded outlines
   (``territoire.Secteur.contour``): its IRIS, or the commune of a commune outline;
2. by its ``code_insee``, when the COG knows it;
3. by its commune name in the département of its postal code (the Cartographie nationale's
   files often carry no ``code_insee``).

Each step is cheap for the 800 places of a regional file: the outlines' bounding boxes are
computed once per ranking, and a point is tested against a polygon only inside its box; the
names of the communes are indexed once per process.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from ancrage.organisations import cog
from ancrage.partenaires.enums_standard import match_key

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Location:
    """A place's commune (COG code, or "" when unknown) and IRIS (or "" when no outline held it)."""

    commune: str = ""
    iris: str = ""
    how: str = ""

    @property
    def sectors(self) -> frozenset[str]:
        """The sector codes the place is in: its IRIS, or its commune (which covers its IRIS)."""
        return frozenset([self.iris] if self.iris else [self.commune] if self.commune else [])

    @property
    def commune_nom(self) -> str:
        try:
            return cog.commune(self.commune).nom if self.commune else ""
        except cog.UnknownCode:
            return ""


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _in_ring(x: float, y: float, ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = float(ring[i][0]), float(ring[i][1])
        xj, yj = float(ring[j][0]), float(ring[j][1])
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def in_geometry(lon: float, lat: float, geometry: Mapping) -> bool:
    """Is the point inside a GeoJSON Polygon or MultiPolygon (holes excluded)?"""
    kind = geometry.get("type")
    polygons = geometry.get("coordinates") or []
    if kind == "Polygon":
        polygons = [polygons]
    elif kind != "MultiPolygon":
        return False
    for polygon in polygons:
        if polygon and _in_ring(lon, lat, polygon[0]) and not any(_in_ring(lon, lat, h) for h in polygon[1:]):
            return True
    return False


def _bbox(geometry: Mapping) -> tuple[float, float, float, float]:
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    xs = [float(p[0]) for polygon in polygons for ring in polygon[:1] for p in ring]
    ys = [float(p[1]) for polygon in polygons for ring in polygon[:1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


class OutlineIndex:
    """The outlines of an EPN's sectors, ready to say which one holds a point."""

    def __init__(self, contours: Mapping[str, Mapping]):
        self._items = []
        for code, geometry in sorted(contours.items()):
            if (
                geometry
                and geometry.get("type") in ("Polygon", "MultiPolygon")
                and geometry.get("coordinates")
            ):
                self._items.append((code, _bbox(geometry), geometry))

    def __bool__(self) -> bool:
        return bool(self._items)

    def locate(self, lon: float, lat: float) -> str | None:
        for code, (x0, y0, x1, y1), geometry in self._items:
            if x0 <= lon <= x1 and y0 <= lat <= y1 and in_geometry(lon, lat, geometry):
                return code
        return None


@cache
def _communes_by_name(departement: str) -> dict[str, str]:
    try:
        communes = cog.communes_of("departement", departement)
    except cog.UnknownCode:
        return {}
    index: dict[str, str] = {}
    for commune in communes:
        index.setdefault(match_key(commune.nom), commune.code)
    return index


def departements_of_postal_code(code_postal: str) -> tuple[str, ...]:
    """The départements a postal code may belong to (its two or three first digits; Corsica's 20
    is 2A or 2B). A postal code follows the département almost always, not always: only a hint."""
    code = (code_postal or "").strip()
    if len(code) != 5 or not code.isdigit():
        return ()
    if code.startswith("20"):
        return ("2A", "2B")
    if code.startswith("97") or code.startswith("98"):
        return (code[:3],)
    return (code[:2],)


def commune_code(code_insee: str = "", code_postal: str = "", commune: str = "") -> tuple[str, str]:
    """The COG code of a place's commune and how it was found, or ("", "")."""
    code = (code_insee or "").strip().upper()
    if code:
        try:
            found = cog.commune(code)
        except cog.UnknownCode:
            pass
        else:
            return (found.parent or found.code), "code INSEE"
    name = match_key(commune or "")
    if name:
        for departement in departements_of_postal_code(code_postal):
            found_code = _communes_by_name(departement).get(name)
            if found_code:
                return found_code, "nom de la commune et code postal"
    return "", ""


def locate(
    *,
    latitude: float | None,
    longitude: float | None,
    code_insee: str = "",
    code_postal: str = "",
    commune: str = "",
    outlines: OutlineIndex | None = None,
) -> Location:
    """Locate a place: in an outline by its coordinates, otherwise in its commune."""
    if outlines and latitude is not None and longitude is not None:
        code = outlines.locate(float(longitude), float(latitude))
        if code:
            if len(code) == 9:
                return Location(commune=code[:5], iris=code, how="coordonnées dans le contour de l’IRIS")
            return Location(commune=code, how="coordonnées dans le contour de la commune")
    code, how = commune_code(code_insee, code_postal, commune)
    return Location(commune=code, how=how)
