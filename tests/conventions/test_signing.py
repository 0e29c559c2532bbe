"""Every party signs, each signature confirmed by a one-time code: the codes' rules (wrong,
expired, reused, five attempts, resending), who may sign for whom (another partner, the élu, a
person holding two roles), delegation, TOTP, the proof file's chain, the dated and sealed PDF
with its four signatories, and the signed convention attached to the dossier."""

import datetime as dt
import json
import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_otp.oath import totp

from ancrage.accounts.services import totp_device_create_confirmed
from ancrage.conventions import preuve, selectors, services
from ancrage.conventions.enums import Etat
from ancrage.conventions.models import CodeSignature, EvenementCircuit
from ancrage.dossiers.services import dossier_create
from ancrage.organisations.enums import Role
from tests.conventions.test_documents import pdf_text
from tests.conventions.test_services import read, submitted
from tests.conventions.world import _member, sign_with_code


def code_for(user, convention, **kwargs) -> str:
    caught = {}
    services.signature_code_send(
        acting_user=user,
        convention=convention,
        deliver=lambda _u, _c, code, _e: caught.update(code=code),
        **kwargs,
    )
    return caught["code"]


def step_of(convention, user) -> int:
    key = selectors.user_key(user.pk)
    return next(i for i, s in enumerate(convention.circuit["steps"]) if key in s["people"])


def allow_resend(user):
    CodeSignature.objects.filter(user=user).update(created_at=timezone.now() - dt.timedelta(hours=2))


def test_wrong_expired_reused_codes_and_the_five_attempts_lock(world):
    convention = submitted(world)
    # The e-mail: French, to the signatory alone, with the code and the document's hash.
    services.signature_code_send(acting_user=world.asso_user, convention=convention)
    [message] = mail.outbox
    assert message.to == [world.asso_user.email] and convention.version_soumise.pdf_sha256 in message.body
    sent = re.search(r"^ +([0-9]{6})$", message.body, re.M).group(1)
    challenge = CodeSignature.objects.get(user=world.asso_user)
    # Hashed at rest (an HMAC bound to the convention, round, step, person and document).
    assert len(challenge.code_hmac) == 64 and sent not in challenge.code_hmac
    with pytest.raises(ValidationError, match="attendez une minute"):
        services.signature_code_send(acting_user=world.asso_user, convention=convention)

    allow_resend(world.asso_user)
    code = code_for(world.asso_user, convention)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(ValidationError, match=f"reste {left} essai"):
            services.convention_sign(acting_user=world.asso_user, convention=convention, code=wrong)
    with pytest.raises(ValidationError, match="dernier essai"):
        services.convention_sign(acting_user=world.asso_user, convention=convention, code=wrong)
    # Locked after five misses, even with the right code; each miss is in the proof file.
    with pytest.raises(ValidationError, match="bloqué"):
        services.convention_sign(acting_user=world.asso_user, convention=convention, code=code)
    assert EvenementCircuit.objects.filter(convention=convention, nature="code_refuse").count() == 6

    allow_resend(world.asso_user)
    code = code_for(world.asso_user, convention)
    CodeSignature.objects.filter(user=world.asso_user, used_at__isnull=True).update(expires_at=timezone.now())
    with pytest.raises(ValidationError, match="expiré"):
        services.convention_sign(acting_user=world.asso_user, convention=convention, code=code)

    allow_resend(world.asso_user)
    code = code_for(world.asso_user, convention)
    # A code is bound to its person: another partner's member cannot use it.
    with pytest.raises(ValidationError, match="Demandez d’abord un code"):
        services.convention_sign(acting_user=world.ccas_user, convention=convention, code=code)
    decision = services.convention_sign(acting_user=world.asso_user, convention=convention, code=code)
    assert decision.canal == "email" and decision.document_sha256 == convention.version_soumise.pdf_sha256
    assert decision.par == world.asso_user and decision.organisation == world.asso.nom
    with pytest.raises(ValidationError, match="déjà"):
        services.convention_sign(acting_user=world.asso_user, convention=convention, code=code)
    # Resending is capped per hour.
    for _ in range(services.CODE_MAX_PER_HOUR):
        allow_resend(world.ccas_user)
        CodeSignature.objects.filter(user=world.ccas_user).update(
            created_at=timezone.now() - dt.timedelta(minutes=2)
        )
        code_for(world.ccas_user, convention)
    CodeSignature.objects.filter(user=world.ccas_user).update(
        created_at=timezone.now() - dt.timedelta(minutes=2)
    )
    with pytest.raises(ValidationError, match="trop de codes"):
        code_for(world.ccas_user, convention)


def test_a_partner_signs_for_no_one_else_and_a_visa_step_needs_no_code(world):
    convention = submitted(world)
    ccas_step, elu_step = step_of(convention, world.ccas_user), step_of(convention, world.elu)
    with pytest.raises((PermissionDenied, ValidationError)):
        code_for(world.asso_user, convention, etape=ccas_step)
    with pytest.raises((PermissionDenied, ValidationError)):
        code_for(world.asso_user, convention, etape=elu_step)
    code = code_for(world.asso_user, convention)
    with pytest.raises((PermissionDenied, ValidationError)):
        services.convention_sign(
            acting_user=world.asso_user, convention=convention, code=code, etape=elu_step
        )
    with pytest.raises(PermissionDenied):
        code_for(world.other_partner_user, convention)
    with pytest.raises(PermissionDenied):
        code_for(world.animateur, convention)
    # The élu's group comes after the parties': not yet.
    with pytest.raises(ValidationError, match="étape 1"):
        code_for(world.elu, convention)


