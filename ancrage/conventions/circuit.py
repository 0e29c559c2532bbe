"""Validation circuit and lifecycle of a convention, on plain data.

Pure module: no Django.

**Circuit** (after i-Parapheur and DocuSeal). A circuit is a list of steps. Each step names its
people and a mode: ``tous`` (every one of them must validate: parallel decisions, e.g. a visa by
each service) or ``un`` (one of them is enough, e.g. the élu *or* the DGS signs). Steps that share
a ``group`` number run side by side (each partner's signature); groups run in order, and every
visa group comes before the signature groups. The last step is a signature. The circuit's state
is never stored: it is replayed from the decisions of the current round, so the database keeps
only facts (who decided what, when, from where, on which document hash). A rejection needs a
comment, ends the round and sends the convention back to ``brouillon``; the next submission opens
a new round that starts again at the first group.

**Delegation** (délégation de signature): a person of a step names a deputy, who may then decide
in their name (« par délégation de … »); the delegator keeps the right to decide (a delegation of
signature does not dispossess). A deputy cannot delegate again.

**One person, one party.** A natural person signs for one party only: someone listed for two
parties (an EPN's responsable who is also a partner's member) who has signed for one is refused
for the other (Code civil, art. 1161, on a representative acting for several parties).

**Lifecycle.** brouillon → en_validation → signee → en_vigueur → expiree | resiliee. ``signee``
becomes ``en_vigueur`` on the start date and ``expiree`` after the end date of the current term,
so those two are computed from dates (``effective_state``) rather than written by a job that
might not run.

**Tacit renewal.** Each renewal adds ``term_months`` to the term. A party stops it by
denouncing the convention before the notice deadline of a term (préavis); a late
denunciation only stops the following renewal. ``max_renewals`` caps the number of renewals,
as public-sector conventions usually do.

**Avenants** keep the link to the convention they amend; an avenant of an avenant is attached to
the original, so that the original and its avenants read as one numbered series.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


class CircuitError(Exception):
    """A refused circuit or lifecycle operation; ``message`` is in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidCircuit(CircuitError):
    pass


class NotYourTurn(CircuitError):
    pass


class AlreadyDecided(CircuitError):
    pass


class CommentRequired(CircuitError):
    pass


class CircuitClosed(CircuitError):
    pass


class DocumentChanged(CircuitError):
    pass


class LifecycleError(CircuitError):
    pass


class TwoParties(CircuitError):
    """The same person would sign for two parties of the convention."""


class DelegationRefused(CircuitError):
    pass


class StepKind(enum.StrEnum):
    VISA = "visa"
    SIGNATURE = "signature"


class StepMode(enum.StrEnum):
    TOUS = "tous"
    UN = "un"


class StepStatus(enum.StrEnum):
    EN_ATTENTE = "en_attente"
    EN_COURS = "en_cours"
    VALIDEE = "validee"
    REJETEE = "rejetee"


class Decision(enum.StrEnum):
    VALIDER = "valider"
    REJETER = "rejeter"


class CircuitOutcome(enum.StrEnum):
    EN_COURS = "en_cours"
    VALIDE = "valide"
    REJETE = "rejete"


@dataclass(frozen=True)
class Step:
    label: str
    people: tuple[str, ...]
    mode: StepMode = StepMode.TOUS
    kind: StepKind = StepKind.VISA
    #: Steps with the same group run in parallel; None: a group of its own (sequential).
    group: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "people", tuple(self.people))
        object.__setattr__(self, "mode", StepMode(self.mode))
        object.__setattr__(self, "kind", StepKind(self.kind))


