"""An imported INSEE base as stored: one blob of arrays per import (pure module: no Django).

The population of an import (codes, totals, one sectors × categories matrix per table) is kept as
one row of compressed arrays (``models.PopulationValeurs``), written and read in one statement
whatever the number of IRIS (50,000 IRIS at the national tier). The packing itself is
``ancrage.core.arrays``; this module says which arrays an import is made of, and rebuilds the
:class:`insee.Population` the diagnostic reads from them.

The migration that replaced the one-row-per-value storage (``territoire/0002``) uses
:func:`population_from_rows` and :func:`population_rows` to convert between the two: the format
is versioned (``FORMAT_VERSION``).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ancrage.core import arrays as stored
from ancrage.territoire import insee

FORMAT_VERSION = 1
_COMMUNE = operator.itemgetter(slice(5))  # an IRIS code's commune: its first five characters
TOTAL = "total"  # the ``table`` of the total rows in the former one-row-per-value storage


@dataclass(frozen=True)
class Template:
    """What a table's key says of it: its dimension, categories (in order), exploitation, universe."""

    key: str
    dimension: str
    categories: tuple[str, ...]
    complementaire: bool
    univers: str


def table_template(key: str) -> Template:
    if key == "diplome":
        return Template(key, "diplome", insee.DIPLOME_CATEGORIES, False, insee.UNIVERS[key])
    kind, categories, _ = insee._TABLE_COLUMNS[key]
    dimension = "age" if key.startswith("age") else key
    return Template(key, dimension, categories, kind == "C", insee.UNIVERS[key])


# --- Arrays <-> bytes -------------------------------------------------------------------------------


def to_bytes(population: insee.Population) -> bytes:
    """The arrays of an imported base: its codes (in order), totals (NaN when unknown), and per
    table its categories, values (float64, zero where the sector is absent from the table) and
    ``present`` mask."""
    keys = sorted(population.repartitions)
    arrays: dict[str, np.ndarray] = {}
    for i, key in enumerate(keys):
        rep = population.repartitions[key]
        present = np.asarray(rep.present, dtype=bool)
        values = np.asarray(rep.values, dtype=np.float64)
        arrays[f"categories_{i}"] = np.array(rep.categories, dtype=str)
        arrays[f"values_{i}"] = np.where(present[:, None], values, 0.0) if not present.all() else values
        arrays[f"present_{i}"] = present
    return stored.pack(
        meta=np.array([FORMAT_VERSION], dtype=np.int64),
        codes=np.array(population.codes, dtype=str).reshape(-1),
        total=np.asarray(population.total, dtype=np.float64),
        tables=np.array(keys, dtype=str).reshape(-1),
        **arrays,
    )


@dataclass(frozen=True)
class Stored:
    """The arrays of :func:`to_bytes`, unpacked."""

    codes: tuple[str, ...]
    total: np.ndarray
    tables: dict[str, tuple[tuple[str, ...], np.ndarray, np.ndarray]]  # key: (categories, values, present)


def from_bytes(data: bytes) -> Stored:
    with stored.unpack(data) as z:
        (version,) = (int(x) for x in z["meta"])
        if version != FORMAT_VERSION:
            raise ValueError(f"Population format {version}, expected {FORMAT_VERSION}")
        tables = {
            str(key): (tuple(z[f"categories_{i}"].tolist()), z[f"values_{i}"], z[f"present_{i}"])
            for i, key in enumerate(z["tables"].tolist())
        }
        return Stored(codes=tuple(z["codes"].tolist()), total=z["total"], tables=tables)


def read_only(unpacked: Stored) -> Stored:
    """``unpacked`` with its arrays made read-only, to be shared (``services.population_of`` keeps
    them between diagnostics): writing into a shared population raises instead of altering it."""
    arrays = [unpacked.total] + [
        a for _, values, present in unpacked.tables.values() for a in (values, present)
    ]
    for array in arrays:
        array.flags.writeable = False
    return unpacked


