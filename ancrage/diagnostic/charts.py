"""Geometry of the diagnostic's charts: numbers in, SVG coordinates out.

Pure module: no Django. Templates draw the SVG from these numbers with presentation attributes
only (the CSP forbids inline styles and scripts). Every bar carries its 95 % interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ancrage.core.svg import svg_number
from ancrage.diagnostic import stats
from ancrage.diagnostic.cibles import DIMENSION_LABELS, category_label
from ancrage.territoire.libelles import libelle_secteur

LABEL_WIDTH = 230
PLOT_WIDTH = 380
ROW = 34
TOP = 28

# DSFR colours: blue France for users, grey for the population, red marianne for a flag.
COULEUR_USAGERS = "#000091"
COULEUR_POPULATION = "#929292"
COULEUR_ALERTE = "#c9191e"


def svg_num(x: float, digits: int = 1) -> str:
    """A coordinate for an SVG attribute: a plain dot decimal, whatever the page's locale (Django's
    French localisation would write a float as "13,1", which SVG reads as two numbers)."""
    return svg_number(round(float(x), digits))


def sig3(x: float | None, max_decimals: int | None = None) -> str:
    """A figure for display: 3 significant digits, French decimal comma ("0,667", "1\u202f230");
    ``max_decimals`` caps the decimals (a count of users: "0", not "-0,0314")."""
    if x is None or not math.isfinite(x):
        return "—"
    if x == 0:
        return "0"
    place = 2 - math.floor(math.log10(abs(x)))
    if max_decimals is not None:
        place = min(place, max_decimals)
    value = round(x, place)
    if value == 0:
        return "0"
    text = f"{value:,.{max(place, 0)}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %".replace(".", ",")


def _scale(maximum: float) -> float:
    return PLOT_WIDTH / maximum if maximum > 0 else 0.0


def categories_chart(categories: Sequence[Mapping], dimension: str) -> dict | None:
    """Share in the population (grey) against share among users (blue) with its 95 % interval."""
    rows = [c for c in categories if c["dimension"] == dimension]
    if not rows:
        return None
    maximum = max(
        max(c["part_population"] or 0, c["part_usagers"] or 0, (c["ic95"] or [0, 0])[1] or 0) for c in rows
    )
    maximum = min(1.0, maximum * 1.1) or 1.0
    k = _scale(maximum)
    bars = []
    for i, c in enumerate(rows):
        y = TOP + i * ROW
        lo, hi = c["ic95"] or (None, None)
        bars.append(
            {
                "label": category_label(dimension, c["categorie"]),
                "y": y,
                "text_y": y + 16,
                "pop_y": y + 2,
                "usr_y": y + 14,
                "pop_w": svg_num((c["part_population"] or 0) * k),
                "usr_w": svg_num((c["part_usagers"] or 0) * k),
                "ci": lo is not None and hi is not None,
                "ci_lo": svg_num(LABEL_WIDTH + (lo or 0) * k),
                "ci_hi": svg_num(LABEL_WIDTH + (hi or 0) * k),
                "ci_y": y + 19,
                "flagged": c["sous_represente"],
                "couleur": COULEUR_ALERTE if c["sous_represente"] else COULEUR_USAGERS,
                "texte": f"{_pct(c['part_usagers'])} des usagers (IC 95 % : {_pct(lo)} – {_pct(hi)}), "
                f"{_pct(c['part_population'])} de la population"
                + (
                    f", indice {sig3(c['indice_representation'])} (IC 95 % : "
                    f"{sig3(c['indice_ic95'][0])} – {sig3(c['indice_ic95'][1])})"
                    if c.get("indice_ic95")
                    else ""
                ),
                "approximation": c.get("approximation", False),
            }
        )
    return {
        "dimension": dimension,
        "titre": DIMENSION_LABELS.get(dimension, dimension),
        "width": LABEL_WIDTH + PLOT_WIDTH + 20,
        "height": TOP + len(rows) * ROW + 10,
        "x0": LABEL_WIDTH,
        "ticks": _ticks(maximum, k, percent=True),
        "bars": bars,
        "rows": rows,
    }


def secteurs_chart(secteurs: Sequence[Mapping], limit: int = 60) -> dict | None:
    """Rate per 1,000 inhabitants of each sector with its exact Poisson interval, lowest first."""
    rows = [s for s in secteurs if s.get("taux_pour_mille") is not None]
    if not rows:
        return None
    total_users = sum(s.get("usagers_precis", s["usagers"]) for s in rows)
    total_pop = sum(s.get("population_eligible", s["population"]) or 0 for s in rows)
    reference = 1000 * total_users / total_pop if total_pop else 0
    rows = sorted(rows, key=lambda s: (not s["sous_frequente"], s["taux_pour_mille"]))[:limit]
    maximum = max(max((s["ic95"] or [0, 0])[1] or 0, s["taux_pour_mille"]) for s in rows) * 1.05 or 1.0
    k = _scale(maximum)
    bars = []
    for i, s in enumerate(rows):
        y = TOP + i * ROW
        lo, hi = s["ic95"] or (0, 0)
        nom = libelle_secteur(s["code"], s["nom"])
        bars.append(
            {
                "label": nom if len(nom) <= 34 else nom[:33] + "…",
                "code": s["code"],
                "y": y,
                "text_y": y + 16,
                "bar_y": y + 6,
                "w": svg_num(s["taux_pour_mille"] * k),
                "ci_lo": svg_num(LABEL_WIDTH + lo * k),
                "ci_hi": svg_num(LABEL_WIDTH + hi * k),
                "ci_y": y + 13,
                "flagged": s["sous_frequente"],
                "couleur": COULEUR_ALERTE if s["sous_frequente"] else COULEUR_USAGERS,
                "texte": f"{sig3(s['taux_pour_mille'])} pour 1 000 (IC 95 % : {sig3(lo)} – {sig3(hi)})"
                + _ratio_text(s),
            }
        )
    return {
        "width": LABEL_WIDTH + PLOT_WIDTH + 20,
        "height": TOP + len(rows) * ROW + 10,
        "x0": LABEL_WIDTH,
        "reference": round(reference, 2),
        "reference_x": svg_num(LABEL_WIDTH + reference * k),
        "ticks": _ticks(maximum, k, percent=False),
        "bars": bars,
        "omis": max(0, len([s for s in secteurs if s.get("taux_pour_mille") is not None]) - limit),
    }


def _ratio_text(s: Mapping) -> str:
    if s.get("ratio_standardise") is None:
        return ""
    lo, hi = s.get("ratio_ic95") or (None, None)
    return f", ratio {sig3(s['ratio_standardise'])} (IC 95 % : {sig3(lo)} – {sig3(hi)})"


def _ticks(maximum: float, k: float, percent: bool) -> list[dict]:
    step_candidates = (
        (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if percent else (1, 2, 5, 10, 20, 25, 50, 100, 200)
    )
    step = next((s for s in step_candidates if maximum / s <= 6), step_candidates[-1])
    ticks, value = [], 0.0
    while value <= maximum + 1e-9:
        label = f"{round(100 * value)} %" if percent else f"{value:g}"
        ticks.append({"x": svg_num(LABEL_WIDTH + value * k), "label": label})
        value += step
    return ticks


#: The map's classes: (upper bound of the standardised ratio, fill, legend label), then no data.
MAP_CLASSES = (
    (0.5, "#f4bfb1", "moins de 50 % des usagers attendus"),
    (0.8, "#fcdcd3", "de 50 à 80 % des usagers attendus"),
    (1.2, "#cacafb", "de 80 à 120 % : proche du taux moyen"),
    (None, "#6a6af4", "plus de 120 % des usagers attendus"),
)
PRINT_MAX_MM = (180, 150)
MAP_FAIBLE = ("#dddddd", "moins de 10 usagers attendus : trop peu pour conclure")
MAP_NO_DATA = ("#eeeeee", "sans donnée (population nulle ou inconnue)")


def _map_class(ratio: float | None) -> int:
    """Index in MAP_CLASSES (``len(MAP_CLASSES)``: no data)."""
    if ratio is None:
        return len(MAP_CLASSES)
    return next(i for i, (bound, _, _) in enumerate(MAP_CLASSES) if bound is None or ratio < bound)


def _fr(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def map_chart(drawing: Mapping | None, secteurs: Sequence[Mapping]) -> dict | None:
    """Sectors coloured by their Empirical-Bayes smoothed ratio (``ratio_lisse``; the raw ratio for
    results computed before it existed); flagged sectors outlined in red; sectors with fewer than
    10 expected users greyed out: too few to colour. The table gives the raw ratio as well.

    ``drawing``: ``geo.svg_paths``' paths and view box. Every number bound for an SVG attribute
    is a dot-decimal string here; the legend counts the sectors of each class, and ``rows``
    (the table beside the map) gives each drawn sector's figures and class in words.
    """
    if not drawing or not drawing.get("paths"):
        return None
    by_code = {s["code"]: s for s in secteurs}
    classes = [*MAP_CLASSES, (None, *MAP_FAIBLE), (None, *MAP_NO_DATA)]
    counts = [0] * len(classes)
    shapes, rows = [], []
    for code, d in drawing["paths"].items():
        s = by_code.get(code)
        raw = s.get("ratio_standardise") if s else None
        ratio = s.get("ratio_lisse", raw) if s else None
        grise = bool(s and s.get("attendus_faibles", False))
        if ratio is None:
            index = len(classes) - 1
        elif grise:
            index = len(MAP_CLASSES)
        else:
            index = _map_class(ratio)
        counts[index] += 1
        _, fill, classe = classes[index]
        flagged = bool(s and s["sous_frequente"])
        nom = s["nom"] if s else code
        shapes.append(
            {
                "code": code,
                "d": d,
                "fill": fill,
                "stroke": COULEUR_ALERTE if flagged else "#ffffff",
                "stroke_width": "2.5" if flagged else "0.8",
                "flagged": flagged,
                "grise": grise,
                "ratio_lisse": ratio,
                "titre": f"{nom} : {classe}"
                + (f" (ratio lissé {sig3(ratio)})" if ratio is not None else "")
                + (" ; sous-fréquenté" if flagged else ""),
            }
        )
        rows.append(
            {
                "code": code,
                "nom": nom,
                "usagers": _fr(s["usagers"]) if s else "—",
                "population": _fr(s.get("population")) if s else "—",
                "rapport": "—" if raw is None else f"{_fr(100 * raw)} %",
                "rapport_lisse": "—" if ratio is None else f"{_fr(100 * ratio)} %",
                "classe": classe,
                "fill": fill,
                "sous_frequente": flagged,
                "ordre": (ratio is None, ratio or 0, nom),
            }
        )
    # Flagged sectors last, so that their red outline is drawn above their neighbours'.
    shapes.sort(key=lambda x: x["flagged"])
    rows.sort(key=lambda r: r["ordre"])
    legende = [
        {"fill": fill, "label": label, "nombre": counts[i]}
        for i, (_, fill, label) in enumerate(classes)
        if counts[i] or i < len(MAP_CLASSES)
    ]
    # Printed (A4, 180 mm of text width): as large as fits in 180 × 150 mm, its shape kept.
    width, height = float(drawing["width"]), float(drawing["height"])
    mm = min(PRINT_MAX_MM[0] / width, PRINT_MAX_MM[1] / height)
    return {
        "width": drawing["width"],
        "height": drawing["height"],
        "view_box": drawing["view_box"],
        "print_width": f"{width * mm:.1f}mm",
        "print_height": f"{height * mm:.1f}mm",
        "shapes": shapes,
        "legende": legende,
        "nb_sous_frequentes": sum(1 for x in shapes if x["flagged"]),
        "rows": rows,
        "couleur_alerte": COULEUR_ALERTE,
    }


FUNNEL_WIDTH, FUNNEL_HEIGHT = 560, 340
_F_LEFT, _F_RIGHT, _F_TOP, _F_BOTTOM = 48, 16, 16, 40


# The funnel's point labels: 11 px type, some 5.6 px a character, a line of 13 px.
LABEL_CHAR_WIDTH = 5.6
LABEL_LINE = 13.0


def _spread_labels(points: list[dict]) -> None:
    """Move each point's label a line further from the line at 1 until it overlaps no label
    placed before it (two EPNs of the same reach would otherwise print one name over the other)."""
    placed: list[tuple[float, float, float]] = []
    for point in points:
        text, x, y = point["etiquette"], float(point["etiquette_x"]), float(point["etiquette_y"])
        width = len(text) * LABEL_CHAR_WIDTH
        x0, x1 = (x - width, x) if point["etiquette_ancre"] == "end" else (x, x + width)
        away = -LABEL_LINE if float(point["cy"]) > y else LABEL_LINE  # label above its point: up
        while any(x0 < b1 and b0 < x1 and abs(y - by) < LABEL_LINE for b0, b1, by in placed):
            y += away
        placed.append((x0, x1, y))
        point["etiquette_y"] = svg_num(y)


def funnel_chart(
    secteurs: Sequence[Mapping], *, objet: str = "secteur", objets: str = "secteurs", etiquettes: bool = False
) -> dict | None:
    """Funnel plot: each sector's ratio (observed / expected users) against its expected users
    (log scale), with the exact Poisson 95 % and 99.8 % limits around 1 (Spiegelhalter, 2005).
    A point below the lower limits has fewer users than chance alone would explain; a small sector
    needs a larger gap to fall outside. Sectors with fewer than 10 expected users are grey.

    ``objet``/``objets``: what a point is, in French (the network dashboard's points are EPNs,
    « lieu », « lieux »); ``etiquettes``: each point's name written beside it (a few points only)."""
    rows = [
        s for s in secteurs if (s.get("usagers_attendus") or 0) > 0 and s.get("ratio_standardise") is not None
    ]
    if not rows:
        return None
    expected = np.array([s["usagers_attendus"] for s in rows], dtype=float)
    ratios = np.array([s["ratio_standardise"] for s in rows], dtype=float)
    x_min = max(1.0, 10 ** math.floor(math.log10(max(expected.min(), 1.0))))
    x_max = 10 ** math.ceil(math.log10(max(expected.max(), x_min * 10)))
    lo_grid = np.geomspace(x_min, x_max, 80)
    l95, h95 = stats.funnel_limits(lo_grid, 0.95)
    l998, h998 = stats.funnel_limits(lo_grid, 0.998)
    y_max = float(min(4.0, max(2.0, math.ceil(2 * min(ratios.max(), 4.0) + 0.5) / 2)))
    plot_w = FUNNEL_WIDTH - _F_LEFT - _F_RIGHT
    plot_h = FUNNEL_HEIGHT - _F_TOP - _F_BOTTOM

    def px(e):
        return _F_LEFT + plot_w * (math.log10(e) - math.log10(x_min)) / (
            math.log10(x_max) - math.log10(x_min)
        )

    def py(r):
        return _F_TOP + plot_h * (1 - min(max(r, 0.0), y_max) / y_max)

    def line(values):
        return " ".join(f"{svg_num(px(e))},{svg_num(py(r))}" for e, r in zip(lo_grid, values, strict=True))

    points = []
    for s, e, r in zip(rows, expected, ratios, strict=True):
        grise = e < stats.MIN_ATTENDUS
        couleur = "#bbbbbb" if grise else COULEUR_ALERTE if s["sous_frequente"] else COULEUR_USAGERS
        ic = s.get("ratio_ic95") or [None, None]
        users = s.get("usagers_precis", s["usagers"])
        x, y = px(e), py(r)
        left = x > _F_LEFT + plot_w / 2
        points.append(
            {
                "cx": svg_num(x),
                "cy": svg_num(y),
                "etiquette": s["nom"] if etiquettes else "",
                "etiquette_x": svg_num(x - 7 if left else x + 7),
                # Away from the line at 1: above a point over it, below a point under it.
                "etiquette_y": svg_num(y - 7 if r >= 1 else y + 15),
                "etiquette_ancre": "end" if left else "start",
                "couleur": couleur,
                "r": "4.5" if s["sous_frequente"] else "3",
                "titre": f"{s['nom']} : {sig3(users)} "
                f"usagers pour {sig3(e)} attendus, ratio {sig3(r)} (IC 95 % : {sig3(ic[0])} – {sig3(ic[1])})"
                + (" ; moins de 10 usagers attendus" if grise else ""),
                "flagged": bool(s["sous_frequente"]),
            }
        )
    if etiquettes:
        _spread_labels(points)
    points.sort(key=lambda p: p["flagged"])
    x_ticks = []
    decade = x_min
    while decade <= x_max * 1.0001:
        x_ticks.append({"x": svg_num(px(decade)), "label": f"{decade:,.0f}".replace(",", "\u202f")})
        decade *= 10
    y_ticks = [
        {"y": svg_num(py(v)), "label": f"{v:g}".replace(".", ",")} for v in np.arange(0, y_max + 1e-9, 0.5)
    ]
    return {
        "width": FUNNEL_WIDTH,
        "height": FUNNEL_HEIGHT,
        "left": _F_LEFT,
        "right": FUNNEL_WIDTH - _F_RIGHT,
        "top": _F_TOP,
        "bottom": FUNNEL_HEIGHT - _F_BOTTOM,
        "axis_label_y": FUNNEL_HEIGHT - 6,
        "center_x": svg_num(_F_LEFT + plot_w / 2),
        "y1": svg_num(py(1.0)),
        "bas95": line(l95),
        "haut95": line(h95),
        "bas998": line(l998),
        "haut998": line(h998),
        "points": points,
        "x_ticks": x_ticks,
        "y_ticks": y_ticks,
        "n": len(points),
        "objet": objet,
        "objets": objets,
    }


