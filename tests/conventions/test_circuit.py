import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.conventions.circuit import (
    LIFECYCLE,
    AlreadyDecided,
    Circuit,
    CircuitAction,
    CircuitClosed,
    CircuitError,
    CircuitOutcome,
    CommentRequired,
    ConventionEvent,
    ConventionState,
    ConventionTerms,
    Decision,
    Delegation,
    DelegationRefused,
    DocumentChanged,
    InvalidCircuit,
    LifecycleError,
    NotYourTurn,
    Step,
    StepKind,
    StepMode,
    StepStatus,
    TwoParties,
    add_months,
    avenants_of,
    check_convention_transition,
    check_delegation,
    check_new_avenant,
    current_term,
    decide,
    denunciation_deadline,
    effective_state,
    expiry_alerts,
    is_in_force,
    next_term_end,
    original_of,
    progress,
)

CS, CE = ConventionState, ConventionEvent
V, X = Decision.VALIDER, Decision.REJETER
D = dt.date


def convention_circuit():
    return Circuit(
        (
            Step("Visa des partenaires", ("asso", "ecole"), StepMode.TOUS),
            Step("Visa de la direction", ("dgs", "dga"), StepMode.UN),
            Step("Signature de l'élu", ("elu",), StepMode.UN, StepKind.SIGNATURE),
        )
    )


def statuses(p):
    return [s.status for s in p.steps]


# Circuit


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "au moins une étape"),
        ((Step("Visa", ()), Step("Sig", ("elu",), kind=StepKind.SIGNATURE)), "au moins une personne"),
        ((Step("Visa", ("a", "a")), Step("Sig", ("elu",), kind=StepKind.SIGNATURE)), "deux fois"),
        ((Step("Visa", ("a",)),), "doit être une signature"),
    ],
)
def test_invalid_circuits(steps, message):
    with pytest.raises(InvalidCircuit, match=message):
        Circuit(steps)


def test_new_round_starts_at_step_one():
    p = progress(convention_circuit(), [])
    assert statuses(p) == [StepStatus.EN_COURS, StepStatus.EN_ATTENTE, StepStatus.EN_ATTENTE]
    assert p.outcome == CircuitOutcome.EN_COURS and p.convention_state == CS.EN_VALIDATION
    assert p.current.waiting_for == ("asso", "ecole")


def test_all_mode_needs_everyone_and_any_mode_needs_one():
    c = convention_circuit()
    p = progress(c, [CircuitAction(0, "asso", V)])
    assert p.current.index == 0 and p.current.waiting_for == ("ecole",)
    p = progress(c, [CircuitAction(0, "asso", V), CircuitAction(0, "ecole", V)])
    assert p.current.index == 1
    p = progress(c, [CircuitAction(0, "asso", V), CircuitAction(0, "ecole", V), CircuitAction(1, "dga", V)])
    assert statuses(p)[:2] == [StepStatus.VALIDEE, StepStatus.VALIDEE] and p.current.index == 2
    assert p.steps[1].validated_by == ("dga",) and p.steps[1].waiting_for == ()


def test_full_circuit_signs_the_convention():
    c = convention_circuit()
    actions = [CircuitAction(0, "ecole", V), CircuitAction(0, "asso", V), CircuitAction(1, "dgs", V)]
    p = decide(c, actions, CircuitAction(2, "elu", V))
    assert p.outcome == CircuitOutcome.VALIDE and p.convention_state == CS.SIGNEE and p.current is None


def test_rejection_needs_a_comment_and_returns_to_draft():
    c = convention_circuit()
    with pytest.raises(CommentRequired, match="motivé"):
        decide(c, [], CircuitAction(0, "asso", X, comment="  "))
    p = decide(c, [CircuitAction(0, "asso", V)], CircuitAction(0, "ecole", X, comment="Article 4 à revoir"))
    assert p.outcome == CircuitOutcome.REJETE and p.convention_state == CS.BROUILLON
    assert p.rejection.rejected_by == "ecole" and p.rejection.rejection_comment == "Article 4 à revoir"
    assert statuses(p) == [StepStatus.REJETEE, StepStatus.EN_ATTENTE, StepStatus.EN_ATTENTE]
    with pytest.raises(CircuitClosed, match="rejetée"):
        decide(c, [CircuitAction(0, "ecole", X, comment="non")], CircuitAction(0, "asso", V))


