"""The partner recommendation of an action: the EPN's directory ranked by
``partenaires.scoring``, weighed by what past actions with each partner achieved.

Each place is read as the standard describes it (``publics.from_standard``: its publics,
specific support and services as Ancrage's publics and thematics) and located
(``partenaires.location``: in an outline of the EPN's sectors by its coordinates, otherwise in
its commune), once per ranking: a few thousand cheap operations for a directory of 800 places.

It lives in the follow-up because that weight is the follow-up's measure of an action's results
(``selectors.action_results``); the actions app, which the follow-up builds on, never needs it.
No writes here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from ancrage.actions.enums import Statut
from ancrage.actions.models import Action
from ancrage.diagnostic.models import Diagnostic
from ancrage.organisations import cog
from ancrage.partenaires.enums import FAMILLE_CHOICES
from ancrage.partenaires.enums_standard import match_key
from ancrage.partenaires.location import Location, OutlineIndex, distance_km, locate
from ancrage.partenaires.models import Partenaire
from ancrage.partenaires.publics import covers, from_standard, public_label, reaches, split_public
from ancrage.partenaires.scoring import (
    RECOMMENDATION_LIMIT,
    ActionNeeds,
    JointResult,
    PartnerProfile,
    PublicTarget,
    Recommendation,
    recommend_partners,
)
from ancrage.suivi.selectors import action_results
from ancrage.territoire.models import Secteur


def latest_diagnostic(epn) -> Diagnostic | None:
    return Diagnostic.objects.for_structure(epn).latest_first().first()


FINISHED = (Statut.TERMINEE, Statut.EVALUEE)


def joint_results(epn, partner_ids) -> dict[str, tuple[JointResult, ...]]:
    """What the EPN's finished actions with each partner achieved against their objectives.

    One ``JointResult`` per finished action that had objectives and sessions: the people aimed at
    (the objectives' targets added up) and reached, each objective counting up to its target, as
    the follow-up measures them (``selectors.action_results``). Keyed by partner id.
    """
    found: dict[str, list[JointResult]] = defaultdict(list)
    actions = (
        Action.objects.filter(
            structure=epn, statut__in=FINISHED, participations__partenaire_id__in=list(partner_ids)
        )
        .distinct()
        .prefetch_related("participations")
    )
    for action in actions:
        results = action_results(action).results
        if not results:
            continue
        joint = JointResult(
            objective=sum(r.objective.target for r in results),
            achieved=sum(min(r.reached, r.objective.target) for r in results),
            title=action.titre,
        )
        for participation in action.participations.all():
            found[str(participation.partenaire_id)].append(joint)
    return {key: tuple(values) for key, values in found.items()}


@dataclass(frozen=True)
class Recommended:
    recommendation: Recommendation
    partenaire: Partenaire

    @property
    def local(self) -> bool:
        return self.recommendation.partner.local


@dataclass(frozen=True)
class Territory:
    """The collectivité's territory (or, without one, the EPN's commune), to tell local partners."""

    nom: str = ""
    type: str = ""
    code: str = ""

    def covers(self, commune_code: str) -> bool:
        if not self.code:
            return True  # nothing to compare with: every partner counts as local
        return bool(commune_code) and cog.covers(self.type, self.code, commune_code)

    def commune_named(self, name: str) -> str:
        """The territory's commune of that name ("Rennes", "RENNES"), for an entry typed with
        neither code INSEE nor postal code; "" when none (or no territory)."""
        if not self.code or not name:
            return ""
        return _communes_by_name(self.type, self.code).get(match_key(name), "")


@cache
def _communes_by_name(type_: str, code: str) -> dict[str, str]:
    try:
        communes = cog.communes_of(type_, code)
    except cog.UnknownCode:
        return {}
    return {match_key(c.nom): c.code for c in communes}


def territory_of(epn) -> Territory:
    collectivite = epn.collectivite
    if collectivite is not None:
        return Territory(collectivite.nom, collectivite.type, collectivite.code)
    if epn.code_commune:
        return Territory(epn.commune_nom or epn.code_commune, "commune", epn.code_commune)
    return Territory()


def outlines_of(epn) -> OutlineIndex:
    """The EPN's sector outlines, for locating places by their coordinates (empty when none)."""
    rows = Secteur.objects.filter(structure=epn, contour__isnull=False).values_list("code", "contour")
    return OutlineIndex(dict(rows))


