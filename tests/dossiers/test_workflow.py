import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.dossiers.workflow import (
    TRANSITIONS,
    CorrectionConflict,
    CorrectionReason,
    DossierAction,
    DossierState,
    Effect,
    MissingFields,
    RoleNotAllowed,
    TransitionNotAllowed,
    UnknownValueError,
    WorkflowError,
    available_actions,
    check_transition,
    transition_for,
)
from ancrage.organisations.permissions import Role

S, A, R = DossierState, DossierAction, Role
EPN = {R.ANIMATEUR, R.RESPONSABLE}
REF = {R.REFERENT}

# The workflow's specification, written independently of the module's table:
# (state, action) -> (roles allowed, new state).
SPEC = {
    (S.BROUILLON, A.DEPOSER): (EPN, S.EN_CONSTRUCTION),
    (S.EN_CONSTRUCTION, A.PASSER_EN_INSTRUCTION): (REF, S.EN_INSTRUCTION),
    (S.EN_CONSTRUCTION, A.DEMANDER_CORRECTION): (REF, S.EN_CONSTRUCTION),
    (S.EN_INSTRUCTION, A.DEMANDER_CORRECTION): (REF, S.EN_CONSTRUCTION),
    (S.EN_CONSTRUCTION, A.REDEPOSER): (EPN, S.EN_CONSTRUCTION),
    (S.EN_INSTRUCTION, A.ACCEPTER): (REF, S.ACCEPTE),
    (S.EN_INSTRUCTION, A.REFUSER): (REF, S.REFUSE),
    (S.EN_INSTRUCTION, A.CLASSER_SANS_SUITE): (REF, S.SANS_SUITE),
    (S.ACCEPTE, A.ROUVRIR): (REF, S.EN_INSTRUCTION),
    (S.REFUSE, A.ROUVRIR): (REF, S.EN_INSTRUCTION),
    (S.SANS_SUITE, A.ROUVRIR): (REF, S.EN_INSTRUCTION),
}

FULL_FIELDS = {
    "motivation": "Projet conforme aux priorités.",
    "correction_reason": "incomplet",
    "message": "Ajoutez le budget.",
}


def correction_open_for(action):
    # The only setting of the guard under which the declared transition is allowed.
    return action == A.REDEPOSER


ALL_CASES = list(itertools.product(S, A, R))


def test_table_matches_the_spec():
    declared = {(t.source, t.action): (set(t.roles), t.target) for t in TRANSITIONS}
    assert declared == SPEC


@pytest.mark.parametrize(("state", "action", "role"), ALL_CASES, ids=lambda v: str(v))
def test_every_state_action_role(state, action, role):
    expected = SPEC.get((state, action))
    correction_open = correction_open_for(action)
    if expected is None:
        with pytest.raises(TransitionNotAllowed) as error:
            check_transition(state, action, role, fields=FULL_FIELDS, correction_open=correction_open)
        assert state.label.lower() in error.value.message
    elif role not in expected[0]:
        with pytest.raises(RoleNotAllowed) as error:
            check_transition(state, action, role, fields=FULL_FIELDS, correction_open=correction_open)
        assert "votre rôle" in error.value.message
    else:
        assert (
            check_transition(state, action, role, fields=FULL_FIELDS, correction_open=correction_open)
            == expected[1]
        )


def test_declared_states_are_the_six_of_demarches_simplifiees():
    assert [s.value for s in S] == [
        "brouillon",
        "en_construction",
        "en_instruction",
        "accepte",
        "refuse",
        "sans_suite",
    ]


@pytest.mark.parametrize("action", [A.ACCEPTER, A.REFUSER, A.CLASSER_SANS_SUITE])
@pytest.mark.parametrize("motivation", [None, "", "   "])
def test_a_decision_needs_a_motivation(action, motivation):
    with pytest.raises(MissingFields) as error:
        check_transition(S.EN_INSTRUCTION, action, R.REFERENT, fields={"motivation": motivation})
    assert error.value.fields == ("motivation",)
    assert "la motivation" in error.value.message


def test_reopening_needs_a_motivation():
    with pytest.raises(MissingFields):
        check_transition(S.REFUSE, A.ROUVRIR, R.REFERENT)
    assert (
        check_transition(S.REFUSE, A.ROUVRIR, R.REFERENT, fields={"motivation": "Erreur"}) == S.EN_INSTRUCTION
    )


def test_correction_request_needs_reason_and_message():
    with pytest.raises(MissingFields) as error:
        check_transition(S.EN_INSTRUCTION, A.DEMANDER_CORRECTION, R.REFERENT, fields={"message": "x"})
    assert error.value.fields == ("correction_reason",)
    with pytest.raises(MissingFields) as error:
        check_transition(S.EN_INSTRUCTION, A.DEMANDER_CORRECTION, R.REFERENT)
    assert error.value.fields == ("correction_reason", "message")
    with pytest.raises(UnknownValueError):
        check_transition(
            S.EN_INSTRUCTION,
            A.DEMANDER_CORRECTION,
            R.REFERENT,
            fields={"correction_reason": "mauvais", "message": "x"},
        )


@pytest.mark.parametrize("reason", list(CorrectionReason))
def test_each_correction_reason_is_accepted(reason):
    fields = {"correction_reason": reason, "message": "Merci de corriger."}
    assert (
        check_transition(S.EN_INSTRUCTION, A.DEMANDER_CORRECTION, R.REFERENT, fields=fields)
        == S.EN_CONSTRUCTION
    )
    assert reason.label


