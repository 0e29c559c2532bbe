"""Nobody grants themselves a role: no self-invitation, and a collectivité's or a partner's role is
held only once that organisation (or the operator) approved it, neither the inviter nor the invitee.

The three escalations found on the demo are replayed here, each refused."""

import secrets
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from ancrage.accounts import services
from ancrage.accounts.models import Invitation, User
from ancrage.accounts.validators import DEMO_PASSWORD
from ancrage.audit.models import AuditEntry
from ancrage.conventions import services as convention_services
from ancrage.conventions.enums import Etat
from ancrage.conventions.models import Convention
from ancrage.dossiers.models import Dossier
from ancrage.organisations import permissions
from ancrage.organisations.enums import Role
from ancrage.organisations.models import Collectivite, Membership, Structure
from ancrage.organisations.permissions import Target
from ancrage.organisations.services import membership_grant

SITE = "http://testserver/"
PASSWORD = "une phrase de passe solide 2026"
COORDINATEUR = "coordinateur@demo.ancrage.fr"
RESPONSABLE = "responsable@demo.ancrage.fr"
REFERENT = "referent@demo.ancrage.fr"


def user(email):
    return User.objects.get(email=email)


def rennes():
    return Collectivite.objects.get(nom="Rennes Métropole")


def ty_blosne():
    return Structure.objects.get(nom="Centre social Ty-Blosne (démo)")


def blosne():
    return Structure.objects.get(nom="EPN du Blosne (démo)")


def operator():
    return User.objects.create_superuser(email="ops@exemple.fr", username="ops@exemple.fr", password=None)


def invite(acting, email, role, target):
    return services.invitation_create(
        acting_user=user(acting) if isinstance(acting, str) else acting,
        email=email,
        role=role,
        target=target,
        site_url=SITE,
    )


def accept_as_newcomer(invitation):
    return services.invitation_accept(
        invitation=invitation, password=PASSWORD, first_name="Alias", last_name="Test", site_url=SITE
    )


def holds(email, role, target) -> bool:
    field = permissions.target_field(role)
    return Membership.objects.active().filter(user__email=email, role=role, **{field: target}).exists()


def awaiting_invitation(role, target, inviter=None, email=None):
    """An invitation accepted by a newcomer, awaiting approval."""
    invitation = invite(inviter or COORDINATEUR, email or f"{role}-{target.pk}@exemple.fr", role, target)
    accept_as_newcomer(invitation)
    invitation.refresh_from_db()
    assert invitation.is_awaiting_approval
    return invitation