def comparaison(avant: Mapping, apres: Mapping) -> dict:
    """Rates and indices of two saved diagnostics, side by side (matched on codes)."""
    sect_a = {s["code"]: s for s in avant.get("secteurs", [])}
    secteurs = []
    for s in apres.get("secteurs", []):
        a = sect_a.get(s["code"])
        secteurs.append(
            {
                "code": s["code"],
                "nom": libelle_secteur(s["code"], s["nom"]),
                "taux_avant": a["taux_pour_mille"] if a else None,
                "taux_apres": s["taux_pour_mille"],
                "ratio_avant": a["ratio_standardise"] if a else None,
                "ratio_apres": s["ratio_standardise"],
                "evolution": _delta(a["taux_pour_mille"] if a else None, s["taux_pour_mille"]),
                "sous_frequente_avant": bool(a and a["sous_frequente"]),
                "sous_frequente_apres": s["sous_frequente"],
            }
        )
    cat_a = {(c["dimension"], c["categorie"]): c for c in avant.get("categories", [])}
    categories = []
    for c in apres.get("categories", []):
        a = cat_a.get((c["dimension"], c["categorie"]))
        categories.append(
            {
                "dimension": DIMENSION_LABELS.get(c["dimension"], c["dimension"]),
                "categorie": category_label(c["dimension"], c["categorie"]),
                "indice_avant": a["indice_representation"] if a else None,
                "indice_apres": c["indice_representation"],
                "part_avant": a["part_usagers"] if a else None,
                "part_apres": c["part_usagers"],
                "evolution": _delta(a["indice_representation"] if a else None, c["indice_representation"]),
                "sous_represente_avant": bool(a and a["sous_represente"]),
                "sous_represente_apres": c["sous_represente"],
            }
        )
    return {"secteurs": secteurs, "categories": categories}


