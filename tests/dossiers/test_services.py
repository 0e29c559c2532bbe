"""The examination through the services: every (state, action, role) allowed or refused as the
workflow's table says, the side effects (corrections, messages, e-mails), who sees what."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from ancrage.dossiers import selectors, services
from ancrage.dossiers.models import Annotation, Correction, Dossier, Message, PieceJointe, Traitement
from ancrage.dossiers.workflow import (
    DossierAction,
    DossierState,
    WorkflowError,
    check_transition,
)
from tests.dossiers.conftest import build_world, new_dossier

FIELDS = {"motivation": "Parce que.", "correction_reason": "incomplet", "message": "Merci de compléter."}


def _put_in_state(dossier, state, *, correction_open):
    # Test set-up only: the state is written directly, the services are what is under test.
    Dossier.objects.filter(pk=dossier.pk).update(etat=state)
    if correction_open:
        Correction.objects.create(dossier=dossier, motif="incomplet", message="À compléter")
    dossier.refresh_from_db()


CASES = [
    (state, action, role, correction_open)
    for state in DossierState
    for action in DossierAction
    for role in ("animateur", "referent")
    for correction_open in (
        (False, True) if state in (DossierState.EN_CONSTRUCTION, DossierState.EN_INSTRUCTION) else (False,)
    )
]


@pytest.mark.parametrize("state,action,role,correction_open", CASES)
def test_every_transition_is_allowed_or_refused_as_the_table_says(
    world, state, action, role, correction_open, mailoutbox
):
    dossier = world.dossier
    _put_in_state(dossier, state, correction_open=correction_open)
    user = getattr(world, role)
    try:
        expected = check_transition(state, action, role, fields=FIELDS, correction_open=correction_open)
    except WorkflowError as error:
        expected, expected_error = None, error
    before = Traitement.objects.filter(dossier=dossier).count()

    if expected is None:
        with pytest.raises(WorkflowError) as raised:
            services.dossier_transition(acting_user=user, dossier=dossier, action=action, **FIELDS)
        assert raised.value.message == expected_error.message
        dossier.refresh_from_db()
        assert dossier.etat == state
        assert Traitement.objects.filter(dossier=dossier).count() == before
    else:
        result = services.dossier_transition(acting_user=user, dossier=dossier, action=action, **FIELDS)
        assert result.etat == expected
        last = Traitement.objects.filter(dossier=dossier).order_by("-sequence").first()
        assert (last.sequence, last.operation, last.etat_avant, last.etat_apres) == (
            before + 1,
            action,
            state,
            expected,
        )
        assert last.acteur == user and last.role == role


def test_a_decision_needs_a_motivation(world):
    _put_in_state(world.dossier, DossierState.EN_INSTRUCTION, correction_open=False)
    with pytest.raises(WorkflowError, match="motivation"):
        services.dossier_transition(
            acting_user=world.referent, dossier=world.dossier, action="accepter", motivation="  "
        )


def test_an_unbalanced_budget_cannot_be_deposited(world):
    services.dossier_set_budget(
        acting_user=world.animateur,
        dossier=world.dossier,
        charges=[{"categorie": "64", "libelle": "Animation", "montant": "1000"}],
        ressources=[
            {"categorie": "74", "libelle": "Subvention", "montant": "900", "contributeur": "Métropole"}
        ],
    )
    with pytest.raises(ValidationError) as raised:
        services.dossier_transition(acting_user=world.animateur, dossier=world.dossier, action="deposer")
    assert any("dépassent les ressources" in m for m in raised.value.messages)
    world.dossier.refresh_from_db()
    assert world.dossier.etat == "brouillon"


def test_correction_is_opened_then_resolved_on_resubmission(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    d = world.dossier
    with django_capture_on_commit_callbacks(execute=True):
        d = services.dossier_transition(acting_user=world.animateur, dossier=d, action="deposer")
    assert [m.to for m in mailoutbox] == [sorted([world.referent.email, world.referent2.email])]
    assert "Nouveau dossier déposé" in mailoutbox[0].subject

    with django_capture_on_commit_callbacks(execute=True):
        d = services.dossier_transition(
            acting_user=world.referent,
            dossier=d,
            action="demander_correction",
            correction_reason="incorrect",
            message="Le montant de la subvention est erroné.",
        )
    correction = d.open_correction()
    assert correction.motif == "incorrect" and d.etat == "en_construction"
    assert Message.objects.get(dossier=d).cote == "collectivite"
    assert mailoutbox[-1].to == [world.animateur.email]
    assert "Le montant de la subvention est erroné." in mailoutbox[-1].body

    with django_capture_on_commit_callbacks(execute=True):
        d = services.dossier_transition(
            acting_user=world.animateur, dossier=d, action="redeposer", message="Corrigé."
        )
    correction.refresh_from_db()
    assert correction.resolue_le is not None and correction.resolue_par == world.animateur
    assert d.open_correction() is None
    assert "corrigé et redéposé" in mailoutbox[-1].subject

    d = services.dossier_transition(acting_user=world.referent, dossier=d, action="passer_en_instruction")
    with django_capture_on_commit_callbacks(execute=True):
        d = services.dossier_transition(
            acting_user=world.referent, dossier=d, action="refuser", motivation="Hors priorités."
        )
    assert d.etat == "refuse" and d.motivation == "Hors priorités." and d.decide_le
    assert "Décision" in mailoutbox[-1].subject and "Hors priorités." in mailoutbox[-1].body
    d = services.dossier_transition(
        acting_user=world.referent, dossier=d, action="rouvrir", motivation="Erreur"
    )
    assert d.etat == "en_instruction" and d.decide_le is None
    assert list(d.traitements.values_list("operation", flat=True)) == [
        "creer",
        "deposer",
        "demander_correction",
        "redeposer",
        "passer_en_instruction",
        "refuser",
        "rouvrir",
    ]


def test_an_action_on_a_dossier_that_changed_meanwhile_is_refused_in_french(world):
    _put_in_state(world.dossier, DossierState.EN_INSTRUCTION, correction_open=False)
    services.dossier_transition(
        acting_user=world.referent, dossier=world.dossier, action="accepter", motivation="Oui."
    )
    with pytest.raises(services.DossierChanged, match="a changé pendant que vous le consultiez"):
        services.dossier_transition(
            acting_user=world.referent2,
            dossier=world.dossier,
            action="refuser",
            motivation="Non.",
            expected_state="en_instruction",
        )


def test_people_outside_the_dossier_cannot_act(world):
    for user in (world.vitre_animateur, world.vitre_referent, world.partenaire, world.elu):
        with pytest.raises(WorkflowError):
            services.dossier_transition(acting_user=user, dossier=world.dossier, action="deposer")
    with pytest.raises(PermissionDenied):
        services.dossier_update(acting_user=world.referent, dossier=world.dossier, titre="Autre")


def test_the_epn_edits_only_while_the_dossier_is_not_examined(world):
    _put_in_state(world.dossier, DossierState.EN_INSTRUCTION, correction_open=False)
    with pytest.raises(ValidationError, match="ne peut plus être modifié"):
        services.dossier_update(acting_user=world.animateur, dossier=world.dossier, titre="Autre")


def test_scoping_partners_and_other_collectivites_see_nothing(world):
    services.dossier_transition(acting_user=world.animateur, dossier=world.dossier, action="deposer")
    assert list(selectors.dossiers_visible_to(world.referent)) == [world.dossier]
    assert list(selectors.dossiers_visible_to(world.elu)) == [world.dossier]
    assert not selectors.dossiers_visible_to(world.partenaire).exists()
    assert not selectors.dossiers_visible_to(world.vitre_referent).exists()
    assert not selectors.dossiers_visible_to(world.vitre_animateur).exists()


def test_a_brouillon_is_the_epns_own(world):
    assert list(selectors.dossiers_visible_to(world.animateur)) == [world.dossier]
    assert not selectors.dossiers_visible_to(world.referent).exists()


def test_annotations_are_private_to_the_collectivite(world):
    services.dossier_transition(acting_user=world.animateur, dossier=world.dossier, action="deposer")
    services.annotation_add(acting_user=world.referent, dossier=world.dossier, texte="Budget à vérifier.")
    assert not Annotation.objects.visible_to(world.animateur).exists()
    assert not selectors.annotations_for(world.animateur, world.dossier).exists()
    assert selectors.annotations_for(world.referent2, world.dossier).count() == 1
    with pytest.raises(PermissionDenied):
        services.annotation_add(acting_user=world.animateur, dossier=world.dossier, texte="Moi aussi")


def test_messages_record_their_side(world):
    services.message_send(acting_user=world.animateur, dossier=world.dossier, texte="Bonjour")
    services.dossier_transition(acting_user=world.animateur, dossier=world.dossier, action="deposer")
    services.message_send(acting_user=world.referent, dossier=world.dossier, texte="Bien reçu")
    assert list(world.dossier.messages.values_list("cote", flat=True)) == ["epn", "collectivite"]
    with pytest.raises(PermissionDenied):
        services.message_send(acting_user=world.partenaire, dossier=world.dossier, texte="Et moi ?")


def test_dossier_copies_the_action_and_the_budget_is_summarised(world):
    d = world.dossier
    assert d.snapshot_objectifs == [{"valeur_cible": 40, "libelle": "participants", "critere": ""}]
    assert [p["nom"] for p in d.snapshot_partenariat["partenaires"]] == [world.partner.nom]
    summary = selectors.budget_summary_for_action(world.action)
    assert summary.is_balanced and summary.total_charges == 1200
    assert {c.contributor for c in summary.funders} == {"Rennes Métropole"}
    assert summary.resources_in_kind == 200
    assert selectors.budget_summary_for_action(new_dossier(world).action) is not None


def test_attachments_are_checked_by_content(world):
    piece = services.piece_add(
        acting_user=world.animateur, dossier=world.dossier, filename="../devis.pdf", data=b"%PDF-1.4 devis"
    )
    assert (piece.nom, piece.type, piece.content_type) == ("devis.pdf", "pdf", "application/pdf")
    with pytest.raises(ValidationError, match="type de fichier non accepté"):
        services.piece_add(
            acting_user=world.animateur, dossier=world.dossier, filename="devis.pdf", data=b"MZ\x90\x00exe"
        )
    with pytest.raises(ValidationError, match="au-delà de la limite"):
        services.piece_add(
            acting_user=world.animateur,
            dossier=world.dossier,
            filename="gros.pdf",
            data=b"%PDF-" + b"0" * (10 * 1024 * 1024),
        )
    assert PieceJointe.objects.count() == 1


@pytest.mark.postgres
def test_two_referents_deciding_at_once_exactly_one_wins(committed_db):
    world = build_world()
    services.dossier_transition(acting_user=world.animateur, dossier=world.dossier, action="deposer")
    services.dossier_transition(
        acting_user=world.referent, dossier=world.dossier, action="passer_en_instruction"
    )
    barrier = threading.Barrier(2)
    results = {}

    def decide(name, user, action):
        try:
            barrier.wait()
            dossier = Dossier.objects.get(pk=world.dossier.pk)
            services.dossier_transition(
                acting_user=user,
                dossier=dossier,
                action=action,
                motivation=f"Décision de {name}",
                expected_state="en_instruction",
            )
            results[name] = "ok"
        except WorkflowError as error:
            results[name] = error.message
        finally:
            connection.close()  # each thread has its own connection

    threads = [
        threading.Thread(target=decide, args=("a", world.referent, "accepter")),
        threading.Thread(target=decide, args=("b", world.referent2, "refuser")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values(), key=lambda v: v != "ok")[0] == "ok"
    losers = [v for v in results.values() if v != "ok"]
    assert len(losers) == 1 and "a changé pendant que vous le consultiez" in losers[0]
    dossier = Dossier.objects.get(pk=world.dossier.pk)
    assert dossier.etat in ("accepte", "refuse")
    decisions = Traitement.objects.filter(dossier=dossier, etat_avant="en_instruction")
    assert decisions.count() == 1 and decisions.get().etat_apres == dossier.etat