def sign_in(client, email):
    assert client.login(username=email, password=DEMO_PASSWORD)
    # The second factor is not what these tests are about: mark the session as verified.
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    account = user(email)
    device = TOTPDevice.objects.filter(user=account, confirmed=True).first() or TOTPDevice.objects.create(
        user=account, name="test", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


# Escalation 1: the coordinator as élu of Rennes Métropole ------------------------------------


def test_the_coordinator_cannot_make_themselves_elu_and_sign(client, demo):
    coordinator = user(COORDINATEUR)
    sign_in(client, COORDINATEUR)
    target = f"elu:collectivite:{rennes().pk}"
    page = client.get(reverse("accounts:invitations")).content.decode()
    assert target in page  # the coordinator does invite to Rennes Métropole…
    response = client.post(reverse("accounts:invitations"), {"email": COORDINATEUR, "cible": target})
    assert response.status_code == 200  # …but not themselves
    assert "Vous ne pouvez pas vous inviter vous-même" in response.content.decode()
    assert not Invitation.objects.filter(email=COORDINATEUR).exists()

    # Through a second address of theirs, the role waits for Rennes Métropole's approval.
    alias = awaiting_invitation(Role.ELU, rennes(), email="maelle.perso@exemple.fr")
    assert not holds("maelle.perso@exemple.fr", Role.ELU, rennes())
    assert not services.may_approve(coordinator, alias)  # the inviter never approves
    with pytest.raises(PermissionDenied):
        services.invitation_approve(acting_user=coordinator, invitation=alias)
    assert client.post(reverse("accounts:invitation-approve", kwargs={"pk": alias.pk})).status_code == 404

    dossier = Dossier.objects.filter(structure__collectivite=rennes()).order_by("pk").first()
    assert client.get(reverse("dossiers:decision", kwargs={"pk": dossier.pk})).status_code == 403
    convention = Convention.objects.filter(etat=Etat.EN_VALIDATION, collectivite=rennes()).first()
    assert convention is not None
    for acting in (coordinator, user("maelle.perso@exemple.fr")):
        with pytest.raises(PermissionDenied):
            convention_services.convention_decide(
                acting_user=acting, convention=convention, decision="valider"
            )
    convention.refresh_from_db()
    assert convention.etat == Etat.EN_VALIDATION


# Escalation 2: a responsable as the partner ---------------------------------------------------


def test_a_responsable_cannot_make_themselves_partner_and_give_its_visa(demo):
    responsable = user(RESPONSABLE)
    assert (Role.PARTENAIRE, ty_blosne()) in services.invitable_targets(responsable)
    with pytest.raises(ValidationError, match="vous inviter vous-même"):
        invite(RESPONSABLE, RESPONSABLE.upper(), Role.PARTENAIRE, ty_blosne())
    alias = awaiting_invitation(
        Role.PARTENAIRE, ty_blosne(), inviter=RESPONSABLE, email="yann.perso@exemple.fr"
    )
    assert not holds("yann.perso@exemple.fr", Role.PARTENAIRE, ty_blosne())
    with pytest.raises(PermissionDenied):
        services.invitation_approve(acting_user=responsable, invitation=alias)
    # The partner organisation has a member: the operator does not approve for it either.
    with pytest.raises(PermissionDenied):
        services.invitation_approve(acting_user=operator(), invitation=alias)

    convention = Convention.objects.filter(etat=Etat.EN_VALIDATION, structure=blosne()).first()
    assert convention is not None
    # The responsable signs for the EPN; for the partner, neither they nor their alias may act.
    partner_step = next(i for i, s in enumerate(convention.circuit["steps"]) if "Ty-Blosne" in s["label"])
    for acting in (responsable, user("yann.perso@exemple.fr")):
        with pytest.raises(PermissionDenied):
            convention_services.convention_decide(
                acting_user=acting,
                convention=convention,
                decision="rejeter",
                commentaire="x",
                etape=partner_step,
            )
    assert not convention.decisions.filter(par__email__in=[RESPONSABLE, "yann.perso@exemple.fr"]).exists()

    # The partner's own member approves: only then is the role held, and audited.
    services.invitation_approve(acting_user=user("partenaire@demo.ancrage.fr"), invitation=alias)
    assert holds("yann.perso@exemple.fr", Role.PARTENAIRE, ty_blosne())
    assert AuditEntry.objects.filter(
        object_type="accounts.invitation", object_id=str(alias.pk), changes__invitation="approuvée"
    ).exists()


# Escalation 3: accepting an invitation one sent to oneself ----------------------------------


def _self_invitation(email, role, target):
    """An invitation whose inviter is the invitee, as the previous code let anyone create."""
    field = permissions.target_field(role)
    now = timezone.now()
    return Invitation.objects.create(
        email=email,
        role=role,
        invited_by=user(email),
        nonce=secrets.token_hex(16),
        sent_at=now,
        expires_at=now + timedelta(days=7),
        **{field: target},
    )


def test_nobody_accepts_an_invitation_they_sent_themselves(client, demo):
    invitation = _self_invitation(COORDINATEUR, Role.ELU, rennes())
    with pytest.raises(PermissionDenied):
        services.invitation_accept(invitation=invitation, user=user(COORDINATEUR))
    sign_in(client, COORDINATEUR)
    link = reverse("accounts:invitation-accept", kwargs={"token": services.invitation_token(invitation)})
    assert client.post(link).status_code == 403
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not holds(COORDINATEUR, Role.ELU, rennes())
    # Even to an EPN's role, which needs no approval.
    team = _self_invitation(RESPONSABLE, Role.ANIMATEUR, blosne())
    with pytest.raises(PermissionDenied):
        services.invitation_accept(invitation=team, user=user(RESPONSABLE))


# One person, two roles ------------------------------------------------------------------------


def test_a_referent_who_is_also_responsable_does_not_approve_their_own_grant(demo):
    referent = user(REFERENT)
    membership_grant(acting_user=None, user=referent, role=Role.RESPONSABLE, target=blosne())
    invitation = invite(COORDINATEUR, REFERENT, Role.ELU, rennes())
    services.invitation_accept(invitation=invitation, user=referent, site_url=SITE)
    invitation.refresh_from_db()
    assert invitation.is_awaiting_approval
    assert not services.may_approve(referent, invitation)
    with pytest.raises(PermissionDenied):
        services.invitation_approve(acting_user=referent, invitation=invitation)
    assert invitation not in services.approvals_for(referent)
    assert invitation in services.awaiting_for(referent)
    # The other person of the collectivité approves.
    services.invitation_approve(acting_user=user("elu@demo.ancrage.fr"), invitation=invitation)
    assert holds(REFERENT, Role.ELU, rennes())


def test_a_coordinator_who_is_also_referent_does_not_approve_whom_they_invited(demo):
    coordinator = user(COORDINATEUR)
    membership_grant(acting_user=None, user=coordinator, role=Role.REFERENT, target=rennes())
    invitation = awaiting_invitation(Role.ELU, rennes(), email="complice@exemple.fr")
    with pytest.raises(PermissionDenied):
        services.invitation_approve(acting_user=coordinator, invitation=invitation)
    assert not holds("complice@exemple.fr", Role.ELU, rennes())


# The pages ------------------------------------------------------------------------------------


def test_approval_through_the_pages(client, demo, django_capture_on_commit_callbacks):
    invitation = invite(COORDINATEUR, "nouvel.elu@exemple.fr", Role.ELU, rennes())
    link = reverse("accounts:invitation-accept", kwargs={"token": services.invitation_token(invitation)})
    form = {"first_name": "Nouvel", "last_name": "Élu", "password1": PASSWORD, "password2": PASSWORD}
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link, form, follow=True)
    assert "attend l’approbation" in response.content.decode()
    assert not holds("nouvel.elu@exemple.fr", Role.ELU, rennes())
    # The collectivité's people are told; the inviter is not among them.
    (request,) = mail.outbox
    assert set(request.to) == {REFERENT, "elu@demo.ancrage.fr"}
    assert "/compte/invitations/a-approuver/" in request.body
    page = client.get(reverse("accounts:approvals")).content.decode()
    assert "en attente d’approbation" in page
    assert reverse("accounts:invitation-approve", kwargs={"pk": invitation.pk}) not in page
    assert (
        client.post(reverse("accounts:invitation-approve", kwargs={"pk": invitation.pk})).status_code == 404
    )

    client.logout()
    sign_in(client, REFERENT)
    page = client.get(reverse("accounts:approvals")).content.decode()
    assert "nouvel.elu@exemple.fr" in page
    response = client.post(reverse("accounts:invitation-approve", kwargs={"pk": invitation.pk}))
    assert response.status_code == 302
    assert holds("nouvel.elu@exemple.fr", Role.ELU, rennes())
    invitation.refresh_from_db()
    assert invitation.status == "acceptée" and invitation.decided_by == user(REFERENT)
    entry = AuditEntry.objects.get(
        object_type="accounts.invitation", object_id=str(invitation.pk), changes__invitation="approuvée"
    )
    assert entry.actor_id == user(REFERENT).pk
    # Decided once.
    assert client.post(reverse("accounts:invitation-refuse", kwargs={"pk": invitation.pk})).status_code == 404