@dataclass(frozen=True)
class Circuit:
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise InvalidCircuit("Le circuit doit comporter au moins une étape.")
        for number, step in enumerate(self.steps, start=1):
            if not step.people:
                raise InvalidCircuit(f"Étape {number} « {step.label} » : désignez au moins une personne.")
            if len(set(step.people)) != len(step.people):
                raise InvalidCircuit(f"Étape {number} « {step.label} » : une personne y figure deux fois.")
        if self.steps[-1].kind != StepKind.SIGNATURE:
            raise InvalidCircuit("La dernière étape du circuit doit être une signature.")
        groups = self.groups
        seen_signature = False
        for members in groups:
            kinds = {self.steps[i].kind for i in members}
            if len(kinds) > 1:
                raise InvalidCircuit(
                    f"Étape {members[0] + 1} « {self.steps[members[0]].label} » : un groupe d'étapes "
                    "parallèles réunit soit des visas, soit des signatures."
                )
            if StepKind.VISA in kinds and seen_signature:
                raise InvalidCircuit("Les visas précèdent les signatures dans le circuit.")
            seen_signature = seen_signature or StepKind.SIGNATURE in kinds

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """The steps' indexes by group, in order; a group's steps are contiguous."""
        groups: list[list[int]] = []
        previous = object()
        closed = set()
        for index, step in enumerate(self.steps):
            if step.group is not None and step.group == previous:
                groups[-1].append(index)
                continue
            if step.group is not None and step.group in closed:
                raise InvalidCircuit(
                    f"Étape {index + 1} « {step.label} » : les étapes d'un même groupe se suivent."
                )
            if previous is not None:
                closed.add(previous)
            groups.append([index])
            previous = step.group
        return tuple(tuple(g) for g in groups)

    def group_of(self, step_index: int) -> int:
        return next(n for n, members in enumerate(self.groups) if step_index in members)


@dataclass(frozen=True)
class Delegation:
    """``person`` of ``step`` lets ``deputy`` decide in their name."""

    step: int
    person: str
    deputy: str


@dataclass(frozen=True)
class CircuitAction:
    """One decision in a round. ``at``, ``origin`` (IP address) and ``document_hash`` are kept
    for the history; only ``document_hash`` is checked here."""

    step: int
    person: str
    decision: Decision
    comment: str = ""
    at: dt.datetime | None = None
    origin: str | None = None
    document_hash: str | None = None
    #: The step's person a deputy decides for (a ``Delegation`` must say so); None: in one's name.
    on_behalf_of: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "decision", Decision(self.decision))


@dataclass(frozen=True)
class StepProgress:
    index: int
    step: Step
    status: StepStatus
    validated_by: tuple[str, ...] = ()
    rejected_by: str | None = None
    rejection_comment: str | None = None

    @property
    def waiting_for(self) -> tuple[str, ...]:
        """Who can still act on this step (nobody unless it is current)."""
        if self.status != StepStatus.EN_COURS:
            return ()
        return tuple(p for p in self.step.people if p not in self.validated_by)


@dataclass(frozen=True)
class CircuitProgress:
    steps: tuple[StepProgress, ...]
    outcome: CircuitOutcome

    @property
    def current(self) -> StepProgress | None:
        return next((s for s in self.steps if s.status == StepStatus.EN_COURS), None)

    @property
    def current_steps(self) -> tuple[StepProgress, ...]:
        """Every step that can be decided now (the unfinished steps of the current group)."""
        return tuple(s for s in self.steps if s.status == StepStatus.EN_COURS)

    @property
    def rejection(self) -> StepProgress | None:
        return next((s for s in self.steps if s.status == StepStatus.REJETEE), None)

    @property
    def convention_state(self) -> ConventionState:
        """Where the convention stands once this round's decisions are applied."""
        return {
            CircuitOutcome.EN_COURS: ConventionState.EN_VALIDATION,
            CircuitOutcome.VALIDE: ConventionState.SIGNEE,
            CircuitOutcome.REJETE: ConventionState.BROUILLON,
        }[self.outcome]


def _step_done(step: Step, validated: list[str]) -> bool:
    return bool(validated) if step.mode == StepMode.UN else len(validated) == len(step.people)


def _open_group(circuit: Circuit, state: list[dict], group: int) -> None:
    for index in circuit.groups[group]:
        if state[index]["status"] == StepStatus.EN_ATTENTE:
            state[index]["status"] = StepStatus.EN_COURS


def _check_one_party(circuit: Circuit, state: list[dict], action: CircuitAction) -> None:
    for index, other in enumerate(state):
        if index != action.step and circuit.steps[index].kind == StepKind.SIGNATURE:
            if action.person in other["signers"]:
                raise TwoParties(
                    f"Vous avez déjà signé à l'étape « {circuit.steps[index].label} » : une même "
                    "personne ne peut pas engager deux parties de la convention."
                )


