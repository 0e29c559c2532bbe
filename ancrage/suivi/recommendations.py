"""The partner recommendation of an action: the EPN's directory ranked by
``partenaires.scoring``, weighed by what past actions with each partner achieved.

It lives in the follow-up because that weight is the follow-up's measure of an action's results
(``selectors.action_results``); the actions app, which the follow-up builds on, never needs it.
No writes here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ancrage.actions.enums import Statut
from ancrage.actions.models import Action
from ancrage.diagnostic.models import Diagnostic
from ancrage.partenaires.enums import FAMILLE_CHOICES
from ancrage.partenaires.models import Partenaire
from ancrage.partenaires.publics import covers, public_label, reaches, split_public
from ancrage.partenaires.scoring import (
    ActionNeeds,
    JointResult,
    PartnerProfile,
    PublicTarget,
    Recommendation,
    recommend_partners,
)
from ancrage.suivi.selectors import action_results


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


def recommendations(action: Action) -> tuple[list[Recommended], Diagnostic | None]:
    """The EPN's directory partners not yet in the action, ranked for it, best first."""
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
    past = joint_results(action.structure, [entry.structure_id for entry in entries.values()])
    profiles = [
        PartnerProfile(
            id=key,
            name=entry.nom,
            thematics=entry.thematiques,
            # The action's publics the partner reaches (age bands matched when they overlap).
            publics=frozenset(split_public(k) for k in action.publics if reaches(entry.publics_touches, k)),
            sectors=frozenset(s for s in sectors_of_interest if covers(entry.secteurs, s)),
            past_results=past.get(key, ()),
        )
        for key, entry in entries.items()
    ]
    in_action = {str(pk) for pk in action.participations.values_list("partenaire_id", flat=True)}
    ranked = recommend_partners(needs, profiles, low, labels=labels, exclude=in_action)
    return [Recommended(rec, entries[rec.partner.id]) for rec in ranked], diagnostic
