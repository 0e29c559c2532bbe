"""Which partners to invite into an action: a ranking with its reasons.

Pure module: no Django, plain data in, plain data out. The Django layer turns its models into
``ActionNeeds`` and ``PartnerProfile`` and shows ``Recommendation.explanation`` as is.

Five components, each between 0 and 1, follow the seed's reasons to partner:

- thematic fit: the share of the action's thematics the partner is competent in;
- public fit: the share of the action's target publics (dimension, category) it reaches;
- geographic complementarity: the share of the action's sectors that the partner covers, those
  where the EPN's attendance is low first (when none of them is low, all of them: the action
  chose them; when the action has none, every low sector of the diagnostic). This is the
  maillage the seed asks for: partners reach where the EPN does not;
- proximity: how near the place is to the EPN, ``5 / (5 + km)`` (1 next door, 1/2 at 5 km,
  1/5 at 20 km); neutral 1/2 when a distance is unknown;
- past joint results: how well past actions with this partner met their objectives. A partner
  with no history gets a neutral 0.5, so that opening to new actors is not penalised.

The score is their weighted sum, on 100. A partner outside the collectivité's territory is
ranked after every local one, whatever its score (the page shows it apart). Ties are broken by
the components in the order above, then by name and id, so the same inputs always give the same
ranking. The list is cut to the best ``RECOMMENDATION_LIMIT``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

NEUTRAL_PAST_RESULTS = Fraction(1, 2)
# A single joint action counts as much as the neutral prior: one good or bad experience moves
# the component, but does not settle it.
PRIOR_WEIGHT = 1
NEUTRAL_PROXIMITY = Fraction(1, 2)
# The distance at which proximity is worth half: a neighbourhood's walk or bus ride.
HALF_PROXIMITY_KM = 5
RECOMMENDATION_LIMIT = 20
# How many sector names an explanation spells out before it says "and N others".
MAX_NAMED_SECTORS = 3


@dataclass(frozen=True)
class Weights:
    thematic: Fraction = Fraction(30, 100)
    public: Fraction = Fraction(30, 100)
    geographic: Fraction = Fraction(15, 100)
    past_results: Fraction = Fraction(15, 100)
    proximity: Fraction = Fraction(10, 100)

    def __post_init__(self) -> None:
        total = self.thematic + self.public + self.geographic + self.past_results + self.proximity
        if total != 1:
            raise ValueError(f"Les poids doivent faire 1 au total (ici {float(total):.2f}).")


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class PublicTarget:
    """A category of a dimension, as the diagnostic names them: ("age", "60-74")."""

    dimension: str
    category: str
    label: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.dimension, self.category)

    def __str__(self) -> str:
        return self.label or self.category


@dataclass(frozen=True)
class ActionNeeds:
    thematics: frozenset[str] = frozenset()
    publics: tuple[PublicTarget, ...] = ()
    sectors: frozenset[str] = frozenset()


@dataclass(frozen=True)
class JointResult:
    """One past action done with the partner: its objective and what was achieved (participants)."""

    objective: int
    achieved: int
    title: str = ""

    def __post_init__(self) -> None:
        if self.objective < 0 or self.achieved < 0:
            raise ValueError("Un objectif ou un résultat ne peut pas être négatif.")


@dataclass(frozen=True)
class PartnerProfile:
    id: str
    name: str
    thematics: frozenset[str] = frozenset()
    publics: frozenset[tuple[str, str]] = frozenset()
    sectors: frozenset[str] = frozenset()
    past_results: tuple[JointResult, ...] = ()
    # Kilometres to the EPN, None when either has no coordinates.
    distance_km: float | None = None
    # Inside the collectivité's territory; ``place`` names where it is ("Rennes", "Angoulême").
    local: bool = True
    place: str = ""
    # A thematic or public key (as in ``thematics`` and ``publics``) -> the standard's value
    # that gave it (« Jeunes », « Insertion professionnelle via le numérique »).
    evidence: Mapping[object, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Components:
    thematic: Fraction
    public: Fraction
    geographic: Fraction
    past_results: Fraction
    proximity: Fraction = NEUTRAL_PROXIMITY


@dataclass(frozen=True)
class Recommendation:
    partner: PartnerProfile
    score: int
    components: Components
    explanation: str
    reasons: tuple[str, ...] = field(default=())
    exact_score: Fraction = Fraction(0)


def _share(wanted: Iterable, offered: frozenset) -> tuple[Fraction, list]:
    wanted = list(wanted)
    if not wanted:
        return Fraction(0), []
    hit = [item for item in wanted if item in offered]
    return Fraction(len(hit), len(wanted)), hit


def _names(items: Iterable[str], labels: Mapping[str, str], *, at_most: int | None = None) -> str:
    names = [labels.get(item, item) for item in items]
    if at_most is not None and len(names) > at_most:
        rest = len(names) - at_most
        return ", ".join(names[:at_most]) + f" et {rest} autre{'s' if rest > 1 else ''}"
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " et " + names[-1]


def _ratios(results: Sequence[JointResult]) -> list[Fraction]:
    # Doing better than the objective is capped: it says the objective was low, not that the
    # partner is worth more.
    return [
        min(Fraction(result.achieved, result.objective), Fraction(1)) if result.objective > 0 else Fraction(1)
        for result in results
    ]


def _past_results(results: Sequence[JointResult]) -> Fraction:
    ratios = _ratios(results)
    return (sum(ratios, Fraction(0)) + NEUTRAL_PAST_RESULTS * PRIOR_WEIGHT) / (len(ratios) + PRIOR_WEIGHT)


def _percent(value: Fraction) -> int:
    return int(value * 100 + Fraction(1, 2))


def proximity(distance: float | None) -> Fraction:
    """1 next door, 1/2 at ``HALF_PROXIMITY_KM``, towards 0 far away; neutral when unknown."""
    if distance is None:
        return NEUTRAL_PROXIMITY
    km = Fraction(str(round(max(distance, 0.0), 1)))
    return Fraction(HALF_PROXIMITY_KM) / (HALF_PROXIMITY_KM + km)


def format_km(distance: float) -> str:
    """A distance as a person reads it: « 800 m », « 2,4 km », « 312 km »."""
    if distance < 1:
        return f"{max(100, int(round(distance, 1) * 1000))} m"
    if distance < 10:
        return f"{distance:.1f} km".replace(".", ",")
    return f"{round(distance):,} km".replace(",", "\u202f")


def _sources(hit: Iterable, evidence: Mapping[object, str]) -> str:
    values = list(dict.fromkeys(evidence[item] for item in hit if item in evidence))
    if not values:
        return ""
    quoted = [f"« {value} »" for value in values]
    return f", d'après sa fiche du standard ({_names(quoted, {})})"


def score_partner(
    action: ActionNeeds,
    partner: PartnerProfile,
    low_attendance_sectors: frozenset[str] | set[str] = frozenset(),
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    labels: Mapping[str, str] | None = None,
    territory: str = "",
) -> Recommendation:
    """Score one partner for one action, with a plain-French explanation of each component."""
    labels = labels or {}
    reasons: list[str] = []

    thematics = sorted(action.thematics)
    thematic, hit = _share(thematics, partner.thematics)
    if not thematics:
        reasons.append("Thématiques : l'action n'a pas encore de thématique.")
    elif hit:
        reasons.append(
            f"Thématiques : compétent en {_names(hit, labels)} ({len(hit)} sur {len(thematics)} de l'action"
            f"{_sources(hit, partner.evidence)})."
        )
    else:
        reasons.append("Thématiques : aucune compétence sur les thématiques de l'action.")

    publics = list(dict.fromkeys(action.publics))
    public, hit_publics = _share([target.key for target in publics], partner.publics)
    reached = [str(target) for target in publics if target.key in hit_publics]
    if not publics:
        reasons.append("Publics : l'action n'a pas encore de public cible.")
    elif reached:
        reasons.append(
            f"Publics : touche {_names(reached, {})} ({len(reached)} sur {len(publics)} publics visés"
            f"{_sources(hit_publics, partner.evidence)})."
        )
    else:
        reasons.append("Publics : ne touche aucun des publics visés.")

    low = frozenset(low_attendance_sectors)
    # The action's own sectors come first: covering a low sector the action does not target
    # helps the EPN in general, but not this action.
    targeted_low = low & action.sectors
    relevant = sorted(targeted_low or action.sectors or low)
    where = "où l'EPN est peu fréquenté" if (targeted_low or not action.sectors) else "visés par l'action"
    geographic, hit_sectors = _share(relevant, partner.sectors)
    if not relevant:
        reasons.append("Maillage : aucun secteur de faible fréquentation n'est renseigné.")
    elif hit_sectors:
        reasons.append(
            f"Maillage : intervient dans {_names(hit_sectors, labels, at_most=MAX_NAMED_SECTORS)}, {where} "
            f"({len(hit_sectors)} secteur{'s' if len(hit_sectors) > 1 else ''} sur {len(relevant)})."
        )
    else:
        reasons.append(f"Maillage : ne couvre aucun des secteurs {where}.")

    past = _past_results(partner.past_results)
    if not partner.past_results:
        reasons.append("Résultats passés : pas encore d'action commune (valeur neutre).")
    else:
        count = len(partner.past_results)
        reasons.append(
            f"Résultats passés : {count} action{'s' if count > 1 else ''} commune{'s' if count > 1 else ''}, "
            f"objectifs atteints à {_percent(_mean_ratio(partner.past_results))} % en moyenne."
        )

    near = proximity(partner.distance_km)
    where = f" ; lieu situé à {partner.place}" if partner.place else ""
    if partner.distance_km is None:
        reasons.append(f"Distance : inconnue, faute de coordonnées (valeur neutre){where}.")
    else:
        reasons.append(f"Distance : à {format_km(partner.distance_km)} de l'EPN{where}.")
    if not partner.local:
        outside = (
            f"hors du territoire de {territory}" if territory else "hors du territoire de la collectivité"
        )
        reasons.append(f"Territoire : {outside}, classé après les partenaires du territoire.")

    components = Components(thematic, public, geographic, past, near)
    exact = (
        weights.thematic * thematic
        + weights.public * public
        + weights.geographic * geographic
        + weights.past_results * past
        + weights.proximity * near
    )
    return Recommendation(
        partner=partner,
        score=_percent(exact),
        components=components,
        explanation=" ".join(reasons),
        reasons=tuple(reasons),
        exact_score=exact,
    )


def _mean_ratio(results: Sequence[JointResult]) -> Fraction:
    ratios = _ratios(results)
    return sum(ratios, Fraction(0)) / len(ratios)


def recommend_partners(
    action: ActionNeeds,
    partners: Iterable[PartnerProfile],
    low_attendance_sectors: frozenset[str] | set[str] = frozenset(),
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    labels: Mapping[str, str] | None = None,
    exclude: Iterable[str] = (),
    limit: int | None = None,
    territory: str = "",
) -> list[Recommendation]:
    """The partners ranked for the action, best first, the local ones before the others;
    ``exclude`` holds ids already in the action."""
    excluded = set(exclude)
    scored = [
        score_partner(
            action, partner, low_attendance_sectors, weights=weights, labels=labels, territory=territory
        )
        for partner in partners
        if partner.id not in excluded
    ]
    scored.sort(
        key=lambda rec: (
            not rec.partner.local,
            -rec.exact_score,
            -rec.components.thematic,
            -rec.components.public,
            -rec.components.geographic,
            -rec.components.proximity,
            -rec.components.past_results,
            rec.partner.name.casefold(),
            rec.partner.id,
        )
    )
    return scored[:limit] if limit is not None else scored