def _apply(
    circuit: Circuit,
    state: list[dict],
    action: CircuitAction,
    expected_document_hash: str | None,
    delegations: Sequence[Delegation],
) -> None:
    current = [i for i, s in enumerate(state) if s["status"] == StepStatus.EN_COURS]
    if not current:
        rejected = any(s["status"] == StepStatus.REJETEE for s in state)
        raise CircuitClosed(
            "Le circuit est terminé : la convention a été rejetée et doit être soumise à nouveau."
            if rejected
            else "Le circuit est terminé : la convention est déjà signée."
        )
    slot = action.on_behalf_of or action.person
    if 0 <= action.step < len(state) and slot in state[action.step]["validated"]:
        raise AlreadyDecided("Vous avez déjà donné votre avis à cette étape.")
    if action.step not in current:
        first = circuit.steps[current[0]]
        raise NotYourTurn(
            f"C'est l'étape {current[0] + 1} « {first.label} » qui est en cours, "
            f"pas l'étape {action.step + 1}."
        )
    step = circuit.steps[action.step]
    if action.on_behalf_of is not None and Delegation(
        action.step, action.on_behalf_of, action.person
    ) not in (delegations):
        raise NotYourTurn("Aucune délégation ne vous permet de décider au nom de cette personne.")
    if slot not in step.people:
        raise NotYourTurn(f"Vous ne faites pas partie de l'étape {action.step + 1} « {step.label} ».")
    if slot in state[action.step]["validated"]:
        raise AlreadyDecided("Vous avez déjà donné votre avis à cette étape.")
    if expected_document_hash is not None and action.document_hash != expected_document_hash:
        raise DocumentChanged(
            "Le document a changé depuis la soumission : votre avis doit porter sur la version soumise."
        )
    if action.decision == Decision.REJETER:
        if not action.comment.strip():
            raise CommentRequired(
                "Un rejet doit être motivé : ajoutez un commentaire pour les autres parties."
            )
        state[action.step].update(status=StepStatus.REJETEE, rejected_by=slot, comment=action.comment)
        for other in state:
            if other["status"] == StepStatus.EN_COURS:
                other["status"] = StepStatus.EN_ATTENTE
        return
    if step.kind == StepKind.SIGNATURE:
        _check_one_party(circuit, state, action)
        state[action.step]["signers"].append(action.person)
    state[action.step]["validated"].append(slot)
    if _step_done(step, state[action.step]["validated"]):
        state[action.step]["status"] = StepStatus.VALIDEE
        group = circuit.group_of(action.step)
        if all(state[i]["status"] == StepStatus.VALIDEE for i in circuit.groups[group]):
            if group + 1 < len(circuit.groups):
                _open_group(circuit, state, group + 1)


def progress(
    circuit: Circuit,
    actions: Iterable[CircuitAction],
    *,
    expected_document_hash: str | None = None,
    delegations: Sequence[Delegation] = (),
) -> CircuitProgress:
    """Replay the decisions of one round (in the order they were made).

    Raises a ``CircuitError`` if the history is inconsistent, which means it was tampered with
    or written without ``decide``.
    """
    state = [
        {"status": StepStatus.EN_ATTENTE, "validated": [], "signers": []} for _ in range(len(circuit.steps))
    ]
    _open_group(circuit, state, 0)
    for action in actions:
        _apply(circuit, state, action, expected_document_hash, tuple(delegations))
    steps = tuple(
        StepProgress(
            index=i,
            step=step,
            status=s["status"],
            validated_by=tuple(s["validated"]),
            rejected_by=s.get("rejected_by"),
            rejection_comment=s.get("comment"),
        )
        for i, (step, s) in enumerate(zip(circuit.steps, state, strict=True))
    )
    if any(s.status == StepStatus.REJETEE for s in steps):
        outcome = CircuitOutcome.REJETE
    elif all(s.status == StepStatus.VALIDEE for s in steps):
        outcome = CircuitOutcome.VALIDE
    else:
        outcome = CircuitOutcome.EN_COURS
    return CircuitProgress(steps, outcome)


def decide(
    circuit: Circuit,
    actions: Sequence[CircuitAction],
    action: CircuitAction,
    *,
    expected_document_hash: str | None = None,
    delegations: Sequence[Delegation] = (),
) -> CircuitProgress:
    """Check ``action`` against the round so far; return the progress once it is applied."""
    kwargs = {"expected_document_hash": expected_document_hash, "delegations": delegations}
    progress(circuit, actions, **kwargs)
    return progress(circuit, [*actions, action], **kwargs)


