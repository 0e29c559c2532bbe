"""Reads that turn models into the pure modules' inputs: the task matrix, the partner
recommendation and the calendars. No writes here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ancrage.actions import ical
from ancrage.actions.enums import RoleTache, Statut, TypePartie
from ancrage.actions.models import Action
from ancrage.actions.tasks import Assignment, Party, PartyKind, Task, TaskMatrix, TaskWarning, check_matrix
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


def parties_of(action: Action) -> list[Party]:
    """The parties of the matrix: the EPN, each partner of the action, then the collectivité."""
    parties = [Party(TypePartie.EPN.value, action.structure.nom, PartyKind.EPN)]
    for participation in action.participations.all():
        structure = participation.partenaire
        fiche = getattr(structure, "fiche_partenaire", None)
        competences = frozenset(
            Task(t) for t in (fiche.savoir_faire if fiche else []) if t in Task._value2member_map_
        )
        parties.append(Party(f"partenaire-{structure.pk}", structure.nom, PartyKind.PARTENAIRE, competences))
    if action.structure.collectivite_id:
        parties.append(
            Party(TypePartie.COLLECTIVITE.value, action.structure.collectivite.nom, PartyKind.COLLECTIVITE)
        )
    return parties


def task_matrix(action: Action) -> TaskMatrix:
    parties = parties_of(action)
    known = {party.id for party in parties}
    accountable: dict[str, str] = {}
    contributors: dict[str, set[str]] = {}
    for cell in action.affectations.all():
        if cell.party_key not in known:
            continue  # a partner removed from the action: its cells no longer count
        if cell.role == RoleTache.RESPONSABLE:
            accountable[cell.tache] = cell.party_key
        else:
            contributors.setdefault(cell.tache, set()).add(cell.party_key)
    assignments = {
        Task(task): Assignment(accountable.get(task), frozenset(contributors.get(task, set())))
        for task in set(accountable) | set(contributors)
    }
    return TaskMatrix(tuple(parties), assignments)


def matrix_warnings(action: Action) -> list[TaskWarning]:
    return check_matrix(task_matrix(action))


def latest_diagnostic(epn) -> Diagnostic | None:
    return Diagnostic.objects.for_structure(epn).latest_first().first()


FINISHED = (Statut.TERMINEE, Statut.EVALUEE)


def joint_results(epn, partner_ids) -> dict[str, tuple[JointResult, ...]]:
    """What the EPN's finished actions with each partner achieved against their objectives.

    One ``JointResult`` per finished action that had objectives and sessions: the people aimed at
    (the objectives' targets added up) and reached, each objective counting up to its target, as
    the follow-up measures them (``suivi.selectors.action_results``). Keyed by partner id.
    """
    # The follow-up builds on actions: imported here so that actions never need it to load.
    from ancrage.suivi.selectors import action_results

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


def calendar_events(action: Action, *, base_url: str = "") -> list[ical.CalendarEvent]:
    events = [
        ical.CalendarEvent(
            kind="seance",
            id=str(seance.pk),
            title=f"{action.titre} — {seance.titre}",
            start=seance.debut,
            end=seance.fin,
            location=seance.lieu or action.lieu,
            url=f"{base_url}{action.get_absolute_url()}",
            sequence=seance.sequence,
        )
        for seance in action.seances.all()
    ]
    events += [reunion_event(reunion, base_url=base_url) for reunion in action.reunions.all()]
    return events


def reunion_event(reunion, *, base_url: str = "") -> ical.CalendarEvent:
    return ical.CalendarEvent(
        kind="reunion",
        id=str(reunion.pk),
        title=f"Réunion préalable : {reunion.titre}",
        start=reunion.debut,
        end=reunion.fin,
        location=reunion.lieu,
        description=reunion.ordre_du_jour,
        url=f"{base_url}{reunion.get_absolute_url()}",
        attendees=tuple(ical.Attendee(name) for name in reunion.participants_list),
        sequence=reunion.sequence,
    )
