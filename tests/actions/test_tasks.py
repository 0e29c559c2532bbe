import pytest

from ancrage.actions.tasks import (
    TASK_CHOICES,
    Assignment,
    Party,
    PartyKind,
    Task,
    TaskMatrix,
    WarningKind,
    check_matrix,
)

EPN = Party("epn", "EPN de Villejean", PartyKind.EPN)
ML = Party(
    "ml", "Mission locale", PartyKind.PARTENAIRE, competences=frozenset({Task.MOBILISATION, Task.ANIMATION})
)
VILLE = Party("ville", "Ville de Rennes", PartyKind.COLLECTIVITE)
PARTIES = (EPN, ML, VILLE)


def assign(accountable, *contributors):
    return Assignment(accountable, frozenset(contributors))


# A division of tasks that follows the seed: the EPN steers with its partner and the collectivité,
# each does what it knows, nothing is left without an owner.
GOOD = {
    Task.PILOTAGE: assign("epn", "ml", "ville"),
    Task.SUIVI: assign("epn", "ml"),
    Task.COMMUNICATION: assign("ville", "epn"),
    Task.EVALUATION: assign("epn", "ml"),
    Task.MOBILISATION: assign("ml", "epn"),
    Task.ANIMATION: assign("epn", "ml"),
    Task.LOGISTIQUE: assign("epn"),
    Task.FINANCEMENT: assign("ville"),
}


def matrix(**changes):
    assignments = dict(GOOD)
    for name, value in changes.items():
        if value is None:
            assignments.pop(Task(name))
        else:
            assignments[Task(name)] = value
    return TaskMatrix(PARTIES, assignments)


def test_the_eight_tasks_with_french_labels():
    assert [label for _value, label in TASK_CHOICES] == [
        "Pilotage et gestion du projet",
        "Suivi",
        "Communication",
        "Évaluation",
        "Mobilisation des publics",
        "Animation",
        "Logistique",
        "Financement",
    ]


def test_a_good_division_has_no_warning():
    assert check_matrix(matrix()) == []


class TestSubstitution:
    def test_triggered_when_the_epn_does_alone_what_a_partner_knows(self):
        (warning,) = check_matrix(matrix(mobilisation=assign("epn")))
        assert warning.kind == WarningKind.SUBSTITUTION
        assert warning.task == Task.MOBILISATION
        assert warning.partner_id == "ml"
        assert warning.message == (
            "L'EPN assure seul la tâche « Mobilisation des publics », alors que Mission locale en a la "
            "compétence : l'EPN se substitue à son partenaire. Associez Mission locale à cette tâche, "
            "ou confiez-la-lui."
        )

    def test_not_triggered_when_the_partner_takes_part(self):
        assert check_matrix(matrix(mobilisation=assign("epn", "ml"))) == []

    def test_not_triggered_when_no_partner_has_the_competence(self):
        # The EPN does the logistics alone in GOOD: no partner claims it.
        assert GOOD[Task.LOGISTIQUE] == assign("epn")
        assert check_matrix(matrix()) == []

    def test_one_warning_per_competent_partner(self):
        other = Party(
            "asso", "Association Lire", PartyKind.PARTENAIRE, competences=frozenset({Task.ANIMATION})
        )
        warnings = check_matrix(TaskMatrix((*PARTIES, other), {**GOOD, Task.ANIMATION: assign("epn")}))
        assert [(w.kind, w.task, w.partner_name) for w in warnings] == [
            (WarningKind.SUBSTITUTION, Task.ANIMATION, "Mission locale"),
            (WarningKind.SUBSTITUTION, Task.ANIMATION, "Association Lire"),
        ]


class TestPrestataire:
    def test_triggered_when_the_epn_executes_without_steering(self):
        (warning,) = check_matrix(matrix(pilotage=assign("ml", "ville")))
        assert warning.kind == WarningKind.PRESTATAIRE
        assert warning.task == Task.PILOTAGE
        assert warning.partner_id == "ml"
        assert warning.partner_name == "Mission locale"
        assert warning.message.startswith(
            "L'EPN exécute (« Communication », « Mobilisation des publics », « Animation », « Logistique ») "
            "mais ne prend aucune part à la tâche « Pilotage et gestion du projet », "
            "tenue par Mission locale : il agit en prestataire."
        )

    def test_names_the_collectivite_when_it_steers_alone(self):
        (warning,) = check_matrix(matrix(pilotage=assign("ville")))
        assert warning.kind == WarningKind.PRESTATAIRE
        assert warning.partner_name == "Ville de Rennes"

    def test_not_triggered_when_the_epn_contributes_to_the_pilotage(self):
        assert check_matrix(matrix(pilotage=assign("ml", "epn"))) == []

    def test_not_triggered_when_the_epn_executes_nothing(self):
        only_partner = {task: assign("ml") for task in Task}
        assert check_matrix(TaskMatrix(PARTIES, only_partner)) == []


class TestSansResponsable:
    def test_triggered_for_a_missing_task(self):
        (warning,) = check_matrix(matrix(financement=None))
        assert warning.kind == WarningKind.SANS_RESPONSABLE
        assert warning.task == Task.FINANCEMENT
        assert warning.message == (
            "Personne n'est responsable de la tâche « Financement ». Désignez une partie qui en répond."
        )

    def test_names_those_who_help_without_answering_for_it(self):
        (warning,) = check_matrix(matrix(evaluation=Assignment(None, frozenset({"ml", "epn"}))))
        assert "(EPN de Villejean, Mission locale y contribuent sans en répondre)" in warning.message

    def test_not_triggered_when_every_task_has_an_owner(self):
        assert not [w for w in check_matrix(matrix()) if w.kind == WarningKind.SANS_RESPONSABLE]

    def test_an_empty_matrix_lists_every_task(self):
        warnings = check_matrix(TaskMatrix(PARTIES))
        assert [w.task for w in warnings] == list(Task)


def test_several_rules_at_once_in_task_order():
    warnings = check_matrix(matrix(pilotage=assign("ville"), mobilisation=assign("epn"), financement=None))
    assert [(w.kind, w.task) for w in warnings] == [
        (WarningKind.SUBSTITUTION, Task.MOBILISATION),
        (WarningKind.SANS_RESPONSABLE, Task.FINANCEMENT),
        (WarningKind.PRESTATAIRE, Task.PILOTAGE),
    ]


def test_unknown_party_is_refused_in_french():
    with pytest.raises(ValueError, match="« Animation » est confiée à une partie absente de l'action"):
        TaskMatrix(PARTIES, {Task.ANIMATION: assign("inconnu")})


def test_same_party_twice_is_refused():
    with pytest.raises(ValueError, match="deux fois"):
        TaskMatrix((EPN, EPN))


def test_rows_for_display():
    rows = dict(matrix().rows())
    assert rows[Task.PILOTAGE] == {"epn": "responsable", "ml": "contributeur", "ville": "contributeur"}
    assert rows[Task.LOGISTIQUE] == {"epn": "responsable", "ml": "", "ville": ""}
