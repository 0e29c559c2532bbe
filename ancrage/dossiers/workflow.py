"""State machine of the dossier de projet, with the state names of Démarches Simplifiées.

Pure module: no Django. The service layer asks ``check_transition`` before writing anything; the
history row (one per state change, chained by ``ancrage.core.hashchain``) records the result.

    brouillon --deposer--> en_construction --passer_en_instruction--> en_instruction
    en_construction | en_instruction --demander_correction--> en_construction (correction ouverte)
    en_construction --redeposer--> en_construction (correction résolue)
    en_instruction --accepter | refuser | classer_sans_suite--> accepte | refuse | sans_suite
    accepte | refuse | sans_suite --rouvrir--> en_instruction

Besides the table, two guards depend on whether a correction is open: the EPN can only
``redeposer`` to answer an open correction, and the référent can neither ask a second correction
nor start the instruction while one is waiting (the EPN would be correcting a dossier the
référent is already examining).

The roles, and who acts on which side of a dossier (``DOSSIER_DEPOSITORS``,
``DOSSIER_INSTRUCTORS``), are declared in ``organisations.permissions``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from ancrage.organisations.permissions import DOSSIER_DEPOSITORS, DOSSIER_INSTRUCTORS, ROLE_PHRASES, Role


class DossierState(enum.StrEnum):
    BROUILLON = "brouillon"
    EN_CONSTRUCTION = "en_construction"
    EN_INSTRUCTION = "en_instruction"
    ACCEPTE = "accepte"
    REFUSE = "refuse"
    SANS_SUITE = "sans_suite"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    DossierState.BROUILLON: "Brouillon",
    DossierState.EN_CONSTRUCTION: "En construction",
    DossierState.EN_INSTRUCTION: "En instruction",
    DossierState.ACCEPTE: "Accepté",
    DossierState.REFUSE: "Refusé",
    DossierState.SANS_SUITE: "Classé sans suite",
}

DECIDED_STATES = frozenset({DossierState.ACCEPTE, DossierState.REFUSE, DossierState.SANS_SUITE})


class DossierAction(enum.StrEnum):
    DEPOSER = "deposer"
    PASSER_EN_INSTRUCTION = "passer_en_instruction"
    DEMANDER_CORRECTION = "demander_correction"
    REDEPOSER = "redeposer"
    ACCEPTER = "accepter"
    REFUSER = "refuser"
    CLASSER_SANS_SUITE = "classer_sans_suite"
    ROUVRIR = "rouvrir"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS = {
    DossierAction.DEPOSER: "déposer le dossier",
    DossierAction.PASSER_EN_INSTRUCTION: "passer le dossier en instruction",
    DossierAction.DEMANDER_CORRECTION: "demander une correction",
    DossierAction.REDEPOSER: "redéposer le dossier corrigé",
    DossierAction.ACCEPTER: "accepter le dossier",
    DossierAction.REFUSER: "refuser le dossier",
    DossierAction.CLASSER_SANS_SUITE: "classer le dossier sans suite",
    DossierAction.ROUVRIR: "rouvrir le dossier",
}


class CorrectionReason(enum.StrEnum):
    """The three reasons Démarches Simplifiées offers when asking for a correction."""

    INCOMPLET = "incomplet"
    INCORRECT = "incorrect"
    PERIME = "perime"

    @property
    def label(self) -> str:
        return {
            CorrectionReason.INCOMPLET: "Dossier incomplet",
            CorrectionReason.INCORRECT: "Information incorrecte",
            CorrectionReason.PERIME: "Pièce ou information périmée",
        }[self]


class Effect(enum.StrEnum):
    """What the service layer must do besides changing the state."""

    OUVRIR_CORRECTION = "ouvrir_correction"
    RESOUDRE_CORRECTION = "resoudre_correction"


@dataclass(frozen=True)
class Transition:
    source: DossierState
    action: DossierAction
    roles: frozenset[Role]
    target: DossierState
    required_fields: tuple[str, ...] = ()
    effect: Effect | None = None


FIELD_LABELS = {
    "motivation": "la motivation",
    "correction_reason": "le motif de la correction (incomplet, incorrect ou périmé)",
    "message": "le message adressé à l'EPN",
}


def _decision(action: DossierAction, target: DossierState) -> Transition:
    return Transition(DossierState.EN_INSTRUCTION, action, DOSSIER_INSTRUCTORS, target, ("motivation",))


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        DossierState.BROUILLON, DossierAction.DEPOSER, DOSSIER_DEPOSITORS, DossierState.EN_CONSTRUCTION
    ),
    Transition(
        DossierState.EN_CONSTRUCTION,
        DossierAction.PASSER_EN_INSTRUCTION,
        DOSSIER_INSTRUCTORS,
        DossierState.EN_INSTRUCTION,
    ),
    *(
        Transition(
            source,
            DossierAction.DEMANDER_CORRECTION,
            DOSSIER_INSTRUCTORS,
            DossierState.EN_CONSTRUCTION,
            ("correction_reason", "message"),
            Effect.OUVRIR_CORRECTION,
        )
        for source in (DossierState.EN_CONSTRUCTION, DossierState.EN_INSTRUCTION)
    ),
    Transition(
        DossierState.EN_CONSTRUCTION,
        DossierAction.REDEPOSER,
        DOSSIER_DEPOSITORS,
        DossierState.EN_CONSTRUCTION,
        effect=Effect.RESOUDRE_CORRECTION,
    ),
    _decision(DossierAction.ACCEPTER, DossierState.ACCEPTE),
    _decision(DossierAction.REFUSER, DossierState.REFUSE),
    _decision(DossierAction.CLASSER_SANS_SUITE, DossierState.SANS_SUITE),
    # Reopening is traced like a decision: the history must say why a decision was undone.
    *(
        Transition(
            source, DossierAction.ROUVRIR, DOSSIER_INSTRUCTORS, DossierState.EN_INSTRUCTION, ("motivation",)
        )
        for source in sorted(DECIDED_STATES)
    ),
)

_BY_KEY: dict[tuple[DossierState, DossierAction], Transition] = {(t.source, t.action): t for t in TRANSITIONS}
assert len(_BY_KEY) == len(TRANSITIONS), "two transitions share the same (state, action)"


class WorkflowError(Exception):
    """A transition refused; ``message`` is in French and can be shown as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownValueError(WorkflowError):
    pass