def test_correction_guards():
    fields = {"correction_reason": "incorrect", "message": "x"}
    with pytest.raises(CorrectionConflict):
        check_transition(S.EN_CONSTRUCTION, A.REDEPOSER, R.ANIMATEUR, correction_open=False)
    with pytest.raises(CorrectionConflict):
        check_transition(
            S.EN_CONSTRUCTION, A.DEMANDER_CORRECTION, R.REFERENT, fields=fields, correction_open=True
        )
    with pytest.raises(CorrectionConflict):
        check_transition(S.EN_CONSTRUCTION, A.PASSER_EN_INSTRUCTION, R.REFERENT, correction_open=True)
    assert (
        check_transition(S.EN_CONSTRUCTION, A.REDEPOSER, R.RESPONSABLE, correction_open=True)
        == S.EN_CONSTRUCTION
    )


def test_effects_tell_the_service_what_to_do_with_the_correction():
    assert transition_for(S.EN_INSTRUCTION, A.DEMANDER_CORRECTION).effect == Effect.OUVRIR_CORRECTION
    assert transition_for(S.EN_CONSTRUCTION, A.REDEPOSER).effect == Effect.RESOUDRE_CORRECTION
    assert transition_for(S.EN_INSTRUCTION, A.ACCEPTER).effect is None
    assert transition_for(S.BROUILLON, A.ACCEPTER) is None


def test_unknown_values_get_a_french_message():
    with pytest.raises(UnknownValueError, match="Rôle inconnu : « stagiaire »"):
        check_transition(S.BROUILLON, A.DEPOSER, "stagiaire")
    with pytest.raises(UnknownValueError, match="État de dossier inconnu"):
        check_transition("archive", A.DEPOSER, R.ANIMATEUR)
    with pytest.raises(UnknownValueError, match="Action inconnue : « supprimer »"):
        check_transition(S.BROUILLON, "supprimer", R.ANIMATEUR)


def test_messages_read_well():
    with pytest.raises(TransitionNotAllowed) as error:
        check_transition(S.BROUILLON, A.ACCEPTER, R.REFERENT, fields=FULL_FIELDS)
    assert error.value.message == (
        "Impossible d'accepter le dossier : le dossier est « brouillon ». "
        "Cette action n'est possible que pour un dossier « en instruction »."
    )
    with pytest.raises(RoleNotAllowed) as error:
        check_transition(S.EN_INSTRUCTION, A.ACCEPTER, R.ANIMATEUR, fields=FULL_FIELDS)
    assert error.value.message == (
        "Accepter le dossier revient au référent de la collectivité (votre rôle : animateur de l'EPN)."
    )


def test_demo_scenario_of_issue_6():
    state = check_transition(S.BROUILLON, A.DEPOSER, R.ANIMATEUR)
    state = check_transition(state, A.PASSER_EN_INSTRUCTION, R.REFERENT)
    state = check_transition(
        state,
        A.DEMANDER_CORRECTION,
        R.REFERENT,
        fields={"correction_reason": "incomplet", "message": "Budget ?"},
    )
    assert state == S.EN_CONSTRUCTION
    state = check_transition(state, A.REDEPOSER, R.ANIMATEUR, correction_open=True)
    state = check_transition(state, A.PASSER_EN_INSTRUCTION, R.REFERENT)
    state = check_transition(state, A.ACCEPTER, R.REFERENT, fields={"motivation": "Conforme."})
    assert state == S.ACCEPTE


def test_available_actions():
    assert available_actions(S.BROUILLON, R.ANIMATEUR) == [A.DEPOSER]
    assert available_actions(S.BROUILLON, R.REFERENT) == []
    assert available_actions(S.EN_CONSTRUCTION, R.REFERENT) == [
        A.PASSER_EN_INSTRUCTION,
        A.DEMANDER_CORRECTION,
    ]
    assert available_actions(S.EN_CONSTRUCTION, R.REFERENT, correction_open=True) == []
    assert available_actions(S.EN_CONSTRUCTION, R.ANIMATEUR) == []
    assert available_actions(S.EN_CONSTRUCTION, R.ANIMATEUR, correction_open=True) == [A.REDEPOSER]
    assert available_actions(S.ACCEPTE, R.REFERENT) == [A.ROUVRIR]


@given(st.lists(st.tuples(st.sampled_from(list(A)), st.sampled_from(list(R)), st.booleans()), max_size=40))
def test_random_sequences_stay_in_declared_states(steps):
    state, correction_open = S.BROUILLON, False
    for action, role, with_fields in steps:
        try:
            new_state = check_transition(
                state,
                action,
                role,
                fields=FULL_FIELDS if with_fields else {},
                correction_open=correction_open,
            )
        except WorkflowError as error:
            assert error.message and isinstance(error.message, str)
            continue
        assert new_state in set(S)
        assert (state, action) in SPEC and role in SPEC[(state, action)][0]
        effect = transition_for(state, action).effect
        if effect == Effect.OUVRIR_CORRECTION:
            correction_open = True
        elif effect == Effect.RESOUDRE_CORRECTION:
            correction_open = False
        state = new_state
        # A decided dossier never carries an open correction.
        assert not (state in {S.ACCEPTE, S.REFUSE, S.SANS_SUITE} and correction_open)
