"""The normalised records the readers return (and the diagnostic reads).

Pure module: no Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from ancrage.frequentation.readers.labels import AgeBand, parse_age_band

Progress = Callable[[int, int], None]


# --- Records --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usager:
    """One person of the usagers file (pseudonymous)."""

    ligne: int
    identifiant: str
    annee_naissance: int | None
    tranche_age: AgeBand | None
    sexe: str | None  # "F" | "H"
    csp: str | None  # "CS1".."CS8"
    situation: str | None  # one of ACTIVITE_CATEGORIES
    code_iris: str | None
    code_commune: str | None
    premiere_visite: dt.date | None
    oriente_par: str | None


@dataclass(frozen=True)
class Accompagnement:
    """One row of La Coop's export: one accompanied person in one activity."""

    ligne: int
    date: dt.date | None
    type: str
    id_cra: str | None
    tranche_age: AgeBand | None
    sexe: str | None
    situation: str | None
    code_commune: str | None
    annee_naissance: int | None = None
    csp: str | None = None
    code_iris: str | None = None


@dataclass(frozen=True)
class CompteAgrege:
    """A count of users of one category in one sector (``dimension == "total"``: all users)."""

    ligne: int
    code_secteur: str
    dimension: str
    categorie: str  # normalised code; an age band is written "15-29" / "75+"
    usagers: int

    @property
    def tranche_age(self) -> AgeBand | None:
        return parse_age_band(self.categorie) if self.dimension == "age" else None


@dataclass(frozen=True)
class Frequentation:
    """Attendance ready for the diagnostic: individual records or aggregated counts."""

    unite: str  # "personnes" | "accompagnements"
    source: str  # "ancrage" | "coop" | "agrege"
    fichier: str
    individus: tuple[Usager | Accompagnement, ...] = ()
    agregats: tuple[CompteAgrege, ...] = ()
    niveau: str | None = None  # finest sector level the data gives: "iris" or "commune"
    infos: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.individus) if self.individus else sum(a.usagers for a in self.agregats)