def test_one_person_holding_two_roles_signs_for_one_party_only(world):
    # The responsable is also the association's only member: the circuit could never end.
    world.asso_user.memberships.update(is_active=False)
    _member_of = Role.PARTENAIRE
    from tests.organisations.factories import MembershipFactory

    MembershipFactory(user=world.responsable, role=_member_of, structure=world.asso)
    with pytest.raises(ValidationError, match="deux parties"):
        submitted(world)

    # With a second member of the association, the responsable signs for the EPN and is then
    # refused for the association: its other member signs.
    world.asso_user.memberships.update(is_active=True)
    convention = submitted(world)
    asso_step = step_of(convention, world.asso_user)
    assert selectors.user_key(world.responsable.pk) in convention.circuit["steps"][asso_step]["people"]
    sign_with_code(world.responsable, convention, etape=0)
    with pytest.raises(ValidationError, match="deux parties"):
        sign_with_code(world.responsable, convention, etape=asso_step)
    sign_with_code(world.asso_user, convention)


def test_delegation_totp_proof_file_dated_seal_and_dossier(world, monkeypatch):
    dossier = dossier_create(acting_user=world.animateur, action=world.action)
    convention = submitted(world)
    referent = _member(Role.REFERENT, collectivite=world.rennes)
    elu_step = step_of(convention, world.elu)
    with pytest.raises(ValidationError, match="même organisation"):
        services.convention_delegate(
            acting_user=world.elu, convention=convention, etape=elu_step, delegataire=world.animateur
        )
    services.convention_delegate(
        acting_user=world.elu, convention=convention, etape=elu_step, delegataire=referent
    )
    with pytest.raises(ValidationError, match="déjà désigné"):
        services.convention_delegate(
            acting_user=world.elu, convention=convention, etape=elu_step, delegataire=referent
        )
    # The responsable confirms with the TOTP app.
    device = totp_device_create_confirmed(
        acting_user=None, user=world.responsable, key_hex="00" * 20, name="Téléphone"
    )
    with pytest.raises(ValidationError, match="ne correspond pas"):
        services.convention_sign(
            acting_user=world.responsable, convention=convention, code="12345", canal="totp"
        )
    token = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    decision = services.convention_sign(
        acting_user=world.responsable, convention=convention, code=token, canal="totp"
    )
    assert decision.canal == "totp"
    for user in (world.asso_user, world.ccas_user):
        sign_with_code(user, convention)

    captured = []
    original = services.sign_pdf
    monkeypatch.setattr(
        services,
        "sign_pdf",
        lambda pdf, signatories, **kw: captured.append(signatories) or original(pdf, signatories, **kw),
    )
    decision = sign_with_code(referent, convention)
    assert decision.pour_le_compte_de == selectors.user_key(world.elu.pk)
    assert decision.pour_le_compte_de_nom == world.elu.get_full_name()
    convention.refresh_from_db()
    assert convention.etat == Etat.SIGNEE
    [signatories] = captured
    assert len(signatories) == 4
    assert {s.organisation for s in signatories} == {
        world.epn.nom,
        world.asso.nom,
        world.ccas.nom,
        world.rennes.nom,
    }
    assert any("par délégation de" in s.name for s in signatories)
    text = pdf_text(read(convention.pdf_signe))
    today = timezone.localdate()
    assert f"le {'1er' if today.day == 1 else today.day} " in text.split("Fait à", 1)[1][:80]
    assert "original établi sous forme" in text and "quatre parties" in text

    # The proof file: every event chained; the approved and the final hashes; a change shows.
    data = json.loads(preuve.as_json(convention))
    kinds = [e["payload"]["evenement"] for e in data["evenements"]]
    assert kinds[0] == "soumise" and kinds[-2:] == ["document_final", "scellee"] and "delegation" in kinds
    assert data["empreintes"]["document_approuve_sha256"] == [convention.version_soumise.pdf_sha256]
    assert data["empreintes"]["document_final_sha256"] not in (None, convention.version_soumise.pdf_sha256)
    assert not preuve.verify(data["evenements"])
    data["evenements"][3]["payload"]["adresse_ip"] = "203.0.113.9"
    assert [p.sequence for p in preuve.verify(data["evenements"])] == [4]
    with pytest.raises(PermissionError):
        EvenementCircuit.objects.filter(convention=convention).update(payload={})
    assert preuve.as_pdf(convention).startswith(b"%PDF-")

    # Attached to the action's dossier, and to a dossier created afterwards; once each.
    assert dossier.pieces.count() == 2
    assert services.attach_to_dossiers(convention) == 0
    later = dossier_create(acting_user=world.animateur, action=world.action)
    assert sorted(later.pieces.values_list("type", flat=True)) == ["pdf", "pdf"]
