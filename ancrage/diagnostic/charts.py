"""Geometry of the diagnostic's charts: numbers in, SVG coordinates out.

Pure module: no Django. Templates draw the SVG from these numbers with presentation attributes
only (the CSP forbids inline styles and scripts). Every bar carries its 95 % interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
                "pop_w": round((c["part_population"] or 0) * k, 1),
                "usr_w": round((c["part_usagers"] or 0) * k, 1),
                "ci": lo is not None and hi is not None,
                "ci_lo": round(LABEL_WIDTH + (lo or 0) * k, 1),
                "ci_hi": round(LABEL_WIDTH + (hi or 0) * k, 1),
                "ci_y": y + 19,
                "flagged": c["sous_represente"],
                "couleur": COULEUR_ALERTE if c["sous_represente"] else COULEUR_USAGERS,
                "texte": f"{_pct(c['part_usagers'])} des usagers (IC 95 % : {_pct(lo)} – {_pct(hi)}), "
                f"{_pct(c['part_population'])} de la population",
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
    total_users = sum(s["usagers"] for s in rows)
    total_pop = sum(s["population"] or 0 for s in rows)
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
                "w": round(s["taux_pour_mille"] * k, 1),
                "ci_lo": round(LABEL_WIDTH + lo * k, 1),
                "ci_hi": round(LABEL_WIDTH + hi * k, 1),
                "ci_y": y + 13,
                "flagged": s["sous_frequente"],
                "couleur": COULEUR_ALERTE if s["sous_frequente"] else COULEUR_USAGERS,
                "texte": f"{s['taux_pour_mille']:.1f} pour 1 000 (IC 95 % : {lo:.1f} – {hi:.1f})".replace(
                    ".", ","
                ),
            }
        )
    return {
        "width": LABEL_WIDTH + PLOT_WIDTH + 20,
        "height": TOP + len(rows) * ROW + 10,
        "x0": LABEL_WIDTH,
        "reference": round(reference, 2),
        "reference_x": round(LABEL_WIDTH + reference * k, 1),
        "ticks": _ticks(maximum, k, percent=False),
        "bars": bars,
        "omis": max(0, len([s for s in secteurs if s.get("taux_pour_mille") is not None]) - limit),
    }


def _ticks(maximum: float, k: float, percent: bool) -> list[dict]:
    step_candidates = (
        (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if percent else (1, 2, 5, 10, 20, 25, 50, 100, 200)
    )
    step = next((s for s in step_candidates if maximum / s <= 6), step_candidates[-1])
    ticks, value = [], 0.0
    while value <= maximum + 1e-9:
        label = f"{round(100 * value)} %" if percent else f"{value:g}"
        ticks.append({"x": round(LABEL_WIDTH + value * k, 1), "label": label})
        value += step
    return ticks


def map_chart(paths: Mapping[str, str], height: float, secteurs: Sequence[Mapping]) -> dict | None:
    """Sectors coloured by their standardised ratio; flagged sectors outlined in red."""
    if not paths:
        return None
    by_code = {s["code"]: s for s in secteurs}
    shapes = []
    for code, d in paths.items():
        s = by_code.get(code)
        ratio = s.get("ratio_standardise") if s else None
        if ratio is None:
            fill, classe = "#eeeeee", "sans donnée"
        elif ratio < 0.5:
            fill, classe = "#f4bfb1", "moins de la moitié des usagers attendus"
        elif ratio < 0.8:
            fill, classe = "#fcdcd3", "entre 50 et 80 % des usagers attendus"
        elif ratio < 1.2:
            fill, classe = "#cacafb", "proche du taux moyen"
        else:
            fill, classe = "#6a6af4", "plus de 120 % des usagers attendus"
        shapes.append(
            {
                "code": code,
                "d": d,
                "fill": fill,
                "stroke": COULEUR_ALERTE if s and s["sous_frequente"] else "#ffffff",
                "stroke_width": 2.5 if s and s["sous_frequente"] else 0.8,
                "titre": f"{s['nom'] if s else code} : {classe}",
            }
        )
    # Flagged sectors last, so that their red outline is drawn above their neighbours'.
    shapes.sort(key=lambda x: x["stroke_width"])
    return {"width": 600, "height": height, "shapes": shapes}


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