def check_delegation(
    circuit: Circuit,
    current: CircuitProgress,
    delegations: Sequence[Delegation],
    delegation: Delegation,
) -> None:
    """Refuse a delegation the circuit cannot honour (``DelegationRefused``, in French)."""
    if not 0 <= delegation.step < len(circuit.steps):
        raise DelegationRefused("Cette étape n'existe pas dans le circuit.")
    step = circuit.steps[delegation.step]
    if current.outcome != CircuitOutcome.EN_COURS:
        raise DelegationRefused("Le circuit est terminé : plus aucune délégation n'est possible.")
    if current.steps[delegation.step].status not in (StepStatus.EN_ATTENTE, StepStatus.EN_COURS):
        raise DelegationRefused(f"L'étape « {step.label} » est déjà validée.")
    if delegation.person not in step.people:
        raise DelegationRefused(
            f"Seule une personne désignée à l'étape « {step.label} » peut déléguer sa signature ; "
            "un délégataire ne peut pas déléguer à son tour."
        )
    if delegation.deputy == delegation.person or delegation.deputy in step.people:
        raise DelegationRefused("Le délégataire figure déjà à cette étape : la délégation est inutile.")
    if delegation.person in current.steps[delegation.step].validated_by:
        raise DelegationRefused("Vous avez déjà donné votre avis à cette étape.")
    if any(d.step == delegation.step and d.person == delegation.person for d in delegations):
        raise DelegationRefused("Vous avez déjà désigné un délégataire pour cette étape.")


# Lifecycle


class ConventionState(enum.StrEnum):
    BROUILLON = "brouillon"
    EN_VALIDATION = "en_validation"
    SIGNEE = "signee"
    EN_VIGUEUR = "en_vigueur"
    EXPIREE = "expiree"
    RESILIEE = "resiliee"

    @property
    def label(self) -> str:
        return {
            ConventionState.BROUILLON: "brouillon",
            ConventionState.EN_VALIDATION: "en validation",
            ConventionState.SIGNEE: "signée",
            ConventionState.EN_VIGUEUR: "en vigueur",
            ConventionState.EXPIREE: "expirée",
            ConventionState.RESILIEE: "résiliée",
        }[self]


class ConventionEvent(enum.StrEnum):
    SOUMETTRE = "soumettre"
    RETIRER = "retirer"
    REJETER = "rejeter"
    SIGNER = "signer"
    ENTRER_EN_VIGUEUR = "entrer_en_vigueur"
    EXPIRER = "expirer"
    RESILIER = "resilier"


CS, CE = ConventionState, ConventionEvent
LIFECYCLE: Mapping[tuple[ConventionState, ConventionEvent], ConventionState] = {
    (CS.BROUILLON, CE.SOUMETTRE): CS.EN_VALIDATION,
    # The author takes the convention back to fix it before anyone rejects it.
    (CS.EN_VALIDATION, CE.RETIRER): CS.BROUILLON,
    (CS.EN_VALIDATION, CE.REJETER): CS.BROUILLON,
    (CS.EN_VALIDATION, CE.SIGNER): CS.SIGNEE,
    (CS.SIGNEE, CE.ENTRER_EN_VIGUEUR): CS.EN_VIGUEUR,
    (CS.SIGNEE, CE.RESILIER): CS.RESILIEE,
    (CS.EN_VIGUEUR, CE.EXPIRER): CS.EXPIREE,
    (CS.EN_VIGUEUR, CE.RESILIER): CS.RESILIEE,
}
LIFECYCLE_REQUIRED_FIELDS: Mapping[ConventionEvent, tuple[str, ...]] = {
    CE.REJETER: ("comment",),
    CE.RESILIER: ("motivation", "effective_date"),
}
_EVENT_LABELS = {
    CE.SOUMETTRE: "soumettre la convention au circuit de validation",
    CE.RETIRER: "retirer la convention du circuit",
    CE.REJETER: "rejeter la convention",
    CE.SIGNER: "signer la convention",
    CE.ENTRER_EN_VIGUEUR: "faire entrer la convention en vigueur",
    CE.EXPIRER: "constater l'expiration de la convention",
    CE.RESILIER: "résilier la convention",
}
_FIELD_LABELS = {"comment": "un commentaire", "motivation": "le motif", "effective_date": "la date d'effet"}


