"""The French administrative geography (COG 2026), read from the extract shipped with Ancrage.

Pure module: no Django. A collectivité is named by its type and COG code; this module says
which communes it covers. Source and licence: ``data/SOURCE.md``.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources


class CollectiviteType(StrEnum):
    COMMUNE = "commune"
    EPCI = "epci"
    DEPARTEMENT = "departement"


@dataclass(frozen=True)
class Commune:
    code: str
    nom: str
    departement: str
    region: str
    population: int | None
    epci: str | None
    # For a municipal arrondissement (Paris, Lyon, Marseille): the code of its commune.
    parent: str | None = None

    @property
    def is_arrondissement(self) -> bool:
        return self.parent is not None


@dataclass(frozen=True)
class Epci:
    code: str
    nom: str
    type: str
    population: int | None
    membres: tuple[str, ...]


@dataclass(frozen=True)
class Departement:
    code: str
    nom: str
    region: str


class UnknownCode(LookupError):
    """A COG code that the 2026 geography does not know."""


COMMUNE_CODE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")
EPCI_CODE = re.compile(r"^\d{9}$")
DEPARTEMENT_CODE = re.compile(r"^(?:\d{2}|2[AB]|97\d|98\d)$")


@dataclass(frozen=True)
class _Referential:
    communes: dict[str, Commune]
    epcis: dict[str, Epci]
    departements: dict[str, Departement]
    regions: dict[str, str]
    millesime: int


@cache
def _referential() -> _Referential:
    raw = resources.files("ancrage.organisations").joinpath("data/cog-2026.json.gz").read_bytes()
    data = json.loads(gzip.decompress(raw))
    communes = {}
    for code, nom, kind, dep, reg, pop, epci, parent in data["communes"]:
        communes[code] = Commune(code, nom, dep, reg, pop, epci, parent if kind == "A" else None)
    epcis = {row[0]: Epci(row[0], row[1], row[2], row[3], tuple(row[4])) for row in data["epci"]}
    departements = {code: Departement(code, nom, reg) for code, nom, reg in data["departements"]}
    return _Referential(communes, epcis, departements, dict(data["regions"]), data["millesime"])


def millesime() -> int:
    return _referential().millesime


def commune(code: str) -> Commune:
    try:
        return _referential().communes[code]
    except KeyError:
        raise UnknownCode(f"Le code commune « {code} » n'existe pas dans le COG {millesime()}.") from None


def epci(code: str) -> Epci:
    try:
        return _referential().epcis[code]
    except KeyError:
        raise UnknownCode(f"Le code EPCI « {code} » n'existe pas dans le COG {millesime()}.") from None


def departement(code: str) -> Departement:
    try:
        return _referential().departements[code]
    except KeyError:
        raise UnknownCode(f"Le code département « {code} » n'existe pas dans le COG {millesime()}.") from None


def arrondissements_of(commune_code: str) -> list[Commune]:
    """Municipal arrondissements of Paris, Lyon or Marseille (empty for any other commune)."""
    return sorted(
        (c for c in _referential().communes.values() if c.parent == commune_code), key=lambda c: c.code
    )


def communes_of(type_: CollectiviteType | str, code: str) -> list[Commune]:
    """The current communes a collectivité covers, sorted by code (arrondissements excluded)."""
    type_ = CollectiviteType(type_)
    ref = _referential()
    if type_ is CollectiviteType.COMMUNE:
        return [commune(code)]
    if type_ is CollectiviteType.EPCI:
        return sorted((commune(c) for c in epci(code).membres), key=lambda c: c.code)
    departement(code)
    return sorted(
        (c for c in ref.communes.values() if c.departement == code and not c.is_arrondissement),
        key=lambda c: c.code,
    )


def name_of(type_: CollectiviteType | str, code: str) -> str:
    type_ = CollectiviteType(type_)
    if type_ is CollectiviteType.COMMUNE:
        return commune(code).nom
    if type_ is CollectiviteType.EPCI:
        return epci(code).nom
    return departement(code).nom


def population_of(type_: CollectiviteType | str, code: str) -> int:
    return sum(c.population or 0 for c in communes_of(type_, code))


def covers(type_: CollectiviteType | str, code: str, commune_code: str) -> bool:
    """Whether a commune (or a municipal arrondissement) lies in the collectivité's territory."""
    type_ = CollectiviteType(type_)
    try:
        c = commune(commune_code)
    except UnknownCode:
        return False
    if c.parent:
        c = commune(c.parent)
    if type_ is CollectiviteType.COMMUNE:
        return c.code == code
    if type_ is CollectiviteType.EPCI:
        return c.epci == code
    return c.departement == code


def search(text: str, limit: int = 20) -> list[Commune]:
    """Communes whose name starts with ``text`` (accents and case as typed), by population."""
    text = text.strip().casefold()
    found = [c for c in _referential().communes.values() if c.nom.casefold().startswith(text)]
    return sorted(found, key=lambda c: -(c.population or 0))[:limit]
