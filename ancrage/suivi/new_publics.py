"""New publics, results against objectives, and the seed's three questions.

Pure module: no Django.

A participant is a **new public** of an action when both hold:

- their first visit to the EPN falls within the action's period (first day and last day
  included): the action brought them in, rather than reaching people already there;
- they fall inside one of the action's target publics. A target is a set of criteria
  (categories, sectors, age bounds) that must all hold; an empty criterion does not restrict.
  An action without any target counts every first-time visitor.

A participant whose first visit is unknown is never counted as new: it cannot be shown.

Ages come from the birth year only (pseudonymous usagers), so "60 ans et plus" means "turning
60 or more in the reference year"; an objective's result says so when it used an age.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from ancrage.suivi.health import HealthLevel, HealthScore


@dataclass(frozen=True)
class Usager:
    id: Hashable
    birth_year: int | None = None
    sex: str | None = None
    categories: frozenset[str] = frozenset()
    sector: str | None = None
    first_visit: dt.date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", frozenset(self.categories))


@dataclass(frozen=True)
class Criteria:
    """Who a target or an objective is about; every non-empty criterion must hold."""

    categories: frozenset[str] = frozenset()
    sectors: frozenset[str] = frozenset()
    min_age: int | None = None
    max_age: int | None = None
    sex: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", frozenset(self.categories))
        object.__setattr__(self, "sectors", frozenset(self.sectors))

    @property
    def uses_age(self) -> bool:
        return self.min_age is not None or self.max_age is not None

    def matches(self, usager: Usager, reference_year: int) -> bool:
        if self.categories and not (self.categories & usager.categories):
            return False
        if self.sectors and usager.sector not in self.sectors:
            return False
        if self.sex is not None and usager.sex != self.sex:
            return False
        if self.uses_age:
            if usager.birth_year is None:
                return False
            age = reference_year - usager.birth_year
            if self.min_age is not None and age < self.min_age:
                return False
            if self.max_age is not None and age > self.max_age:
                return False
        return True


@dataclass(frozen=True)
class Objective:
    label: str
    target: int
    criteria: Criteria = Criteria()
    #: Count only the new publics of the action (e.g. "20 nouveaux usagers").
    new_publics_only: bool = False


@dataclass(frozen=True)
class Action:
    id: Hashable
    title: str
    start: dt.date
    end: dt.date
    targets: tuple[Criteria, ...] = ()
    objectives: tuple[Objective, ...] = ()

    @property
    def reference_year(self) -> int:
        return self.start.year


@dataclass(frozen=True)
class Participant:
    """An usager present at one session at least, with the partner who sent them, if any."""

    usager: Usager
    oriented_by: Hashable | None = None


@dataclass(frozen=True)
class Attendance:
    usager: Usager
    session_date: dt.date
    present: bool = True
    oriented_by: Hashable | None = None


def participants_from_attendance(records: Iterable[Attendance]) -> list[Participant]:
    """One participant per usager present at least once.

    "Orienté par" is taken from the earliest session where it was filled in: it describes how
    the person arrived, which a later session cannot change.
    """
    firsts: dict[Hashable, tuple[Usager, Hashable | None, dt.date | None]] = {}
    for record in sorted((r for r in records if r.present), key=lambda r: r.session_date):
        usager, partner, _ = firsts.get(record.usager.id, (record.usager, None, None))
        if partner is None and record.oriented_by is not None:
            partner = record.oriented_by
        firsts[record.usager.id] = (usager, partner, record.session_date)
    return [Participant(usager, partner) for usager, partner, _ in firsts.values()]


def is_new_public(usager: Usager, action: Action) -> bool:
    if usager.first_visit is None or not (action.start <= usager.first_visit <= action.end):
        return False
    if not action.targets:
        return True
    return any(target.matches(usager, action.reference_year) for target in action.targets)


def new_publics(action: Action, participants: Iterable[Participant]) -> list[Participant]:
    return [p for p in participants if is_new_public(p.usager, action)]


@dataclass(frozen=True)
class ObjectiveResult:
    objective: Objective
    reached: int
    met: bool
    note: str

    @property
    def gap(self) -> int:
        """People still missing to meet the objective (0 when met)."""
        return max(self.objective.target - self.reached, 0)


def results_against_objectives(action: Action, participants: Sequence[Participant]) -> list[ObjectiveResult]:
    """For each objective, the figure reached and whether it is met, with a French note."""
    results = []
    for objective in action.objectives:
        pool = new_publics(action, participants) if objective.new_publics_only else participants
        reached = sum(1 for p in pool if objective.criteria.matches(p.usager, action.reference_year))
        met = reached >= objective.target
        figure = f"{objective.label} : {reached} sur {objective.target}"
        note = (
            f"{figure}, objectif atteint." if met else f"{figure}, il en manque {objective.target - reached}."
        )
        if objective.criteria.uses_age:
            note += f" Âge calculé à partir de l'année de naissance (âge atteint en {action.reference_year})."
        results.append(ObjectiveResult(objective, reached, met, note))
    return results


def new_publics_by_partner(
    actions_participants: Iterable[tuple[Action, Iterable[Participant]]],
) -> dict[Hashable, int]:
    """New publics each partner sent ("orienté par"), over one or several actions.

    A person counted as new public of two actions is counted once per partner: the question is
    how many people a partner brought, not how many sessions.
    """
    seen: dict[Hashable, set[Hashable]] = {}
    for action, participants in actions_participants:
        for participant in new_publics(action, participants):
            if participant.oriented_by is not None:
                seen.setdefault(participant.oriented_by, set()).add(participant.usager.id)
    return {partner: len(ids) for partner, ids in seen.items()}


# The three questions


@dataclass(frozen=True)
class PartnershipOverview:
    partner: Hashable
    name: str
    health: HealthScore
    convention_in_force: bool
    #: Why there is no convention in force, in French (e.g. "Convention expirée le 31/12/2024").
    convention_status: str = ""
    new_publics_sent: int = 0
    #: Publics and sectors the partner reaches, to measure its fit with the current targets.
    reaches: Criteria = field(default_factory=Criteria)


@dataclass(frozen=True)
class RankedPartner:
    partnership: PartnershipOverview
    new_publics_sent: int
    #: How many of the diagnostic's current targets the partner reaches.
    fit: int
    matched_targets: tuple[Criteria, ...]


@dataclass(frozen=True)
class AtRisk:
    partnership: PartnershipOverview
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ThreeQuestions:
    #: Q1 "Quels sont les partenaires qui peuvent m'aider à faire venir de nouveaux publics ?"
    partners_for_new_publics: list[RankedPartner]
    #: Q2 "Mes partenariats sont-ils susceptibles de s'inscrire dans la durée ?"
    at_risk: list[AtRisk]
    to_watch: list[AtRisk]
    #: Q3 "Mes partenariats actuels font-ils l'objet de conventions écrites ?"
    without_convention: list[PartnershipOverview]


def name_key(name: str) -> str:
    """Alphabetical order as a French reader expects it: "École" between "Club" and "Mission"."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