def check_convention_transition(
    state: ConventionState | str, event: ConventionEvent | str, *, fields: Mapping[str, object] | None = None
) -> ConventionState:
    state, event = ConventionState(state), ConventionEvent(event)
    target = LIFECYCLE.get((state, event))
    if target is None:
        raise LifecycleError(f"Impossible de {_EVENT_LABELS[event]} : elle est « {state.label} ».")
    fields = fields or {}
    missing = [
        name
        for name in LIFECYCLE_REQUIRED_FIELDS.get(event, ())
        if fields.get(name) is None or (isinstance(fields.get(name), str) and not fields[name].strip())
    ]
    if missing:
        raise LifecycleError(
            f"Pour {_EVENT_LABELS[event]}, indiquez {' et '.join(_FIELD_LABELS[m] for m in missing)}."
        )
    return target


# Dates: terms, renewal, expiry


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the end of a shorter month (31 jan + 1 → 28/29 fév)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_term_end(end: dt.date, months: int) -> dt.date:
    """End of the term that follows a term ending on ``end``.

    Counted from the day after ``end``, so that a term ending on 28 February and renewed for one
    month ends on 31 March, not on 28 March.
    """
    return add_months(end + dt.timedelta(days=1), months) - dt.timedelta(days=1)


@dataclass(frozen=True)
class ConventionTerms:
    id: Hashable
    title: str
    state: ConventionState
    start: dt.date | None = None
    #: End of the initial term; None for a convention à durée indéterminée.
    end: dt.date | None = None
    tacit_renewal: bool = False
    #: Length of each renewal; None: the length of the initial term (12 months if it is not a
    #: whole number of months), as the built-in models word it.
    renewal_months: int | None = None
    max_renewals: int | None = None
    #: Préavis: a denunciation must arrive this many months and days before the end of a term.
    notice_months: int = 0
    notice_days: int = 0
    denounced_on: dt.date | None = None
    terminated_on: dt.date | None = None
    #: Days before the end (or before the denunciation deadline) when an alert is due.
    alert_days: int = 60
    amends: Hashable | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", ConventionState(self.state))
        if self.start and self.end and self.end < self.start:
            raise LifecycleError(f"Convention « {self.title} » : la date de fin précède la date de début.")
        if self.renewal_months is not None and self.renewal_months <= 0:
            raise LifecycleError(
                f"Convention « {self.title} » : la durée de reconduction doit être positive."
            )

    @property
    def term_months(self) -> int:
        """Length of each renewal, in months."""
        if self.renewal_months is not None:
            return self.renewal_months
        if self.start is not None and self.end is not None:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            if months > 0 and add_months(self.start, months) - dt.timedelta(days=1) == self.end:
                return months
        return 12

    def notice_deadline(self, term_end: dt.date) -> dt.date:
        """Last day to denounce the convention before the term ending on ``term_end``."""
        return add_months(term_end, -self.notice_months) - dt.timedelta(days=self.notice_days)


def _renewal_blocked(terms: ConventionTerms, term_end: dt.date, renewals: int) -> bool:
    if not terms.tacit_renewal:
        return True
    if terms.max_renewals is not None and renewals >= terms.max_renewals:
        return True
    if terms.denounced_on is not None:
        return terms.denounced_on <= terms.notice_deadline(term_end)
    return False


def current_term(terms: ConventionTerms, on: dt.date) -> tuple[dt.date | None, int]:
    """(end of the term running on ``on`` — or of the last term if all are over —, renewals done)."""
    if terms.end is None:
        return None, 0
    end, renewals = terms.end, 0
    while on > end and not _renewal_blocked(terms, end, renewals):
        end, renewals = next_term_end(end, terms.term_months), renewals + 1
    return end, renewals


def denunciation_deadline(terms: ConventionTerms, on: dt.date) -> dt.date | None:
    """Last day to denounce and stop the next tacit renewal; None if no renewal is coming."""
    end, renewals = current_term(terms, on)
    if end is None or _renewal_blocked(terms, end, renewals):
        return None
    return terms.notice_deadline(end)


def effective_state(terms: ConventionTerms, on: dt.date) -> ConventionState:
    """The state on a given day, the dates applied to the stored state."""
    if terms.state == CS.RESILIEE or (
        terms.terminated_on is not None
        and terms.state in (CS.SIGNEE, CS.EN_VIGUEUR)
        and on >= terms.terminated_on
    ):
        return CS.RESILIEE
    if terms.state not in (CS.SIGNEE, CS.EN_VIGUEUR):
        return terms.state
    if terms.start is not None and on < terms.start:
        return CS.SIGNEE
    end, _ = current_term(terms, on)
    if end is not None and on > end:
        return CS.EXPIREE
    return CS.EN_VIGUEUR