def test_refused_decisions():
    c = convention_circuit()
    with pytest.raises(NotYourTurn, match="étape 1"):
        decide(c, [], CircuitAction(2, "elu", V))
    with pytest.raises(NotYourTurn, match="ne faites pas partie"):
        decide(c, [], CircuitAction(0, "elu", V))
    with pytest.raises(AlreadyDecided):
        decide(c, [CircuitAction(0, "asso", V)], CircuitAction(0, "asso", V))
    done = [
        CircuitAction(0, "asso", V),
        CircuitAction(0, "ecole", V),
        CircuitAction(1, "dgs", V),
        CircuitAction(2, "elu", V),
    ]
    with pytest.raises(CircuitClosed, match="déjà signée"):
        decide(c, done, CircuitAction(2, "elu", V))
    # The other person of an "un" step cannot act once the step is validated.
    with pytest.raises(NotYourTurn):
        decide(c, done[:3], CircuitAction(1, "dga", V))


def test_document_hash_must_be_the_submitted_one():
    c = convention_circuit()
    with pytest.raises(DocumentChanged):
        decide(c, [], CircuitAction(0, "asso", V, document_hash="b" * 64), expected_document_hash="a" * 64)
    p = decide(c, [], CircuitAction(0, "asso", V, document_hash="a" * 64), expected_document_hash="a" * 64)
    assert p.steps[0].validated_by == ("asso",)


def test_demo_scenario_of_issue_5():
    c = convention_circuit()
    state = check_convention_transition(CS.BROUILLON, CE.SOUMETTRE)
    round_1 = [CircuitAction(0, "asso", V)]
    p = decide(c, round_1, CircuitAction(0, "ecole", X, comment="Horaires à corriger"))
    state = check_convention_transition(state, CE.REJETER, fields={"comment": p.rejection.rejection_comment})
    assert state == p.convention_state == CS.BROUILLON
    state = check_convention_transition(state, CE.SOUMETTRE)
    round_2: list[CircuitAction] = []
    assert progress(c, round_2).current.index == 0  # restarts from step 1, the first visa is not kept
    for action in [CircuitAction(0, "asso", V), CircuitAction(0, "ecole", V), CircuitAction(1, "dgs", V)]:
        decide(c, round_2, action)
        round_2.append(action)
    p = decide(c, round_2, CircuitAction(2, "elu", V))
    state = check_convention_transition(state, CE.SIGNER)
    assert state == p.convention_state == CS.SIGNEE


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2), st.sampled_from(["asso", "ecole", "dgs", "dga", "elu", "x"]), st.booleans()
        ),
        max_size=15,
    )
)
def test_random_decisions_keep_the_circuit_consistent(draws):
    c = convention_circuit()
    actions: list[CircuitAction] = []
    for step, person, reject in draws:
        action = CircuitAction(step, person, X if reject else V, comment="motif" if reject else "")
        try:
            p = decide(c, actions, action)
        except CircuitError as error:
            assert error.message
            continue
        actions.append(action)
        # Validated steps always form a prefix; at most one step is current or rejected.
        sts = statuses(p)
        first_not_validated = next((i for i, s in enumerate(sts) if s != StepStatus.VALIDEE), len(sts))
        assert all(s == StepStatus.EN_ATTENTE for s in sts[first_not_validated + 1 :])
        assert p.outcome == CircuitOutcome.VALIDE or sts[first_not_validated] in (
            StepStatus.EN_COURS,
            StepStatus.REJETEE,
        )
        assert p.convention_state in set(CS)
    assert progress(c, actions).outcome in set(CircuitOutcome)


# Groups of parallel steps, delegation, one person for one party