def locate_entry(entry: Partenaire, outlines: OutlineIndex | None = None) -> Location:
    return locate(
        latitude=entry.latitude,
        longitude=entry.longitude,
        code_insee=entry.code_insee,
        code_postal=entry.code_postal,
        commune=entry.commune,
        outlines=outlines,
    )


def _place_label(location: Location, entry: Partenaire, labels) -> str:
    commune = location.commune_nom or entry.commune or ""
    if location.iris:
        iris = labels.get(location.iris) or location.iris
        return iris if not commune or commune in iris else f"{commune}, {iris}"
    return commune or "une commune inconnue"


def _profile(entry, *, key, action, sectors_of_interest, outlines, territory, epn_point, labels, past):
    location = locate_entry(entry, outlines)
    if not location.commune and (found := territory.commune_named(entry.commune)):
        location = Location(commune=found, how="nom de la commune, dans le territoire")
    std_publics, std_familles, origin = from_standard(
        publics_specifiquement_adresses=entry.publics_specifiquement_adresses,
        prise_en_charge_specifique=entry.prise_en_charge_specifique,
        services=entry.services,
    )
    evidence: dict[object, str] = {service: service for service in entry.services}
    evidence.update({famille: origin[famille] for famille in std_familles if famille not in entry.familles})
    reached = set()
    for wanted in action.publics:
        if reaches(entry.publics_touches, wanted):
            reached.add(split_public(wanted))
            continue
        source = next((k for k in sorted(std_publics) if reaches([k], wanted)), None)
        if source is not None:
            reached.add(split_public(wanted))
            evidence[split_public(wanted)] = origin[source]
    covered_by = list(entry.secteurs) + sorted(location.sectors)
    distance = None
    if epn_point is not None and entry.latitude is not None and entry.longitude is not None:
        distance = distance_km(epn_point[0], epn_point[1], entry.latitude, entry.longitude)
    return PartnerProfile(
        id=key,
        name=entry.nom,
        thematics=entry.thematiques | std_familles,
        publics=frozenset(reached),
        sectors=frozenset(s for s in sectors_of_interest if covers(covered_by, s)),
        past_results=past.get(key, ()),
        distance_km=distance,
        local=territory.covers(location.commune),
        place=_place_label(location, entry, labels),
        evidence=evidence,
    )


def epn_point(epn) -> tuple[float, float] | None:
    """The EPN's coordinates, from its own place (``partenaires.services.lieu_epn_save``)."""
    lieu = Partenaire.objects.filter(structure=epn).only("latitude", "longitude").first()
    if lieu is None or lieu.latitude is None or lieu.longitude is None:
        return None
    return (lieu.latitude, lieu.longitude)


def recommendations(
    action: Action, *, limit: int | None = RECOMMENDATION_LIMIT
) -> tuple[list[Recommended], Diagnostic | None]:
    """The EPN's directory partners not yet in the action, ranked for it, best first (the
    partners outside the collectivité's territory after the local ones), cut to ``limit``."""
    diagnostic = latest_diagnostic(action.structure)
    low = set(diagnostic.secteurs_sous_frequentes) if diagnostic else set()
    labels = dict(FAMILLE_CHOICES)
    if diagnostic:
        labels.update({s["code"]: s.get("nom") or s["code"] for s in diagnostic.resultat.get("secteurs", [])})
    labels.update(action.secteurs_noms)
    thematics = frozenset(([action.thematique] if action.thematique else []) + list(action.services))
    publics = tuple(PublicTarget(*split_public(key), public_label(key)) for key in action.publics)
    needs = ActionNeeds(thematics=thematics, publics=publics, sectors=frozenset(action.secteurs))
    entries = {
        str(entry.structure_id): entry
        for entry in Partenaire.objects.of_epn(action.structure).select_related("structure")
    }
    sectors_of_interest = low | set(action.secteurs)
    in_action = {str(pk) for pk in action.participations.values_list("partenaire_id", flat=True)}
    entries = {key: entry for key, entry in entries.items() if key not in in_action}
    past = joint_results(action.structure, [entry.structure_id for entry in entries.values()])
    territory = territory_of(action.structure)
    context = {
        "action": action,
        "sectors_of_interest": sectors_of_interest,
        "outlines": outlines_of(action.structure),
        "territory": territory,
        "epn_point": epn_point(action.structure),
        "labels": labels,
        "past": past,
    }
    profiles = [_profile(entry, key=key, **context) for key, entry in entries.items()]
    ranked = recommend_partners(needs, profiles, low, labels=labels, limit=limit, territory=territory.nom)
    return [Recommended(rec, entries[rec.partner.id]) for rec in ranked], diagnostic
