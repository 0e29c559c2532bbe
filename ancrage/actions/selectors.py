"""Reads that turn models into the pure modules' inputs: the task matrix and the calendars.
No writes here. (The partner recommendation weighs past results: ``suivi.recommendations``.)"""

from __future__ import annotations

from ancrage.actions import ical
from ancrage.actions.budget import BudgetSummary
from ancrage.actions.enums import RoleTache, TypePartie
from ancrage.actions.models import Action
from ancrage.actions.tasks import Assignment, Party, PartyKind, Task, TaskMatrix, TaskWarning, check_matrix


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


def budget_summary_for_action(action) -> BudgetSummary | None:
    """The action's budget prévisionnel, summarised (None while it has no line)."""
    if not action.has_budget:
        return None
    return action.budget_summary()