def test_a_refused_access_gives_no_role_and_is_audited(demo):
    invitation = awaiting_invitation(Role.REFERENT, rennes())
    services.invitation_refuse(acting_user=user("elu@demo.ancrage.fr"), invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.status == "refusée"
    assert not holds(invitation.email, Role.REFERENT, rennes())
    assert AuditEntry.objects.filter(
        object_type="accounts.invitation", object_id=str(invitation.pk), changes__invitation="refusée"
    ).exists()
    with pytest.raises(ValidationError):
        services.invitation_approve(acting_user=user(REFERENT), invitation=invitation)


def test_the_operator_approves_for_a_partner_without_member(demo):
    lonely = (
        Structure.objects.filter(kind="partenaire", referencee_par=blosne())
        .exclude(pk__in=Membership.objects.active().exclude(structure=None).values("structure_id"))
        .first()
    )
    assert not Membership.objects.active().filter(structure=lonely).exists()
    invitation = awaiting_invitation(Role.PARTENAIRE, lonely, inviter=RESPONSABLE)
    services.invitation_approve(acting_user=operator(), invitation=invitation)
    assert holds(invitation.email, Role.PARTENAIRE, lonely)


def test_the_operators_invitation_to_a_collectivite_is_its_approval(demo):
    invitation = invite(operator(), "direct@exemple.fr", Role.ELU, rennes())
    accept_as_newcomer(invitation)
    assert holds("direct@exemple.fr", Role.ELU, rennes())


# Every invitation target × every inviting role ------------------------------------------------

INVITING = (
    "animateur",
    "responsable",
    "referent",
    "elu",
    "partenaire",
    "coordinateur",
    "anonymous",
    "superuser",
)


def _actor(name):
    if name == "anonymous":
        return AnonymousUser()
    if name == "superuser":
        return User.objects.filter(email="ops@exemple.fr").first() or operator()
    return user(f"{name}@demo.ancrage.fr")


def _awaiting_by_kind():
    """For each kind of organisation, an invitation awaiting approval (None: the kind needs none)."""
    lonely = (
        Structure.objects.filter(kind="partenaire", referencee_par=blosne())
        .exclude(pk__in=Membership.objects.active().exclude(structure=None).values("structure_id"))
        .first()
    )
    return {
        Target.EPN: None,
        Target.RESEAU: None,
        Target.COLLECTIVITE: awaiting_invitation(Role.ELU, rennes(), email="walk-elu@exemple.fr"),
        Target.PARTENAIRE: awaiting_invitation(Role.PARTENAIRE, ty_blosne(), inviter=RESPONSABLE),
        "partner without member": awaiting_invitation(Role.PARTENAIRE, lonely, inviter=RESPONSABLE),
    }


@pytest.mark.parametrize("name", INVITING)
def test_who_invites_and_who_approves_each_kind(demo, name):
    awaiting = _awaiting_by_kind()
    actor = _actor(name)
    role = None if name in ("anonymous", "superuser") else Role(name)
    invited_kinds = {permissions.target_kind(target) for _, target in services.invitable_targets(actor)}
    for kind in Target:
        if name == "superuser":
            expected = kind != Target.RESEAU  # the operator invites to every structure and collectivité
        else:
            expected = role is not None and kind in permissions.INVITERS.get(role, ())
        assert (kind in invited_kinds) == expected, (name, kind)
        invitation = awaiting.get(kind)
        if invitation is None:
            assert not any(permissions.needs_approval(r) for r in permissions.roles_of(kind))
            continue
        if name == "superuser":
            may = permissions.operator_approves(invitation.role, target_has_approver=True)
        else:
            may = role is not None and role in permissions.APPROVERS[kind]
        assert services.may_approve(actor, invitation) == may, (name, kind)
    # Where the partner organisation has no member, only the operator approves.
    assert services.may_approve(actor, awaiting["partner without member"]) == (name == "superuser")
    # Nobody invites themselves.
    if role is not None or name == "superuser":
        for target_role, target in services.invitable_targets(actor)[:5]:
            with pytest.raises(ValidationError):
                invite(actor, actor.email, target_role, target)
