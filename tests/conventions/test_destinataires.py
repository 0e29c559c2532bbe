"""Who is told what (the pure module ``destinataires``), without a database: the recipients of
each event are exactly the people named, reminders come once per period and stop with the
answer, and each échéance threshold is due once, whatever days the task runs."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ancrage.conventions import circuit as pure
from ancrage.conventions import destinataires as d

VISA = pure.Step("Visa des partenaires", ("partenaire-1", "partenaire-2"), "tous", "visa")
SIGNATURE = pure.Step("Signature de Rennes", ("user-10", "user-11"), "un", "signature")
CIRCUIT = pure.Circuit((VISA, SIGNATURE))
PEOPLE = {
    "partenaire-1": frozenset({1, 2}),  # two people of the first partner
    "partenaire-2": frozenset({3}),
    "user-10": frozenset({10}),
    "user-11": frozenset({11}),
}
PARTIES = d.Parties(
    epn_staff=frozenset({20, 21}),
    partners={"partenaire-1": frozenset({1, 2}), "partenaire-2": frozenset({3})},
    collectivite=frozenset({10, 11, 12}),  # 12: a référent, who signs nothing
)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def act(step, person, decision="valider", comment=""):
    return pure.CircuitAction(step=step, person=person, decision=decision, comment=comment)


def test_the_submission_asks_every_person_of_the_first_step_and_only_them():
    progress = pure.progress(CIRCUIT, [])
    assert d.newly_opened(None, progress) == {0}
    assert d.step_request_recipients(progress, 0, PEOPLE) == {1, 2, 3}


def test_the_last_visa_opens_the_signature_for_everyone_who_may_sign():
    before = pure.progress(CIRCUIT, [act(0, "partenaire-1")])
    assert d.step_request_recipients(before, 0, PEOPLE) == {3}  # who is still awaited
    after = pure.progress(CIRCUIT, [act(0, "partenaire-1"), act(0, "partenaire-2")])
    assert d.newly_opened(before, after) == {1}
    assert d.step_request_recipients(after, 1, PEOPLE) == {10, 11}  # mode « un »: both élus


def test_a_refusal_goes_to_the_submitter_and_the_consulted_but_not_to_the_refuser():
    progress = pure.progress(CIRCUIT, [act(0, "partenaire-1"), act(0, "partenaire-2", "rejeter", "non")])
    assert d.refusal_recipients(progress, PEOPLE, submitters={20}, refused_by=3) == {20, 1, 2}


def test_a_signature_goes_to_the_epn_staff_and_the_end_to_every_party():
    assert d.signature_recipients(PARTIES, signed_by=10) == {20, 21}
    assert d.signature_recipients(PARTIES, signed_by=21) == {20}  # the EPN's responsable signed
    assert d.end_recipients(PARTIES) == {1, 2, 3, 10, 11, 12, 20, 21}


decisions = st.lists(
    st.tuples(st.sampled_from(sorted(PEOPLE)), st.sampled_from(["valider", "rejeter"])), max_size=5
)


def replay(choices):
    """The decisions that the circuit accepts, in order (the others are refused and skipped)."""
    actions = []
    for person, decision in choices:
        progress = pure.progress(CIRCUIT, actions)
        if progress.current is None:
            break
        action = act(progress.current.index, person, decision, "motif")
        try:
            pure.decide(CIRCUIT, actions, action)
        except pure.CircuitError:
            continue
        actions.append(action)
    return actions


@given(decisions, st.sampled_from([20, 21, None]))
def test_nobody_outside_the_circuit_and_the_submitters_is_ever_told(choices, submitter):
    actions = replay(choices)
    progress = pure.progress(CIRCUIT, actions)
    circuit_users = frozenset().union(*PEOPLE.values())
    for step in d.open_steps(progress):
        asked = d.step_request_recipients(progress, step, PEOPLE)
        assert asked and asked <= d._users(CIRCUIT.steps[step].people, PEOPLE)
        # Nobody is asked who already answered for their person.
        answered = progress.steps[step].validated_by
        assert not asked & d._users(answered, PEOPLE)
    if progress.outcome == pure.CircuitOutcome.REJETE:
        refuser = next(iter(PEOPLE[progress.rejection.rejected_by]))
        told = d.refusal_recipients(progress, PEOPLE, submitters={submitter} - {None}, refused_by=refuser)
        assert refuser not in told
        assert told <= circuit_users | {20, 21}
        # The signature step is consulted only if the visas were all given.
        if progress.rejection.index == 0:
            assert not told & {10, 11}


@given(st.integers(0, 400), st.integers(1, 30))
def test_a_reminder_is_due_once_per_whole_period_without_an_answer(hours, period_days):
    now = T0 + dt.timedelta(hours=hours * 6)
    period = d.reminder_period(T0, now, period_days)
    elapsed = (now - T0) / dt.timedelta(days=period_days)
    assert period == (int(elapsed) if elapsed >= 1 else None)


def test_reminders_name_the_awaited_users_only_and_stop_when_answered():
    opened = {0: T0}
    progress = pure.progress(CIRCUIT, [act(0, "partenaire-1")])
    due = d.reminders_due(progress, opened, PEOPLE, now=T0 + dt.timedelta(days=15), period_days=7)
    assert due == [d.Reminder(0, 3, 2)]
    done = pure.progress(CIRCUIT, [act(0, "partenaire-1"), act(0, "partenaire-2")])
    assert d.reminders_due(done, opened, PEOPLE, now=T0 + dt.timedelta(days=15), period_days=7) == []


@given(
    st.one_of(st.just(frozenset(range(-5, 121))), st.sets(st.integers(-5, 120), min_size=1)),
    st.lists(st.integers(1, 120), min_size=1, max_size=4, unique=True),
)
def test_each_threshold_is_due_at_most_once_and_every_one_when_the_task_runs_daily(run_days, thresholds):
    """Sending under a key per threshold: whatever days the task runs, no threshold twice, at most one
    per run; run every day, each threshold within the window is sent exactly once."""
    sent = []
    for days_left in sorted(run_days, reverse=True):  # the days go by: fewer days left
        threshold = d.due_threshold(days_left, thresholds)
        if threshold is not None and threshold not in sent:
            assert days_left <= threshold
            sent.append(threshold)
    assert len(sent) == len(set(sent))
    if run_days == frozenset(range(-5, 121)):
        assert sorted(sent, reverse=True) == sorted(thresholds, reverse=True)


def terms(**fields):
    values = dict(
        id=1, title="Convention", state="signee", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)
    )
    values.update(fields)
    return pure.ConventionTerms(**values)


def test_an_ending_convention_counts_down_to_its_end_a_renewed_one_to_the_last_day_to_denounce():
    ending = d.expiry_notice(terms(), dt.date(2026, 11, 1), [90, 60, 30])
    assert (ending.kind, ending.threshold, ending.days_left) == (d.ExpiryKind.ECHEANCE, 60, 60)
    assert d.expiry_recipients(ending.kind, PARTIES) == PARTIES.epn_staff

    renewed = terms(tacit_renewal=True, notice_months=2)  # denounce by 31 October
    notice = d.expiry_notice(renewed, dt.date(2026, 10, 1), [90, 60, 30])
    assert (notice.kind, notice.reference, notice.threshold) == (
        d.ExpiryKind.RECONDUCTION,
        dt.date(2026, 10, 31),
        30,
    )
    assert d.expiry_recipients(notice.kind, PARTIES) == PARTIES.everyone()
    # Past the last day to denounce, the renewal is certain: nothing more to say this term.
    assert d.expiry_notice(renewed, dt.date(2026, 11, 15), [90, 60, 30]) is None
    # A draft, or a terminated convention, gets no notice.
    assert d.expiry_notice(terms(state="brouillon"), dt.date(2026, 11, 1), [60]) is None
    assert d.expiry_notice(terms(state="resiliee"), dt.date(2026, 11, 1), [60]) is None
