"""The division of tasks of an action between the EPN, its partners and the collectivité.

Pure module: no Django. A ``TaskMatrix`` says, for each task, which party is accountable (one at
most) and which parties contribute. ``check_matrix`` returns the seed's warnings in plain French:

- « L'EPN ne doit ni se substituer à ses partenaires » : the EPN does alone a task that a
  partner of the action is competent for (``substitution``);
- « … ni se considérer comme un prestataire » : the EPN executes tasks but takes no part in
  the pilotage et gestion du projet (``prestataire``);
- a task nobody is accountable for (``sans_responsable``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Task(enum.StrEnum):
    """The tasks the seed names, in the order of a partnership agreement."""

    PILOTAGE = "pilotage"
    SUIVI = "suivi"
    COMMUNICATION = "communication"
    EVALUATION = "evaluation"
    MOBILISATION = "mobilisation"
    ANIMATION = "animation"
    LOGISTIQUE = "logistique"
    FINANCEMENT = "financement"

    @property
    def label(self) -> str:
        return TASK_LABELS[self]


TASK_LABELS = {
    Task.PILOTAGE: "Pilotage et gestion du projet",
    Task.SUIVI: "Suivi",
    Task.COMMUNICATION: "Communication",
    Task.EVALUATION: "Évaluation",
    Task.MOBILISATION: "Mobilisation des publics",
    Task.ANIMATION: "Animation",
    Task.LOGISTIQUE: "Logistique",
    Task.FINANCEMENT: "Financement",
}
TASK_CHOICES = tuple((task.value, task.label) for task in Task)
# Doing these without steering the project is what a contractor does.
EXECUTION_TASKS = frozenset({Task.ANIMATION, Task.LOGISTIQUE, Task.MOBILISATION, Task.COMMUNICATION})


class PartyKind(enum.StrEnum):
    EPN = "epn"
    PARTENAIRE = "partenaire"
    COLLECTIVITE = "collectivite"


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    kind: PartyKind
    # The tasks this party has the trade for (a Mission locale: mobilisation des publics…).
    competences: frozenset[Task] = frozenset()


@dataclass(frozen=True)
class Assignment:
    accountable: str | None = None
    contributors: frozenset[str] = frozenset()

    @property
    def involved(self) -> frozenset[str]:
        return self.contributors | ({self.accountable} if self.accountable else frozenset())


@dataclass(frozen=True)
class TaskMatrix:
    parties: tuple[Party, ...]
    assignments: Mapping[Task, Assignment] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [party.id for party in self.parties]
        if len(set(ids)) != len(ids):
            raise ValueError("Une même partie figure deux fois dans la répartition des tâches.")
        known = set(ids)
        for task, assignment in self.assignments.items():
            Task(task)
            unknown = sorted(assignment.involved - known)
            if unknown:
                raise ValueError(
                    f"La tâche « {Task(task).label} » est confiée à une partie absente de l'action "
                    f"({', '.join(unknown)})."
                )

    def assignment(self, task: Task) -> Assignment:
        return self.assignments.get(task, Assignment())

    def party(self, party_id: str) -> Party:
        return next(party for party in self.parties if party.id == party_id)

    @property
    def epn_ids(self) -> frozenset[str]:
        return frozenset(party.id for party in self.parties if party.kind == PartyKind.EPN)

    def rows(self) -> list[tuple[Task, dict[str, str]]]:
        """For display: each task and, per party id, "responsable", "contributeur" or ""."""
        table = []
        for task in Task:
            assignment = self.assignment(task)
            cells = {}
            for party in self.parties:
                if party.id == assignment.accountable:
                    cells[party.id] = "responsable"
                elif party.id in assignment.contributors:
                    cells[party.id] = "contributeur"
                else:
                    cells[party.id] = ""
            table.append((task, cells))
        return table


class WarningKind(enum.StrEnum):
    SUBSTITUTION = "substitution"
    PRESTATAIRE = "prestataire"
    SANS_RESPONSABLE = "sans_responsable"


@dataclass(frozen=True)
class TaskWarning:
    kind: WarningKind
    task: Task
    message: str
    partner_id: str | None = None
    partner_name: str | None = None


def check_matrix(matrix: TaskMatrix, tasks: Iterable[Task] = tuple(Task)) -> list[TaskWarning]:
    """The seed's rules broken by this division of tasks, in task order, each in plain French."""
    warnings: list[TaskWarning] = []
    epn = matrix.epn_ids
    partners = [party for party in matrix.parties if party.kind == PartyKind.PARTENAIRE]
    tasks = [Task(task) for task in tasks]

    for task in tasks:
        assignment = matrix.assignment(task)
        if assignment.accountable is None:
            helpers = sorted(matrix.party(pid).name for pid in assignment.contributors)
            detail = (
                f" ({', '.join(helpers)} y contribue{'nt' if len(helpers) > 1 else ''} sans en répondre)"
                if helpers
                else ""
            )
            warnings.append(
                TaskWarning(
                    WarningKind.SANS_RESPONSABLE,
                    task,
                    f"Personne n'est responsable de la tâche « {task.label} »{detail}. "
                    "Désignez une partie qui en répond.",
                )
            )
            continue
        if epn and assignment.involved and assignment.involved <= epn:
            for partner in partners:
                if task in partner.competences:
                    warnings.append(
                        TaskWarning(
                            WarningKind.SUBSTITUTION,
                            task,
                            f"L'EPN assure seul la tâche « {task.label} », alors que {partner.name} en a "
                            "la compétence : l'EPN se substitue à son partenaire. Associez "
                            f"{partner.name} à cette tâche, ou confiez-la-lui.",
                            partner.id,
                            partner.name,
                        )
                    )

    pilotage = matrix.assignment(Task.PILOTAGE)
    epn_executes = [
        task for task in Task if task in EXECUTION_TASKS and matrix.assignment(task).involved & epn
    ]
    if (
        Task.PILOTAGE in tasks
        and epn
        and epn_executes
        and pilotage.accountable
        and not pilotage.involved & epn
    ):
        steering = matrix.party(pilotage.accountable)
        done = ", ".join(f"« {task.label} »" for task in epn_executes)
        warnings.append(
            TaskWarning(
                WarningKind.PRESTATAIRE,
                Task.PILOTAGE,
                f"L'EPN exécute ({done}) mais ne prend aucune part à la tâche « {Task.PILOTAGE.label} », "
                f"tenue par {steering.name} : il agit en prestataire. Faites entrer l'EPN au pilotage, "
                "au moins comme contributeur.",
                steering.id if steering.kind != PartyKind.EPN else None,
                steering.name,
            )
        )
    return warnings