def signing_circuit():
    """Visas of two services in parallel, then the EPN and two partners side by side, then the élu."""
    return Circuit(
        (
            Step("Visa juridique", ("juriste",), StepMode.UN, StepKind.VISA, group=0),
            Step("Visa financier", ("dgs", "dga"), StepMode.UN, StepKind.VISA, group=0),
            Step("Signature de l'EPN", ("resp",), StepMode.UN, StepKind.SIGNATURE, group=1),
            Step("Signature de l'association", ("asso1", "asso2"), StepMode.UN, StepKind.SIGNATURE, group=1),
            Step("Signature du CCAS", ("ccas", "resp2"), StepMode.UN, StepKind.SIGNATURE, group=1),
            Step("Signature de l'élu", ("elu",), StepMode.UN, StepKind.SIGNATURE, group=2),
        )
    )


def test_a_group_runs_in_parallel_and_the_next_waits_for_all_of_it():
    c = signing_circuit()
    assert c.groups == ((0, 1), (2, 3, 4), (5,))
    actions = [CircuitAction(1, "dga", V)]
    p = progress(c, actions)
    assert [s.index for s in p.current_steps] == [0]
    with pytest.raises(NotYourTurn):
        decide(c, actions, CircuitAction(2, "resp", V))
    actions.append(CircuitAction(0, "juriste", V))
    assert [s.index for s in progress(c, actions).current_steps] == [2, 3, 4]
    for action in (CircuitAction(4, "ccas", V), CircuitAction(2, "resp", V)):
        actions.append(action)
    with pytest.raises(NotYourTurn, match="étape 4"):
        decide(c, actions, CircuitAction(5, "elu", V))
    actions.append(CircuitAction(3, "asso2", V))
    assert decide(c, actions, CircuitAction(5, "elu", V)).outcome == CircuitOutcome.VALIDE


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            (
                Step("S", ("a",), kind=StepKind.SIGNATURE, group=0),
                Step("V", ("b",), group=1),
                Step("S2", ("c",), kind=StepKind.SIGNATURE, group=2),
            ),
            "précèdent",
        ),
        ((Step("V", ("a",), group=0), Step("S", ("b",), kind=StepKind.SIGNATURE, group=0)), "groupe"),
        (
            (
                Step("S", ("a",), kind=StepKind.SIGNATURE, group=0),
                Step("T", ("b",), kind=StepKind.SIGNATURE, group=1),
                Step("U", ("c",), kind=StepKind.SIGNATURE, group=0),
            ),
            "se suivent",
        ),
    ],
)
def test_invalid_groups(steps, message):
    with pytest.raises(InvalidCircuit, match=message):
        Circuit(steps)


def test_a_refusal_of_a_signature_ends_the_round_and_needs_a_reason():
    c = signing_circuit()
    actions = [CircuitAction(0, "juriste", V), CircuitAction(1, "dgs", V)]
    with pytest.raises(CommentRequired):
        decide(c, actions, CircuitAction(3, "asso1", X))
    p = decide(c, actions, CircuitAction(3, "asso1", X, comment="Le montant est faux."))
    assert p.outcome == CircuitOutcome.REJETE and p.convention_state == CS.BROUILLON and not p.current_steps
    with pytest.raises(CircuitClosed):
        decide(c, [*actions, CircuitAction(3, "asso1", X, comment="x")], CircuitAction(2, "resp", V))


def test_delegation_lets_a_named_deputy_decide_in_the_name_of_a_person():
    c = signing_circuit()
    visas = [CircuitAction(0, "juriste", V), CircuitAction(1, "dgs", V)]
    p = progress(c, visas)
    delegation = Delegation(5, "elu", "adjoint")
    check_delegation(c, p, [], delegation)  # a later step may be delegated in advance
    with pytest.raises(DelegationRefused, match="déjà désigné"):
        check_delegation(c, p, [delegation], Delegation(5, "elu", "dgs"))
    with pytest.raises(DelegationRefused, match="ne peut pas déléguer"):
        check_delegation(c, p, [delegation], Delegation(5, "adjoint", "autre"))
    with pytest.raises(DelegationRefused, match="déjà validée"):
        check_delegation(c, p, [], Delegation(0, "juriste", "autre"))
    with pytest.raises(DelegationRefused, match="figure déjà"):
        check_delegation(c, p, [], Delegation(3, "asso1", "asso2"))
    actions = [*visas, CircuitAction(2, "resp", V), CircuitAction(3, "asso1", V), CircuitAction(4, "ccas", V)]
    with pytest.raises(NotYourTurn, match="délégation"):
        decide(c, actions, CircuitAction(5, "adjoint", V, on_behalf_of="elu"))
    with pytest.raises(NotYourTurn):
        decide(c, actions, CircuitAction(5, "adjoint", V), delegations=[delegation])
    p = decide(c, actions, CircuitAction(5, "adjoint", V, on_behalf_of="elu"), delegations=[delegation])
    assert p.outcome == CircuitOutcome.VALIDE and p.steps[5].validated_by == ("elu",)


