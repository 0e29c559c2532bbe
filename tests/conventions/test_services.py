"""Convention services: drafting from an action, generated versions, the circuit with its rounds,
the seal, the lifecycle, avenants, custom models, background jobs and concurrent decisions."""

import datetime as dt
import io
import threading

import docx
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from ancrage.audit.models import AuditEntry
from ancrage.conventions import jobs, selectors, services
from ancrage.conventions.enums import Etat, JobState
from ancrage.conventions.models import Convention, Decision, GenerationJob
from ancrage.conventions.platform import platform_certificate
from ancrage.conventions.signature import verify_pdf
from tests.conventions.test_custom_models import requires_libreoffice, valid_model
from tests.conventions.test_documents import docx_text, pdf_text
from tests.conventions.world import sign_with_code

EPN_COMMITMENT = "assurer l'animation des séances"
ASSO_COMMITMENT = "assurer la mobilisation et l'orientation des publics"
CCAS_COMMITMENT = "assurer le financement de l'action"


def draft(world, **overrides):
    overrides.setdefault("date_debut", world.start)
    return services.convention_create_from_action(
        acting_user=world.animateur, action=world.action, **overrides
    )


def generate(world, convention):
    job = services.convention_version_request(acting_user=world.animateur, convention=convention)
    job.refresh_from_db()
    assert job.state == JobState.TERMINE, job.erreur
    return job.version


def submitted(world, **overrides):
    convention = draft(world, **overrides)
    generate(world, convention)
    return services.convention_submit(acting_user=world.animateur, convention=convention)


def read(field) -> bytes:
    with field.open("rb") as handle:
        return handle.read()


def test_a_draft_from_an_action_takes_its_partners_and_task_matrix(world):
    convention = draft(world)
    assert set(convention.partenaires.all()) == {world.asso, world.ccas}
    assert convention.collectivite == world.rennes
    by_party = {(e["partie"], e["texte"]) for e in convention.engagements}
    assert ("epn", EPN_COMMITMENT) in by_party
    assert (f"partenaire-{world.asso.pk}", ASSO_COMMITMENT) in by_party
    assert ("epn", "assurer le pilotage et la gestion du projet") in by_party
    assert (f"partenaire-{world.asso.pk}", "contribuer au pilotage et la gestion du projet") in by_party
    assert convention.objectifs == ["40 participants"]
    assert convention.reference == f"CONV-2026-{convention.pk:04d}"
    assert AuditEntry.objects.filter(object_type="conventions.convention", action="create").exists()


def test_generated_docx_opens_and_pdf_contains_parties_and_commitments(world):
    convention = draft(world)
    version = generate(world, convention)
    assert version.numero == 1
    docx_bytes, pdf_bytes = read(version.docx), read(version.pdf)
    from ancrage.conventions.documents import sha256_hex

    assert sha256_hex(docx_bytes) == version.docx_sha256
    assert sha256_hex(pdf_bytes) == version.pdf_sha256
    docx.Document(io.BytesIO(docx_bytes))  # opens with python-docx
    texts = (docx_text(docx_bytes), pdf_text(pdf_bytes))
    for text in texts:
        for name in ("EPN des Glycines", "Association Lire Ensemble", "CCAS de Rennes", "Rennes"):
            assert name in text
        for commitment in (EPN_COMMITMENT, ASSO_COMMITMENT):
            assert commitment in text
        # The CCAS answers for the financing in the task matrix, but the action has no budget: the
        # convention is free, and promises no financing (the commitment follows the budget).
        assert CCAS_COMMITMENT not in text and "à titre gratuit" in text
    assert version.cadre_signature is not None


@requires_libreoffice
def test_the_generated_docx_converts_with_libreoffice(world):
    from ancrage.conventions.custom_models import convert_with_libreoffice

    version = generate(world, draft(world))
    pdf = convert_with_libreoffice(read(version.docx))
    assert "Association Lire Ensemble" in pdf_text(pdf)
    assert ASSO_COMMITMENT in pdf_text(pdf)


