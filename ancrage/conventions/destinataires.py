"""Who is told what about a convention, and when: the recipients of each notification e-mail,
the reminders due and the échéance alerts due, on plain data.

Pure module: no Django.

People are user ids. The circuit names *persons* (a partner organisation ``partenaire-12``, a
person ``user-5``); ``people_of`` maps each to the users who may act for it, resolved by the
caller from the memberships. Each function returns exactly the users to write to, so a test of
this module checks « the right people and no one else »:

- **a step opens** (the submission opens the first; a decision may open the next): every user who
  may act for a person the step waits for — for a step in mode ``un``, everyone who may sign;
- **a refusal**: the EPN's staff who submitted the round, and the users of the persons already
  consulted in it (the steps that were opened), but not the one who refused;
- **a signature**: the EPN's staff, but not the signer;
- **the circuit's end**: every party's people (the EPN's staff, each partner's people, the
  collectivité's), with the signed PDF;
- **a reminder**: a user asked for a step they have not answered, once per ``period_days`` days
  without an answer; none once their person has answered, or once the step is over;
- **an échéance alert** (no renewal ahead: the convention ends) to the EPN's staff, and a
  **tacit-renewal notice** (a renewal ahead, until the last day to denounce it) to every party's
  people, each at the thresholds (90, 60 and 30 days by default) before the end or that last day.
  When a run finds several thresholds passed (the convention was signed late, the task did not
  run), only the nearest is due: nobody gets three alerts on one morning.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ancrage.conventions.circuit import (
    CircuitProgress,
    ConventionState,
    ConventionTerms,
    StepStatus,
    current_term,
    denunciation_deadline,
    effective_state,
)

PeopleOf = Mapping[str, frozenset[int]]


@dataclass(frozen=True)
class Parties:
    """The users of each party of a convention."""

    epn_staff: frozenset[int] = frozenset()
    #: partner key (``partenaire-12``) → its people
    partners: Mapping[str, frozenset[int]] = field(default_factory=dict)
    collectivite: frozenset[int] = frozenset()

    def everyone(self) -> frozenset[int]:
        people = set(self.epn_staff) | set(self.collectivite)
        for users in self.partners.values():
            people |= users
        return frozenset(people)


def _users(persons: Iterable[str], people_of: PeopleOf) -> frozenset[int]:
    users: set[int] = set()
    for person in persons:
        users |= people_of.get(person, frozenset())
    return frozenset(users)


def open_steps(progress: CircuitProgress | None) -> frozenset[int]:
    """The steps that wait for someone (one today; several once parallel groups exist)."""
    if progress is None:
        return frozenset()
    return frozenset(s.index for s in progress.steps if s.status == StepStatus.EN_COURS)


def newly_opened(before: CircuitProgress | None, after: CircuitProgress) -> frozenset[int]:
    """The steps a decision (or the submission, ``before=None``) opened."""
    return open_steps(after) - open_steps(before)


def step_request_recipients(progress: CircuitProgress, step: int, people_of: PeopleOf) -> frozenset[int]:
    """Who is asked to act on ``step``: the users of the persons it still waits for."""
    current = progress.steps[step]
    return _users(current.waiting_for, people_of)


def refusal_recipients(
    progress: CircuitProgress, people_of: PeopleOf, *, submitters: Iterable[int], refused_by: int | None
) -> frozenset[int]:
    """The round's submitter(s) and the users of every person of the steps opened in the round:
    those who decided, and those asked beside them (a parallel group) who had not yet answered."""
    refused_groups = {
        s.step.group for s in progress.steps if s.status == StepStatus.REJETEE and s.step.group is not None
    }
    consulted = [
        person
        for s in progress.steps
        if s.status in (StepStatus.VALIDEE, StepStatus.REJETEE) or s.step.group in refused_groups
        for person in s.step.people
    ]
    users = set(submitters) | _users(consulted, people_of)
    users.discard(refused_by)
    return frozenset(users)


def signature_recipients(parties: Parties, *, signed_by: int | None) -> frozenset[int]:
    return frozenset(parties.epn_staff - {signed_by})


def end_recipients(parties: Parties) -> frozenset[int]:
    return parties.everyone()


# --- Reminders -------------------------------------------------------------------------------------


def reminder_period(opened_at: dt.datetime, now: dt.datetime, period_days: int) -> int | None:
    """The number of whole periods without an answer since ``opened_at`` (1, 2…), or None."""
    if period_days <= 0 or now < opened_at:
        return None
    periods = (now - opened_at) // dt.timedelta(days=period_days)
    return periods if periods >= 1 else None


@dataclass(frozen=True)
class Reminder:
    step: int
    user: int
    period: int


def reminders_due(
    progress: CircuitProgress | None,
    opened_at: Mapping[int, dt.datetime],
    people_of: PeopleOf,
    *,
    now: dt.datetime,
    period_days: int,
) -> list[Reminder]:
    """One reminder per user still awaited on an open step, for the period now running.

    The caller sends each under a key naming (step, user, period): a second run in the same
    period sends nothing, a run that missed days sends the current period's only.
    """
    due = []
    for index in sorted(open_steps(progress)):
        if index not in opened_at:
            continue
        period = reminder_period(opened_at[index], now, period_days)
        if period is None:
            continue
        for user in sorted(step_request_recipients(progress, index, people_of)):
            due.append(Reminder(index, user, period))
    return due


# --- Échéance alerts and tacit-renewal notices ----------------------------------------------------------


class ExpiryKind(enum.StrEnum):
    ECHEANCE = "echeance"
    RECONDUCTION = "reconduction"


def due_threshold(days_left: int, thresholds: Iterable[int]) -> int | None:
    """The nearest threshold already reached (``days_left`` ≤ it), or None (too early, or past)."""
    if days_left < 0:
        return None
    reached = [t for t in thresholds if days_left <= t]
    return min(reached) if reached else None


@dataclass(frozen=True)
class ExpiryNotice:
    kind: ExpiryKind
    #: the day the notice counts down to: the term's end (échéance) or the last day to denounce
    reference: dt.date
    term_end: dt.date
    threshold: int
    days_left: int


def expiry_notice(terms: ConventionTerms, on: dt.date, thresholds: Iterable[int]) -> ExpiryNotice | None:
    """The notice due on ``on`` for a signed convention, if a threshold is reached.

    With a tacit renewal ahead, the notice counts down to the last day to denounce it (after that
    day the renewal is certain, nothing is left to decide); otherwise to the end of the term.
    """
    if effective_state(terms, on) not in (ConventionState.SIGNEE, ConventionState.EN_VIGUEUR):
        return None
    end, _ = current_term(terms, on)
    if end is None:
        return None
    deadline = denunciation_deadline(terms, on)
    kind, reference = (ExpiryKind.ECHEANCE, end) if deadline is None else (ExpiryKind.RECONDUCTION, deadline)
    days_left = (reference - on).days
    threshold = due_threshold(days_left, thresholds)
    if threshold is None:
        return None
    return ExpiryNotice(kind, reference, end, threshold, days_left)


def expiry_recipients(kind: ExpiryKind, parties: Parties) -> frozenset[int]:
    """The EPN's staff prepare what follows an end; any party may denounce a renewal."""
    return parties.epn_staff if kind == ExpiryKind.ECHEANCE else parties.everyone()