def test_one_person_signs_for_one_party_only():
    c = signing_circuit()
    actions = [CircuitAction(0, "juriste", V), CircuitAction(1, "dgs", V), CircuitAction(2, "resp", V)]
    two_hats = Circuit(
        tuple(
            Step(
                s.label,
                (*s.people, "resp") if s.label == "Signature du CCAS" else s.people,
                s.mode,
                s.kind,
                s.group,
            )
            for s in c.steps
        )
    )
    with pytest.raises(TwoParties, match="deux parties"):
        decide(two_hats, actions, CircuitAction(4, "resp", V))
    # Through a delegation too: the deputy of one party cannot sign for another.
    deputy = Delegation(4, "ccas", "resp")
    with pytest.raises(TwoParties):
        decide(c, actions, CircuitAction(4, "resp", V, on_behalf_of="ccas"), delegations=[deputy])


PEOPLE = ["juriste", "dgs", "dga", "resp", "asso1", "asso2", "ccas", "resp2", "elu", "adjoint", "x"]


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(PEOPLE), st.booleans(), st.booleans()),
        max_size=25,
    )
)
def test_a_circuit_is_complete_only_when_every_step_has_its_signatories(draws):
    """Whatever the order of the attempts: the outcome is « validé » exactly when each step has
    its signatories (every person for « tous », one for « un »), every visa precedes every
    signature, nobody signed for two parties, and the groups were decided in order."""
    c = signing_circuit()
    delegations = [Delegation(5, "elu", "adjoint")]
    actions: list[CircuitAction] = []
    for step, person, reject, deputy in draws:
        on_behalf = "elu" if deputy and person == "adjoint" else None
        action = CircuitAction(
            step, person, X if reject else V, comment="motif" if reject else "", on_behalf_of=on_behalf
        )
        try:
            p = decide(c, actions, action, delegations=delegations)
        except CircuitError as error:
            assert error.message
            continue
        actions.append(action)
        group_of = {i: g for g, members in enumerate(c.groups) for i in members}
        done = [s for s in p.steps if s.status == StepStatus.VALIDEE]
        assert all(
            group_of[s.index] <= group_of[t.index] or t.status == StepStatus.VALIDEE
            for s in p.current_steps
            for t in p.steps
        )
        signers = [
            a.person for a in actions if a.decision == V and c.steps[a.step].kind == StepKind.SIGNATURE
        ]
        assert len(signers) == len(set(signers))
        every_step_signed = all(
            (set(s.step.people) <= set(s.validated_by))
            if s.step.mode == StepMode.TOUS
            else bool(s.validated_by)
            for s in p.steps
        )
        assert (p.outcome == CircuitOutcome.VALIDE) == every_step_signed
        visa_times = [
            i for i, a in enumerate(actions) if c.steps[a.step].kind == StepKind.VISA and a.decision == V
        ]
        sign_times = [
            i for i, a in enumerate(actions) if c.steps[a.step].kind == StepKind.SIGNATURE and a.decision == V
        ]
        assert not visa_times or not sign_times or max(visa_times) < min(sign_times)
        assert len(done) <= len(c.steps)


# Lifecycle

