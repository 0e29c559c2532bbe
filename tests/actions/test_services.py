"""Fiches action through their services: the state machine, the diagnostic target, partners,
the task matrix, meetings and comments, and who may write what."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError

from ancrage.actions import selectors, services
from ancrage.actions.enums import Statut
from ancrage.actions.models import Action, Affectation, ChangementStatut, Commentaire, Decision, Reunion
from ancrage.actions.tasks import WarningKind
from ancrage.audit.models import AuditEntry
from ancrage.diagnostic.models import Diagnostic
from ancrage.organisations.enums import Role
from tests.organisations.factories import MembershipFactory
from tests.partenaires.factories import epn_with_animateur, epn_with_two_partners, partenaire

pytestmark = pytest.mark.django_db

CIBLE = {
    "rang": 1,
    "dimension": "age",
    "categorie": "60-74",
    "secteur": "352381102",
    "priorites": ["seniors"],
    "score": 42.0,
    "explication": "Environ 140 usagers de plus parmi les personnes de 60 à 74 ans…",
    "thematique": {
        "famille": "seniors et autonomie",
        "services": [
            {"cle": "AideAuxDemarchesAdministratives", "libelle": "Aide aux démarches administratives"}
        ],
    },
}


@pytest.fixture
def world(db):
    return epn_with_two_partners()


def _action(epn, animateur, **fields):
    return services.action_create(acting_user=animateur, epn=epn, titre="Ateliers", **fields)


def test_the_status_follows_its_state_machine_with_a_history(world):
    epn, animateur, *_ = world
    action = _action(epn, animateur)
    assert action.statut == Statut.IDEE
    for vers in ("en_construction", "validee", "en_cours", "terminee", "evaluee"):
        action = services.action_transition(acting_user=animateur, action=action, vers=vers)
    assert action.statut == Statut.EVALUEE
    assert list(ChangementStatut.objects.filter(action=action).values_list("vers", flat=True)) == [
        "en_construction",
        "validee",
        "en_cours",
        "terminee",
        "evaluee",
    ]
    assert AuditEntry.objects.filter(object_id=str(action.pk), action="transition").count() == 5


@pytest.mark.parametrize(
    ("path", "refused"), [((), "validee"), ((), "evaluee"), (("en_construction",), "en_cours")]
)
def test_a_transition_outside_the_state_machine_is_refused_in_french(world, path, refused):
    epn, animateur, *_ = world
    action = _action(epn, animateur)
    for vers in path:
        action = services.action_transition(acting_user=animateur, action=action, vers=vers)
    before = action.statut
    with pytest.raises(ValidationError, match="ne peut pas passer"):
        services.action_transition(acting_user=animateur, action=action, vers=refused)
    action.refresh_from_db()
    assert action.statut == before


def test_going_back_while_nothing_started_is_allowed(world):
    epn, animateur, *_ = world
    action = _action(epn, animateur)
    action = services.action_transition(acting_user=animateur, action=action, vers="en_construction")
    action = services.action_transition(acting_user=animateur, action=action, vers="idee")
    assert action.statut == "idee"


def test_an_action_from_a_target_keeps_a_frozen_copy_of_it(world):
    epn, animateur, *_ = world
    diagnostic = Diagnostic.objects.create(
        structure=epn,
        titre="Diagnostic 2026",
        resultat={"cibles": [CIBLE], "secteurs": [{"code": "352381102", "nom": "Le Blosne Est"}]},
    )
    fields = services.prefill_from_cible(diagnostic, 1)
    titre = fields.pop("titre")
    action = services.action_create(acting_user=animateur, epn=epn, titre=titre, **fields)
    assert action.publics == ["age:60-74"]
    assert action.secteurs == ["352381102"] and action.secteurs_labels == ["Le Blosne Est"]
    assert action.thematique == "seniors et autonomie"
    assert action.services == ["Aide aux démarches administratives"]
    diagnostic.resultat = {"cibles": []}
    diagnostic.save()
    action.refresh_from_db()
    assert action.cible == CIBLE and action.cible_rang == 1
    with pytest.raises(ValidationError):
        services.prefill_from_cible(diagnostic, 1)


def test_only_the_epn_staff_writes_an_action(world):
    epn, animateur, ml, _ = world
    other_epn, other_animateur = epn_with_animateur(reseau=epn.reseau)
    action = _action(epn, animateur)
    partner_user = MembershipFactory(structure=ml.structure, role=Role.PARTENAIRE).user
    services.action_partenaire_add(acting_user=animateur, action=action, partenaire=ml.structure)
    for user in (other_animateur, partner_user):
        with pytest.raises(PermissionDenied):
            services.action_transition(acting_user=user, action=action, vers="en_construction")
        with pytest.raises(PermissionDenied):
            services.action_update(acting_user=user, action=action, titre="Pris")
    # A partner party to the action comments; another EPN's staff cannot even see it.
    services.commentaire_add(acting_user=partner_user, action=action, texte="D'accord pour mardi.")
    with pytest.raises(PermissionDenied):
        services.commentaire_add(acting_user=other_animateur, action=action, texte="?")
    assert Commentaire.objects.count() == 1


def test_a_partner_from_another_directory_cannot_join(world):
    epn, animateur, *_ = world
    other_epn, _ = epn_with_animateur(reseau=epn.reseau)
    foreign = partenaire(other_epn, "Ailleurs")
    action = _action(epn, animateur)
    with pytest.raises(ValidationError, match="annuaire"):
        services.action_partenaire_add(acting_user=animateur, action=action, partenaire=foreign.structure)


def test_task_matrix_warnings_and_one_accountable_per_task(world):
    epn, animateur, ml, cs = world
    action = _action(epn, animateur)
    services.action_partenaire_add(acting_user=animateur, action=action, partenaire=ml.structure)
    services.matrice_update(
        acting_user=animateur,
        action=action,
        rows={"mobilisation": ("epn", []), "pilotage": ("epn", [f"partenaire-{ml.structure_id}"])},
    )
    kinds = {(w.kind, w.task.value) for w in selectors.matrix_warnings(action)}
    assert (WarningKind.SUBSTITUTION, "mobilisation") in kinds
    assert (WarningKind.SANS_RESPONSABLE, "financement") in kinds
    # Giving the task to the Mission locale lifts the substitution warning.
    services.matrice_update(
        acting_user=animateur,
        action=action,
        rows={"mobilisation": (f"partenaire-{ml.structure_id}", ["epn"])},
    )
    kinds = {(w.kind, w.task.value) for w in selectors.matrix_warnings(action)}
    assert (WarningKind.SUBSTITUTION, "mobilisation") not in kinds
    # A party that is not in the action is refused.
    with pytest.raises(ValidationError):
        services.matrice_update(
            acting_user=animateur, action=action, rows={"suivi": (f"partenaire-{cs.structure_id}", [])}
        )
    with pytest.raises(IntegrityError):
        Affectation.objects.create(action=action, tache="mobilisation", partie_type="epn", role="responsable")


def test_prestataire_warning_when_the_epn_only_executes(world):
    epn, animateur, ml, _ = world
    action = _action(epn, animateur)
    services.action_partenaire_add(acting_user=animateur, action=action, partenaire=ml.structure)
    ml_key = f"partenaire-{ml.structure_id}"
    services.matrice_update(
        acting_user=animateur, action=action, rows={"pilotage": (ml_key, []), "animation": ("epn", [])}
    )
    assert WarningKind.PRESTATAIRE in {w.kind for w in selectors.matrix_warnings(action)}


def test_a_meeting_decision_assigns_a_task(world):
    from datetime import datetime, timedelta

    from django.utils import timezone

    epn, animateur, ml, _ = world
    action = _action(epn, animateur)
    services.action_partenaire_add(acting_user=animateur, action=action, partenaire=ml.structure)
    start = timezone.make_aware(datetime(2026, 10, 1, 10))
    reunion = services.reunion_create(
        acting_user=animateur, action=action, titre="Lancement", debut=start, fin=start + timedelta(hours=1)
    )
    services.matrice_update(acting_user=animateur, action=action, rows={"mobilisation": ("epn", [])})
    key = f"partenaire-{ml.structure_id}"
    services.decision_add(
        acting_user=animateur, reunion=reunion, texte="La ML mobilise", tache="mobilisation", partie=key
    )
    cells = {(a.party_key, a.role) for a in action.affectations.filter(tache="mobilisation")}
    assert cells == {(key, "responsable"), ("epn", "contributeur")}
    assert Decision.objects.get().partenaire_id == ml.structure_id
    with pytest.raises(ValidationError):
        services.reunion_create(acting_user=animateur, action=action, titre="x", debut=start, fin=start)


def test_partner_sees_only_what_involves_its_organisation(world):
    from datetime import datetime, timedelta

    from django.utils import timezone

    epn, animateur, ml, cs = world
    with_ml = _action(epn, animateur)
    without_ml = _action(epn, animateur)
    services.action_partenaire_add(acting_user=animateur, action=with_ml, partenaire=ml.structure)
    services.action_partenaire_add(acting_user=animateur, action=without_ml, partenaire=cs.structure)
    start = timezone.make_aware(datetime(2026, 10, 1, 10))
    for action in (with_ml, without_ml):
        services.reunion_create(
            acting_user=animateur, action=action, titre="R", debut=start, fin=start + timedelta(hours=1)
        )
        services.matrice_update(acting_user=animateur, action=action, rows={"suivi": ("epn", [])})
    user = MembershipFactory(structure=ml.structure, role=Role.PARTENAIRE).user
    assert list(Action.objects.visible_to(user)) == [with_ml]
    assert set(Reunion.objects.visible_to(user).values_list("action", flat=True)) == {with_ml.pk}
    assert set(Affectation.objects.visible_to(user).values_list("action", flat=True)) == {with_ml.pk}
    from ancrage.partenaires.models import Partenaire

    assert not Partenaire.objects.visible_to(user).exists()