class TransitionNotAllowed(WorkflowError):
    """The action does not exist from this state."""


class RoleNotAllowed(WorkflowError):
    """The action exists from this state, but not for this role."""


class MissingFields(WorkflowError):
    def __init__(self, message: str, fields: tuple[str, ...]):
        super().__init__(message)
        self.fields = fields


class CorrectionConflict(WorkflowError):
    """The action contradicts the open (or absent) correction request."""


def _coerce(enum_type: type[enum.StrEnum], value: object, what: str) -> enum.StrEnum:
    try:
        return enum_type(value)
    except ValueError:
        raise UnknownValueError(f"{what} : « {value} ».") from None


def transition_for(state: DossierState | str, action: DossierAction | str) -> Transition | None:
    """The declared transition for (state, action), whatever the role; None when there is none."""
    return _BY_KEY.get((DossierState(state), DossierAction(action)))


def _de(text: str) -> str:
    return "d'" if text[:1] in "aeiouyéèh" else "de "


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_transition(
    state: DossierState | str,
    action: DossierAction | str,
    role: Role | str,
    *,
    fields: Mapping[str, object] | None = None,
    correction_open: bool = False,
) -> DossierState:
    """The new state, or a ``WorkflowError`` subclass explaining in French why not.

    ``fields`` carries the values the user typed (motivation, correction_reason, message);
    ``correction_open`` says whether a correction request is waiting for the EPN.
    """
    state = _coerce(DossierState, state, "État de dossier inconnu")
    action = _coerce(DossierAction, action, "Action inconnue")
    role = _coerce(Role, role, "Rôle inconnu")
    fields = fields or {}

    transition = _BY_KEY.get((state, action))
    if transition is None:
        possible = sorted({t.source.label.lower() for t in TRANSITIONS if t.action == action})
        raise TransitionNotAllowed(
            f"Impossible {_de(action.label)}{action.label} : le dossier est « {state.label.lower()} ». "
            f"Cette action n'est possible que pour un dossier {' ou '.join(f'« {p} »' for p in possible)}."
        )
    if role not in transition.roles:
        who = (
            "à l'EPN (animateur ou responsable)"
            if transition.roles == DOSSIER_DEPOSITORS
            else "au référent de la collectivité"
        )
        raise RoleNotAllowed(
            f"{action.label[0].upper()}{action.label[1:]} revient {who} (votre rôle : {ROLE_PHRASES[role]})."
        )

    missing = tuple(name for name in transition.required_fields if _is_blank(fields.get(name)))
    if missing:
        names = ", ".join(FIELD_LABELS.get(name, name) for name in missing)
        raise MissingFields(f"Pour {action.label}, renseignez {names}.", missing)
    if "correction_reason" in transition.required_fields:
        _coerce(CorrectionReason, fields["correction_reason"], "Motif de correction inconnu")

    if action == DossierAction.REDEPOSER and not correction_open:
        raise CorrectionConflict(
            "Aucune correction n'est demandée : le dossier est déjà déposé, vous pouvez encore le compléter "
            "tant qu'il est en construction."
        )
    if action == DossierAction.DEMANDER_CORRECTION and correction_open:
        raise CorrectionConflict(
            "Une demande de correction est déjà en attente : attendez que l'EPN redépose le dossier."
        )
    if action == DossierAction.PASSER_EN_INSTRUCTION and correction_open:
        raise CorrectionConflict(
            "Une correction est en attente : l'EPN doit redéposer le dossier avant son instruction."
        )
    return transition.target


def available_actions(
    state: DossierState | str, role: Role | str, *, correction_open: bool = False
) -> list[DossierAction]:
    """Actions to offer as buttons: those ``check_transition`` would accept, fields aside."""
    state, role = DossierState(state), Role(role)
    result = []
    for transition in TRANSITIONS:
        if transition.source != state or role not in transition.roles:
            continue
        filled = {name: "x" for name in transition.required_fields}
        filled["correction_reason"] = CorrectionReason.INCOMPLET
        try:
            check_transition(state, transition.action, role, fields=filled, correction_open=correction_open)
        except CorrectionConflict:
            continue
        result.append(transition.action)
    return result