SPEC = {
    (CS.BROUILLON, CE.SOUMETTRE): CS.EN_VALIDATION,
    (CS.EN_VALIDATION, CE.RETIRER): CS.BROUILLON,
    (CS.EN_VALIDATION, CE.REJETER): CS.BROUILLON,
    (CS.EN_VALIDATION, CE.SIGNER): CS.SIGNEE,
    (CS.SIGNEE, CE.ENTRER_EN_VIGUEUR): CS.EN_VIGUEUR,
    (CS.SIGNEE, CE.RESILIER): CS.RESILIEE,
    (CS.EN_VIGUEUR, CE.EXPIRER): CS.EXPIREE,
    (CS.EN_VIGUEUR, CE.RESILIER): CS.RESILIEE,
}
FIELDS = {"comment": "motif", "motivation": "motif", "effective_date": D(2025, 1, 1)}


def test_lifecycle_table_matches_the_spec():
    assert dict(LIFECYCLE) == SPEC


@pytest.mark.parametrize(("state", "event"), list(itertools.product(CS, CE)), ids=str)
def test_every_lifecycle_transition(state, event):
    if (state, event) in SPEC:
        assert check_convention_transition(state, event, fields=FIELDS) == SPEC[(state, event)]
    else:
        with pytest.raises(LifecycleError, match="Impossible de"):
            check_convention_transition(state, event, fields=FIELDS)


def test_lifecycle_required_fields():
    with pytest.raises(LifecycleError, match="un commentaire"):
        check_convention_transition(CS.EN_VALIDATION, CE.REJETER)
    with pytest.raises(LifecycleError, match="le motif et la date d'effet"):
        check_convention_transition(CS.EN_VIGUEUR, CE.RESILIER, fields={"motivation": " "})


# Dates


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2025, 1, 31), 1, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2025, 12, 15), 1, D(2026, 1, 15)),
        (D(2025, 3, 31), -1, D(2025, 2, 28)),
        (D(2025, 12, 31), -2, D(2025, 10, 31)),
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("end", "months", "expected"),
    [
        (D(2025, 12, 31), 12, D(2026, 12, 31)),
        (D(2025, 2, 28), 1, D(2025, 3, 31)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2026, 8, 31), 12, D(2027, 8, 31)),
    ],
)
def test_next_term_end(end, months, expected):
    assert next_term_end(end, months) == expected


def terms(**overrides):
    values = dict(
        id=1,
        title="Ateliers seniors",
        state=CS.SIGNEE,
        start=D(2025, 1, 1),
        end=D(2025, 12, 31),
    )
    values.update(overrides)
    return ConventionTerms(**values)


def test_term_months_defaults_to_the_initial_term():
    assert terms().term_months == 12
    assert terms(start=D(2025, 9, 1), end=D(2026, 2, 28)).term_months == 6
    assert terms(end=D(2025, 12, 20)).term_months == 12
    assert terms(renewal_months=24).term_months == 24
    with pytest.raises(LifecycleError, match="précède"):
        terms(end=D(2024, 1, 1))
    with pytest.raises(LifecycleError, match="positive"):
        terms(renewal_months=0)


def test_effective_state_follows_the_dates():
    t = terms()
    assert effective_state(t, D(2024, 12, 31)) == CS.SIGNEE
    assert effective_state(t, D(2025, 1, 1)) == CS.EN_VIGUEUR and is_in_force(t, D(2025, 12, 31))
    assert effective_state(t, D(2026, 1, 1)) == CS.EXPIREE and not is_in_force(t, D(2026, 1, 1))
    assert effective_state(terms(state=CS.BROUILLON), D(2025, 6, 1)) == CS.BROUILLON
    assert effective_state(terms(terminated_on=D(2025, 6, 1)), D(2025, 6, 1)) == CS.RESILIEE
    assert effective_state(terms(terminated_on=D(2025, 6, 1)), D(2025, 5, 31)) == CS.EN_VIGUEUR
    assert effective_state(terms(end=None), D(2040, 1, 1)) == CS.EN_VIGUEUR