def test_full_circuit_rejection_new_round_and_seal(world):
    convention = submitted(world)
    assert convention.etat == Etat.EN_VALIDATION and convention.tour == 1
    steps = convention.circuit["steps"]
    assert [s["kind"] for s in steps] == ["signature"] * 4
    assert [s["group"] for s in steps] == [0, 0, 0, 1]
    assert steps[0]["people"] == [f"user-{world.responsable.pk}"]
    assert steps[-1]["people"] == [f"user-{world.elu.pk}"]

    sign_with_code(world.asso_user, convention)
    with pytest.raises(ValidationError, match="motivé"):
        services.convention_decide(acting_user=world.ccas_user, convention=convention, decision="rejeter")
    services.convention_decide(
        acting_user=world.ccas_user,
        convention=convention,
        decision="rejeter",
        commentaire="Le montant de notre participation est à revoir.",
    )
    convention.refresh_from_db()
    assert convention.etat == Etat.BROUILLON

    # Correction: a new version, a new round that starts again at the first step.
    services.convention_update(
        acting_user=world.animateur, convention=convention, juridiction="le tribunal administratif de Rennes"
    )
    with pytest.raises(ValidationError, match="version à jour"):
        services.convention_submit(acting_user=world.animateur, convention=convention)
    version = generate(world, convention)
    assert version.numero == 2
    convention = services.convention_submit(acting_user=world.animateur, convention=convention)
    assert convention.tour == 2
    progress = selectors.circuit_progress(convention)
    assert [s.index for s in progress.current_steps] == [0, 1, 2]
    with pytest.raises(ValidationError, match="étape 1"):
        sign_with_code(world.elu, convention)
    for user in (world.asso_user, world.ccas_user, world.responsable):
        sign_with_code(user, convention, tour=2)
    decision = sign_with_code(world.elu, convention)
    assert decision.document_sha256 == version.pdf_sha256 and decision.canal == "email"
    convention.refresh_from_db()
    assert convention.etat == Etat.SIGNEE and convention.signee_le is not None
    signed = read(convention.pdf_signe)
    cert = platform_certificate().cert_path
    result = verify_pdf(signed, trusted_certificates=[cert], expected_sha256=convention.pdf_signe_sha256)
    assert result.ok, result.messages
    tampered = bytearray(signed)
    tampered[len(tampered) // 2] ^= 0x01
    assert not verify_pdf(bytes(tampered), trusted_certificates=[cert]).ok
    assert Decision.objects.filter(convention=convention).count() == 6
    assert Decision.objects.filter(convention=convention, tour=1, decision="rejeter").get().commentaire


def test_refused_transitions(world):
    convention = draft(world)
    with pytest.raises(ValidationError, match="pas en validation"):
        services.convention_decide(acting_user=world.asso_user, convention=convention, decision="valider")
    with pytest.raises(ValidationError):
        services.convention_withdraw(acting_user=world.animateur, convention=convention)
    with pytest.raises(ValidationError, match="résilier"):
        services.convention_terminate(
            acting_user=world.animateur, convention=convention, motif="x", date_effet=world.start
        )
    with pytest.raises(ValidationError, match="avenant"):
        services.convention_avenant_create(acting_user=world.animateur, convention=convention)
    with pytest.raises(PermissionDenied):
        services.convention_update(acting_user=world.asso_user, convention=convention, titre="Autre")
    with pytest.raises(PermissionDenied):
        services.convention_update(acting_user=world.other_animateur, convention=convention, titre="Autre")
    with pytest.raises(PermissionDenied):
        services.convention_comment_add(
            acting_user=world.other_partner_user, convention=convention, texte="?"
        )

    generate(world, convention)
    convention = services.convention_submit(acting_user=world.animateur, convention=convention)
    with pytest.raises(ValidationError, match="brouillon"):
        services.convention_update(acting_user=world.animateur, convention=convention, titre="Autre")
    with pytest.raises(ValidationError, match="soumettre"):
        services.convention_submit(acting_user=world.animateur, convention=convention)
    with pytest.raises(ValidationError, match="code"):
        services.convention_decide(acting_user=world.asso_user, convention=convention, decision="valider")
    sign_with_code(world.asso_user, convention)
    with pytest.raises(ValidationError, match="déjà"):
        services.convention_decide(
            acting_user=world.asso_user, convention=convention, decision="rejeter", commentaire="x"
        )
    with pytest.raises(PermissionDenied):
        services.convention_decide(
            acting_user=world.animateur, convention=convention, decision="rejeter", commentaire="x"
        )
    with pytest.raises(ValidationError, match="rechargez"):
        services.convention_decide(
            acting_user=world.ccas_user, convention=convention, decision="rejeter", commentaire="x", tour=9
        )
    with pytest.raises(ValidationError, match="version soumise"):
        sign_with_code(world.ccas_user, convention, document_sha256="0" * 64)
    convention = services.convention_withdraw(acting_user=world.animateur, convention=convention)
    assert convention.etat == Etat.BROUILLON


def test_submission_needs_an_account_for_each_partner_and_an_elu(world):
    world.ccas_user.memberships.update(is_active=False)
    convention = draft(world)
    generate(world, convention)
    with pytest.raises(ValidationError, match="CCAS de Rennes"):
        services.convention_submit(acting_user=world.animateur, convention=convention)
    services.convention_update(acting_user=world.animateur, convention=convention, partenaires=[world.asso])
    generate(world, convention)
    world.elu.memberships.update(is_active=False)
    with pytest.raises(ValidationError, match="élu"):
        services.convention_submit(acting_user=world.animateur, convention=convention)


def sign(world, convention):
    for user in (world.asso_user, world.ccas_user, world.responsable, world.elu):
        sign_with_code(user, convention)
    convention.refresh_from_db()
    return convention


def test_lifecycle_dates_alerts_termination_and_avenant(world):
    start = selectors.today() - dt.timedelta(days=300)
    convention = sign(world, submitted(world, date_debut=start, duree_mois=12, delai_alerte_jours=90))
    assert selectors.effective_etat(convention) == Etat.EN_VIGUEUR
    assert selectors.effective_etat(convention, start - dt.timedelta(days=1)) == Etat.SIGNEE
    assert selectors.effective_etat(convention, convention.date_fin + dt.timedelta(days=1)) == Etat.EXPIREE
    alerts = selectors.expiry_alerts([convention])
    assert len(alerts) == 1 and "arrive à échéance" in alerts[0].message

    avenant = services.convention_avenant_create(acting_user=world.animateur, convention=convention)
    assert avenant.avenant_de == convention and avenant.numero_avenant == 1 and avenant.etat == Etat.BROUILLON
    assert avenant.titre.startswith("Avenant n° 1")
    second = services.convention_avenant_create(acting_user=world.animateur, convention=avenant)
    assert second.avenant_de == convention and second.numero_avenant == 2

    later = selectors.today() + dt.timedelta(days=10)
    services.convention_terminate(
        acting_user=world.animateur, convention=convention, motif="Fin du financement.", date_effet=later
    )
    convention.refresh_from_db()
    assert convention.etat == Etat.SIGNEE  # résiliée from the effective date on
    assert selectors.effective_etat(convention, later) == Etat.RESILIEE
    services.convention_terminate(
        acting_user=world.animateur,
        convention=convention,
        motif="Fin anticipée.",
        date_effet=selectors.today(),
    )
    convention.refresh_from_db()
    assert convention.etat == Etat.RESILIEE
    with pytest.raises(ValidationError):
        services.convention_avenant_create(acting_user=world.animateur, convention=convention)


def test_generation_runs_in_the_background(world, settings):
    settings.ANCRAGE_JOBS_SYNC = False
    convention = draft(world)
    job = services.convention_version_request(acting_user=world.animateur, convention=convention)
    assert job.state == JobState.EN_ATTENTE  # the request returned before any rendering
    # Asking again while it waits does not queue a second generation.
    assert services.convention_version_request(acting_user=world.animateur, convention=convention) == job
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    assert job.state == JobState.TERMINE and job.version.numero == 1
    jobs.run(job.pk)  # a job already run is left alone
    assert convention.versions.count() == 1


def test_a_failed_generation_says_why(world, monkeypatch):
    from ancrage.conventions.content import ContentError

    def broken(*args, **kwargs):
        raise ContentError("Une convention lie au moins deux parties.")

    monkeypatch.setattr(jobs, "render", broken)
    job = services.convention_version_request(acting_user=world.animateur, convention=draft(world))
    job.refresh_from_db()
    assert job.state == JobState.ECHEC and "deux parties" in job.erreur


def test_custom_model_checked_at_upload(world):
    from tests.conventions.test_custom_models import model_with

    with pytest.raises(ValidationError) as refused:
        services.modele_upload(
            acting_user=world.animateur,
            epn=world.epn,
            nom="Cassé",
            filename="casse.docx",
            data=model_with("{{ inconnu }}"),
        )
    assert "inconnu" in str(refused.value)
    with pytest.raises(ValidationError):
        services.modele_upload(
            acting_user=world.animateur, epn=world.epn, nom="Pas un docx", filename="x.docx", data=b"bonjour"
        )
    modele = services.modele_upload(
        acting_user=world.animateur,
        epn=world.epn,
        nom="Notre modèle",
        filename="notre.docx",
        data=valid_model(),
    )
    assert "parties" in modele.variables


@requires_libreoffice
def test_custom_model_used_for_the_convention(world):
    modele = services.modele_upload(
        acting_user=world.animateur, epn=world.epn, nom="Notre modèle", filename="n.docx", data=valid_model()
    )
    convention = draft(world, modele_personnalise=modele)
    version = generate(world, convention)
    assert "EPN des Glycines" in docx_text(read(version.docx))
    assert version.cadre_signature is None


def test_generation_job_stops_a_looping_custom_model_at_its_limit(world, monkeypatch):
    from ancrage.conventions import custom_models
    from tests.conventions.test_custom_models import looping_model

    monkeypatch.setattr(custom_models, "DEFAULT_LIMITS", custom_models.RenderLimits(cpu_seconds=1))
    modele = services.modele_upload(  # only documented loops: the upload check lets it through
        acting_user=world.animateur,
        epn=world.epn,
        nom="Boucles",
        filename="boucles.docx",
        data=looping_model(),
    )
    job = services.convention_version_request(
        acting_user=world.animateur, convention=draft(world, modele_personnalise=modele)
    )
    job.refresh_from_db()
    assert job.state == JobState.ECHEC
    assert "temps de calcul autorisé (1 s)" in job.erreur
    assert not job.convention.versions.exists()


def test_concurrent_signatures_exactly_one_wins(committed_db):
    """Two élus sign at the same moment (step mode « un »), each with their code: one signature, one seal."""
    from ancrage.organisations.enums import Role
    from tests.conventions.world import _member, build_world

    world = build_world()
    second_elu = _member(Role.ELU, collectivite=world.rennes)
    convention = submitted(world)
    for user in (world.asso_user, world.ccas_user, world.responsable):
        sign_with_code(user, convention)
    codes = {}
    for user in (world.elu, second_elu):
        services.signature_code_send(
            acting_user=user,
            convention=convention,
            deliver=lambda u, _c, code, _e: codes.update({u.pk: code}),
        )
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(user):
        try:
            barrier.wait(timeout=30)
            services.convention_sign(acting_user=user, convention=convention, code=codes[user.pk], tour=1)
            outcomes.append("signée")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(u,)) for u in (world.elu, second_elu)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes)[-1] == "signée" and outcomes.count("signée") == 1, outcomes
    convention.refresh_from_db()
    assert convention.etat == Etat.SIGNEE
    assert Decision.objects.filter(convention=convention, etape=3).count() == 1


