"""Where the diagnostic places each attendance record, and the records it cannot place, by reason.

Pure module: no Django. A record is placed in a sector of the population (an IRIS, a commune or a
quartier) through its codes; the IRIS codes of another geography are first read through a table
de passage when one is given (``with_passage``). A record that cannot be placed is never dropped
in silence: :func:`non_places` counts it under one reason (the keys of ``RAISONS``), which the
diagnostic JSON reports as ``non_places`` and the page and the PDF show.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from ancrage.frequentation.readers.columns import UsagerColumns
from ancrage.frequentation.readers.usagers import NON_PLACES

#: The reasons, in the order the page lists them, with their French wording.
RAISONS = {**NON_PLACES, "quartier_inconnu": "non localisés : quartier inconnu"}
#: The reasons counted as « hors territoire »; every other one is « non localisés ».
HORS_TERRITOIRE = ("hors_territoire",)

_IRIS = re.compile(r"^(?:\d{2}|2[AB])\d{7}$")
_COMMUNE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")


def raison(iris: str | None, commune: str | None, niveau: str, codes, communes) -> str:
    """Why a record that found no sector was not placed. ``codes``: the population's IRIS codes;
    ``communes``: its communes (both before the sectors are built)."""
    if iris:
        if niveau == "quartier" and iris in codes:
            return "hors_quartiers"
        if niveau != "commune" and iris[:5] in communes:
            return "iris_inconnu"
        return "hors_territoire"
    if commune:
        return "sans_iris" if niveau != "commune" and commune in communes else "hors_territoire"
    return "sans_code"


def with_passage(
    index: Mapping[str, int],
    quartiers: Mapping[str, str],
    passage: Mapping[str, str],
    niveau: str,
) -> tuple[dict[str, int], dict[str, str]]:
    """The sector index (code -> row) and the IRIS -> quartier map, extended with the codes of
    another geography the table de passage gives (``passage``: code of the file -> IRIS of the
    population). At the commune level a commune code of the file is added when all its IRIS
    lead to one commune of the population (a commune nouvelle merged from several does not)."""
    index = dict(index)
    quartiers = dict(quartiers)
    if niveau == "iris":
        for new, old in passage.items():
            if new not in index and old in index:
                index[new] = index[old]
    elif niveau == "quartier":
        for new, old in passage.items():
            if new not in quartiers and old in quartiers:
                quartiers[new] = quartiers[old]
    else:
        targets: dict[str, set[str]] = {}
        for new, old in passage.items():
            targets.setdefault(new[:5], set()).add(old[:5])
        for new, olds in targets.items():
            if new not in index and len(olds) == 1 and (old := next(iter(olds))) in index:
                index[new] = index[old]
    return index, quartiers


def locations(frequentation, comptages=None) -> Counter:
    """(IRIS code, commune code) -> records, for the records or counts the engine reads."""
    counts: Counter = Counter()
    if comptages is not None:
        for iris, commune, n in zip(
            comptages.iris, comptages.communes, comptages.total.tolist(), strict=True
        ):
            if n:
                counts[(iris or None, commune or None)] += int(n)
        return counts
    individus = frequentation.individus
    if isinstance(individus, UsagerColumns):
        import numpy as np

        for chunk in individus.chunks:
            per_value = np.bincount(chunk.secteur.codes, minlength=len(chunk.secteur.values))
            for (iris, commune), n in zip(chunk.secteur.values, per_value.tolist(), strict=True):
                if n:
                    counts[(iris or None, commune or None)] += n
        return counts
    for r in individus:
        counts[(getattr(r, "code_iris", None) or None, r.code_commune or None)] += 1
    return counts


def non_places(
    placed: Iterable[tuple[tuple[str | None, str | None], int, bool, bool]],
    *,
    niveau: str,
    codes,
    communes,
) -> tuple[dict[str, int], int]:
    """Count the records not placed, by reason (every reason listed, 0 when none), and how many
    records were placed through the table de passage. ``placed``: per location, its codes, its
    records, whether it found a sector, and whether it did only through the table de passage."""
    counts = dict.fromkeys(RAISONS, 0)
    convertis = 0
    for (iris, commune), n, found, by_passage in placed:
        if found:
            convertis += n if by_passage else 0
        else:
            counts[raison(iris, commune, niveau, codes, communes)] += n
    return counts, convertis


def agregats_non_places(
    agregats, found: Mapping[str, bool], *, niveau: str, codes, communes
) -> dict[str, int]:
    """The users of aggregated counts whose sector was not found, by reason: a sector's users are
    its ``total`` rows, or else the largest of its dimensions (each leaves out its unknowns)."""
    totals: Counter = Counter()
    per_dimension: dict[str, Counter] = {}
    for a in agregats:
        if found.get(a.code_secteur, True):
            continue
        if a.dimension == "total":
            totals[a.code_secteur] += a.usagers
        else:
            per_dimension.setdefault(a.code_secteur, Counter())[a.dimension] += a.usagers
    counts = dict.fromkeys(RAISONS, 0)
    for code in set(totals) | set(per_dimension):
        n = totals[code] if code in totals else max(per_dimension[code].values())
        if _IRIS.match(code):
            reason = raison(code, None, niveau, codes, communes)
        elif _COMMUNE.match(code):
            reason = raison(None, code, niveau, codes, communes)
        else:
            reason = "quartier_inconnu"
        counts[reason] += n
    return counts


def resume(resultat: Mapping) -> dict:
    """What the page and the PDF say of the records not placed (``_non_places.html``): the
    placed records, the records « hors territoire » and « non localisés », one line per reason
    with records. A diagnostic saved before ``non_places`` existed reports none."""
    counts = resultat.get("non_places") or {}
    lignes = [(RAISONS.get(reason, reason), n) for reason, n in counts.items() if n]
    hors = sum(n for reason, n in counts.items() if reason in HORS_TERRITOIRE)
    total = sum(counts.values())
    return {
        "connu": "non_places" in resultat,
        "places": sum(s.get("usagers") or 0 for s in resultat.get("secteurs", [])),
        "total": total,
        "hors_territoire": hors,
        "non_localises": total - hors,
        "lignes": lignes,
        "convertis": resultat.get("iris_convertis") or 0,
    }