def test_tacit_renewal():
    t = terms(tacit_renewal=True, max_renewals=2)
    assert current_term(t, D(2025, 6, 1)) == (D(2025, 12, 31), 0)
    assert current_term(t, D(2026, 1, 1)) == (D(2026, 12, 31), 1)
    assert current_term(t, D(2027, 3, 1)) == (D(2027, 12, 31), 2)
    assert effective_state(t, D(2027, 12, 31)) == CS.EN_VIGUEUR
    assert effective_state(t, D(2028, 1, 1)) == CS.EXPIREE  # two renewals at most


def test_denunciation_stops_the_renewal_if_on_time():
    on_time = terms(tacit_renewal=True, notice_months=2, denounced_on=D(2025, 10, 31))
    assert denunciation_deadline(terms(tacit_renewal=True, notice_months=2), D(2025, 6, 1)) == D(2025, 10, 31)
    assert effective_state(on_time, D(2026, 1, 1)) == CS.EXPIREE
    late = terms(tacit_renewal=True, notice_months=2, denounced_on=D(2025, 11, 1))
    assert current_term(late, D(2026, 6, 1)) == (D(2026, 12, 31), 1)
    assert effective_state(late, D(2027, 1, 1)) == CS.EXPIREE


def test_expiry_alerts_on_a_given_date():
    conventions = [
        terms(id=1, title="Sans reconduction", alert_days=30),
        terms(id=2, title="Reconduite", tacit_renewal=True, notice_months=2, alert_days=30),
        terms(id=3, title="Lointaine", end=D(2026, 12, 31), alert_days=30),
        terms(id=4, title="Brouillon", state=CS.BROUILLON, alert_days=365),
    ]
    assert expiry_alerts(conventions, D(2025, 9, 30)) == []
    # The renewed one alerts 30 days before its denunciation deadline (31 October).
    alerts = expiry_alerts(conventions, D(2025, 10, 1))
    assert [a.convention_id for a in alerts] == [2]
    assert alerts[0].message == (
        "La convention « Reconduite » arrive à échéance le 31/12/2025 (dans 91 jours). Elle sera reconduite "
        "tacitement jusqu'au 31/12/2026, sauf dénonciation au plus tard le 31/10/2025."
    )
    alerts = expiry_alerts(conventions, D(2025, 12, 6))
    # Same urgency: sorted by title.
    assert [a.convention_id for a in alerts] == [2, 1]
    assert alerts[1].days_left == 25 and not alerts[1].renews
    assert "(dans 25 jours). Elle ne sera pas reconduite" in alerts[1].message
    assert "délai de dénonciation est passé" in alerts[0].message
    assert "(aujourd'hui)" in expiry_alerts(conventions, D(2025, 12, 31))[0].message
    assert [a.convention_id for a in expiry_alerts(conventions, D(2026, 1, 1))] == []


def test_avenants_keep_the_link_to_the_original():
    original = terms(id="C1")
    first = terms(id="A1", title="Avenant 1", state=CS.EN_VIGUEUR, amends="C1")
    second = terms(id="A2", title="Avenant 2", state=CS.BROUILLON, amends="A1")
    all_ = [original, first, second]
    assert original_of(all_, "A2") == original
    assert avenants_of(all_, "C1") == [first, second]
    assert check_new_avenant(all_, "A1", D(2025, 6, 1)) == 3
    with pytest.raises(LifecycleError, match="expirée"):
        check_new_avenant(all_, "C1", D(2026, 6, 1))
    with pytest.raises(LifecycleError, match="introuvable"):
        original_of([terms(id="A", amends="ghost")], "A")
    with pytest.raises(LifecycleError, match="boucle"):
        original_of([terms(id="A", amends="B"), terms(id="B", amends="A")], "A")


@given(st.dates(D(2000, 1, 1), D(2090, 1, 1)), st.integers(1, 60), st.dates(D(2000, 1, 1), D(2100, 1, 1)))
def test_renewed_terms_always_cover_the_day(end, months, on):
    t = terms(start=D(1999, 1, 1), end=end, tacit_renewal=True, renewal_months=months)
    term_end, renewals = current_term(t, on)
    assert term_end >= on or renewals == 0 and term_end == end
    if renewals:
        assert on > t.end
    assert effective_state(t, on) in (CS.EN_VIGUEUR, CS.SIGNEE)