def test_concurrent_signature_and_refusal_by_one_partner_exactly_one_counts(committed_db):
    from tests.conventions.world import _member, build_world

    world = build_world()
    colleague = _member("partenaire", structure=world.asso)  # a second account of the same partner
    convention = submitted(world)
    codes = {}
    services.signature_code_send(
        acting_user=world.asso_user,
        convention=convention,
        deliver=lambda u, _c, code, _e: codes.update(code=code),
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(user, decision):
        try:
            barrier.wait(timeout=30)
            if decision == "valider":
                services.convention_sign(acting_user=user, convention=convention, code=codes["code"], tour=1)
            else:
                services.convention_decide(
                    acting_user=user,
                    convention=convention,
                    decision=decision,
                    commentaire="À revoir.",
                    tour=1,
                )
            outcomes.append(decision)
        except ValidationError:
            outcomes.append("refusée")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(world.asso_user, "valider")),
        threading.Thread(target=attempt, args=(colleague, "rejeter")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes.count("refusée") == 1, outcomes
    asso_step = next(i for i, s in enumerate(convention.circuit["steps"]) if world.asso.nom in s["label"])
    assert Decision.objects.filter(convention=convention, etape=asso_step).count() == 1
    assert GenerationJob.objects.filter(convention=convention).count() == 1
    assert Convention.objects.get(pk=convention.pk).etat in (Etat.EN_VALIDATION, Etat.BROUILLON)