def to_population(
    data: bytes | Stored | None,
    *,
    tables: Sequence[str],
    noms: Mapping[str, str],
    total_derive: bool,
    millesime: int | None,
    fichiers: tuple[str, ...],
) -> insee.Population:
    """The :class:`insee.Population` of an import, from its stored arrays (``None``: no sector),
    packed or already unpacked (:func:`from_bytes`).

    Each table of ``tables`` takes its template's categories, in their order (stored columns are
    placed by name; a category, or a whole table, that was not stored reads as zeros), dimension,
    exploitation and universe, as the one-row-per-value storage rebuilt them.
    """
    if data is None:
        unpacked = Stored((), np.zeros(0), {})
    else:
        unpacked = data if isinstance(data, Stored) else from_bytes(data)
    n = len(unpacked.codes)
    repartitions = {}
    for key in tables:
        template = table_template(key)
        categories, values, present = unpacked.tables.get(key, ((), np.zeros((n, 0)), np.ones(n, dtype=bool)))
        if categories != template.categories:
            columns = {c: j for j, c in enumerate(categories)}
            unknown = set(columns) - set(template.categories)
            if unknown:
                raise ValueError(f"Unknown categories in table {key}: {sorted(unknown)}")
            placed = np.zeros((n, len(template.categories)))
            for j, category in enumerate(template.categories):
                if category in columns:
                    placed[:, j] = values[:, columns[category]]
            values = placed
        repartitions[key] = insee.Repartition(
            key=key,
            dimension=template.dimension,
            categories=template.categories,
            values=np.asarray(values, dtype=np.float64),
            present=np.asarray(present, dtype=bool),
            complementaire=template.complementaire,
            univers=template.univers,
        )
    codes = unpacked.codes
    return insee.Population(
        niveau="iris",
        codes=codes,
        noms=tuple(map(noms.get, codes, codes)),  # a code without a name is its own name
        communes=tuple(map(_COMMUNE, codes)),
        total=np.asarray(unpacked.total, dtype=np.float64),
        total_derive=total_derive,
        repartitions=repartitions,
        millesime=millesime,
        fichiers=fichiers,
    )


# --- Arrays <-> rows of the former storage (migration territoire/0002) ------------------------------


def population_rows(population: insee.Population) -> Iterable[tuple[str, str, str, float | None]]:
    """``(code_secteur, table, categorie, valeur)`` rows as the one-row-per-value storage kept them:
    per sector a total row (``None`` when unknown), then its non-zero values of the tables where
    it is present (zeros were implied)."""
    for i, code in enumerate(population.codes):
        total = population.total[i]
        yield code, TOTAL, "", None if np.isnan(total) else float(total)
        for key, rep in population.repartitions.items():
            if not rep.present[i]:
                continue
            for j, category in enumerate(rep.categories):
                value = float(rep.values[i, j])
                if value:
                    yield code, key, category, value


def population_from_rows(rows: Iterable[tuple[str, str, str, float | None]], tables: Sequence[str]) -> bytes:
    """The stored arrays of an import from its ``(code_secteur, table, categorie, valeur)`` rows, in
    their order: the sectors are those of the total rows; every table of ``tables`` is present for
    each of them (the rows cannot tell an absent sector from zeros)."""
    codes: list[str] = []
    index: dict[str, int] = {}
    totals: list[float] = []
    cells: list[tuple[str, str, str, float]] = []
    for code, table, categorie, valeur in rows:
        if table == TOTAL:
            index[code] = len(codes)
            codes.append(code)
            totals.append(np.nan if valeur is None else valeur)
        else:
            cells.append((code, table, categorie, valeur))
    n = len(codes)
    templates = {key: table_template(key) for key in tables}
    matrices = {key: np.zeros((n, len(t.categories))) for key, t in templates.items()}
    for code, table, categorie, valeur in cells:
        if table in matrices and code in index:
            matrices[table][index[code], templates[table].categories.index(categorie)] = valeur
    return to_bytes(
        insee.Population(
            niveau="iris",
            codes=tuple(codes),
            noms=tuple(codes),
            communes=tuple(c[:5] for c in codes),
            total=np.asarray(totals, dtype=float),
            total_derive=True,
            repartitions={
                key: insee.Repartition(
                    key=key,
                    dimension=t.dimension,
                    categories=t.categories,
                    values=matrices[key],
                    present=np.ones(n, dtype=bool),
                    complementaire=t.complementaire,
                    univers=t.univers,
                )
                for key, t in templates.items()
            },
        )
    )