def _delta(before, after):
    if before is None or after is None:
        return None
    return round(after - before, 3)


#: The territory map's class for a sector with inhabitants that no EPN reaches.
MAP_NON_ATTEINT = ("#ffffff", "aucun usager d’aucun EPN")


def territoire_map(
    drawing: Mapping | None, secteurs: Sequence, noms: Mapping[str, str], lieux=()
) -> dict | None:
    """The territory's sectors (``couverture.SecteurTerritoire``) coloured by their usagers, all
    EPNs together, against those expected at the territory's mean rate (raw ratio: no smoothing);
    sectors no EPN reaches outlined in red; the EPNs' places as numbered points.

    ``lieux``: (number, name, key) of each EPN, the key in ``drawing["points"]``.
    """
    if not drawing or not drawing.get("paths"):
        return None
    by_code = {s.code: s for s in secteurs}
    classes = [*MAP_CLASSES, (None, *MAP_NON_ATTEINT), (None, *MAP_FAIBLE), (None, *MAP_NO_DATA)]
    counts = [0] * len(classes)
    shapes = []
    for code, d in drawing["paths"].items():
        s = by_code.get(code)
        if s is None or not s.population:
            index = len(classes) - 1
        elif s.non_atteint:
            index = len(MAP_CLASSES)
        elif s.attendus_faibles:
            index = len(MAP_CLASSES) + 1
        else:
            index = _map_class(s.ratio)
        counts[index] += 1
        _, fill, classe = classes[index]
        flagged = bool(s and s.non_atteint)
        nom = libelle_secteur(code, noms.get(code))
        shapes.append(
            {
                "code": code,
                "d": d,
                "fill": fill,
                "stroke": COULEUR_ALERTE if flagged else "#ffffff",
                "stroke_width": "2.5" if flagged else "0.8",
                "flagged": flagged,
                "titre": f"{nom} : {classe}",
            }
        )
    shapes.sort(key=lambda x: x["flagged"])
    points = drawing.get("points", {})
    return {
        "width": drawing["width"],
        "height": drawing["height"],
        "view_box": drawing["view_box"],
        "shapes": shapes,
        "legende": [
            {"fill": fill, "label": label, "nombre": counts[i]}
            for i, (_, fill, label) in enumerate(classes)
            if counts[i] or i < len(MAP_CLASSES)
        ],
        "nb_non_atteints": sum(1 for x in shapes if x["flagged"]),
        "lieux": [
            {"numero": n, "nom": nom, "x": points[key][0], "y": points[key][1]}
            for n, nom, key in lieux
            if key in points
        ],
        "couleur_alerte": COULEUR_ALERTE,
        "couleur_lieu": COULEUR_USAGERS,
    }