def partner_fit(reaches: Criteria, target: Criteria) -> bool:
    """Whether a partner reaching ``reaches`` can help reach ``target``.

    A dimension that either side leaves empty does not count against the fit; a dimension both
    sides name must overlap. At least one dimension must overlap, or the fit would be vacuous.
    """
    overlap = False
    for mine, theirs in ((reaches.categories, target.categories), (reaches.sectors, target.sectors)):
        if mine and theirs:
            if not (mine & theirs):
                return False
            overlap = True
    return overlap


def three_questions(
    partnerships: Iterable[PartnershipOverview], current_targets: Sequence[Criteria] = ()
) -> ThreeQuestions:
    partnerships = list(partnerships)
    ranked = []
    for p in partnerships:
        matched = tuple(t for t in current_targets if partner_fit(p.reaches, t))
        ranked.append(RankedPartner(p, p.new_publics_sent, len(matched), matched))
    ranked.sort(key=lambda r: (-r.new_publics_sent, -r.fit, name_key(r.partnership.name)))

    def risk_list(level: HealthLevel) -> list[AtRisk]:
        rows = [AtRisk(p, p.health.reasons) for p in partnerships if p.health.level == level]
        return sorted(rows, key=lambda r: (r.partnership.health.score, name_key(r.partnership.name)))

    without = sorted((p for p in partnerships if not p.convention_in_force), key=lambda p: name_key(p.name))
    return ThreeQuestions(
        ranked, risk_list(HealthLevel.A_RISQUE), risk_list(HealthLevel.A_SURVEILLER), without
    )