def is_in_force(terms: ConventionTerms, on: dt.date) -> bool:
    return effective_state(terms, on) == CS.EN_VIGUEUR


def _fr(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _days(n: int) -> str:
    return "aujourd'hui" if n == 0 else ("demain" if n == 1 else f"dans {n} jours")


@dataclass(frozen=True)
class ExpiryAlert:
    convention_id: Hashable
    title: str
    end: dt.date
    days_left: int
    renews: bool
    denounce_before: dt.date | None
    message: str


def expiry_alert(terms: ConventionTerms, on: dt.date) -> ExpiryAlert | None:
    """The alert due on ``on`` for this convention, if any.

    Without renewal, the alert window opens ``alert_days`` before the end. With a tacit renewal
    ahead, it opens ``alert_days`` before the denunciation deadline: that deadline, not the end,
    is the last day the EPN can still choose.
    """
    if effective_state(terms, on) not in (CS.SIGNEE, CS.EN_VIGUEUR):
        return None
    end, _ = current_term(terms, on)
    if end is None:
        return None
    deadline = denunciation_deadline(terms, on)
    reference = deadline if deadline is not None else end
    if not (reference - dt.timedelta(days=terms.alert_days) <= on <= end):
        return None
    days_left = (end - on).days
    message = f"La convention « {terms.title} » arrive à échéance le {_fr(end)} ({_days(days_left)})."
    if deadline is None:
        message += " Elle ne sera pas reconduite : préparez son renouvellement ou un avenant."
    else:
        renewed_end = _fr(next_term_end(end, terms.term_months))
        if on <= deadline:
            message += (
                f" Elle sera reconduite tacitement jusqu'au {renewed_end}, "
                f"sauf dénonciation au plus tard le {_fr(deadline)}."
            )
        else:
            message += f" Le délai de dénonciation est passé : elle sera reconduite jusqu'au {renewed_end}."
    return ExpiryAlert(terms.id, terms.title, end, days_left, deadline is not None, deadline, message)


def expiry_alerts(conventions: Iterable[ConventionTerms], on: dt.date) -> list[ExpiryAlert]:
    """Conventions needing an alert on ``on``, the most urgent first."""
    alerts = [a for a in (expiry_alert(c, on) for c in conventions) if a is not None]
    return sorted(alerts, key=lambda a: (a.days_left, a.title))


# Avenants


def original_of(conventions: Iterable[ConventionTerms], convention_id: Hashable) -> ConventionTerms:
    """The original convention an avenant (or an avenant of an avenant) belongs to."""
    by_id = {c.id: c for c in conventions}
    seen = set()
    current = by_id[convention_id]
    while current.amends is not None:
        if current.id in seen:
            raise LifecycleError(f"Les avenants de la convention « {current.title} » forment une boucle.")
        seen.add(current.id)
        if current.amends not in by_id:
            raise LifecycleError(f"L'avenant « {current.title} » renvoie à une convention introuvable.")
        current = by_id[current.amends]
    return current


def avenants_of(conventions: Sequence[ConventionTerms], convention_id: Hashable) -> list[ConventionTerms]:
    """The avenants of the original of ``convention_id``, in the order given (creation order)."""
    root = original_of(conventions, convention_id)
    return [c for c in conventions if c.amends is not None and original_of(conventions, c.id).id == root.id]


def check_new_avenant(conventions: Sequence[ConventionTerms], convention_id: Hashable, on: dt.date) -> int:
    """Number of the next avenant to the original of ``convention_id``, or ``LifecycleError``.

    Only a convention that binds the parties (signée or en vigueur) can be amended: a draft is
    simply edited, and an expired or terminated one calls for a new convention.
    """
    root = original_of(conventions, convention_id)
    state = effective_state(root, on)
    if state not in (CS.SIGNEE, CS.EN_VIGUEUR):
        raise LifecycleError(
            f"Un avenant ne peut modifier qu'une convention signée ou en vigueur ; "
            f"« {root.title} » est {state.label}."
        )
    return len(avenants_of(conventions, convention_id)) + 1
