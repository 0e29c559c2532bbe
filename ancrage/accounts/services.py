"""Writes on accounts: the user, invitations, the second factor, passwords. Each is atomic and audited.

An account is only ever created by accepting an invitation (or by an administrator with
``ancrage createsuperuser``): there is no open sign-up.

Who may invite whom (declared in ``organisations.permissions.INVITERS``):

- a responsable d'EPN, to their EPN (animateur, responsable) and to the partner organisations
  their EPN referenced (partenaire);
- a coordinateur, to the structures (EPN or partner) and collectivités of their réseau;
- a superuser, anywhere.

Nobody invites themselves, and nobody accepts an invitation they sent. A role of a collectivité
or of a partner organisation is held only once that organisation approved it
(``permissions.APPROVERS``): the invitee's acceptance leaves the invitation « à approuver », and an
élu or référent of the collectivité, a member of the partner organisation or the operator (neither
the inviter nor the invitee) approves or refuses it.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from ancrage.accounts.models import ApiToken, Invitation, User
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.organisations import permissions
from ancrage.organisations.enums import Role, StructureKind
from ancrage.organisations.models import Collectivite, Membership, Structure
from ancrage.organisations.permissions import Target
from ancrage.organisations.scoping import scope_for
from ancrage.organisations.services import membership_grant

INVITATION_SALT = "ancrage.accounts.invitation"


class InvitationInvalid(Exception):
    """The link does not open a pending invitation. The message is shown to the visitor."""


# Who may invite -----------------------------------------------------------------------------


def _reached_by(scope, role: Role):
    """The structures and collectivités an inviter holding ``role`` invites to, whatever their kind:
    the members of an EPN, to it and to the partner organisations it referenced; a coordinateur,
    to the structures and collectivités of their réseau."""
    kind = permissions.ROLE_TARGET[role]
    if kind == Target.EPN:
        epn_ids = scope.epn_reach.get(role, frozenset())
        return (
            Structure.objects.filter(id__in=epn_ids)
            | Structure.objects.filter(kind=StructureKind.PARTENAIRE, referencee_par_id__in=epn_ids),
            Collectivite.objects.none(),
        )
    if kind == Target.RESEAU and scope.reseau_ids:
        return (
            Structure.objects.filter(reseau_id__in=scope.reseau_ids),
            Collectivite.objects.filter(reseau_id__in=scope.reseau_ids),
        )
    return Structure.objects.none(), Collectivite.objects.none()


def invitable_targets(user) -> list[tuple[Role, object]]:
    """Every (role, organisation) pair ``user`` may invite someone to, in a stable order.

    ``permissions.INVITERS`` says which roles invite, and to which kinds of organisation."""
    scope = scope_for(user)
    if scope.is_superuser:
        structures = Structure.objects.all()
        collectivites = Collectivite.objects.all()
    else:
        structures = Structure.objects.none()
        collectivites = Collectivite.objects.none()
        for role, kinds in permissions.INVITERS.items():
            if role not in scope.roles:
                continue
            reached_structures, reached_collectivites = _reached_by(scope, role)
            if Target.EPN not in kinds:
                reached_structures = reached_structures.exclude(kind=StructureKind.EPN)
            if Target.PARTENAIRE not in kinds:
                reached_structures = reached_structures.exclude(kind=StructureKind.PARTENAIRE)
            structures = structures | reached_structures
            if Target.COLLECTIVITE in kinds:
                collectivites = collectivites | reached_collectivites
    pairs: list[tuple[Role, object]] = []
    for structure in structures.distinct().order_by("kind", "nom", "id"):
        pairs += [(role, structure) for role in permissions.roles_of(permissions.target_kind(structure))]
    for collectivite in collectivites.distinct().order_by("nom", "id"):
        pairs += [(role, collectivite) for role in permissions.roles_of(Target.COLLECTIVITE)]
    return pairs


def may_invite(user, role, target) -> bool:
    return any(r == role and t == target for r, t in invitable_targets(user))


def may_manage_invitations(user) -> bool:
    scope = scope_for(user)
    return scope.is_superuser or permissions.holds_any(scope.roles, permissions.INVITERS)


def _check_role_target(role: Role, target) -> None:
    error = permissions.role_target_error(role, target)
    if error:
        raise ValidationError(error)


def _audit_structure(invitation: Invitation):
    """The EPN an invitation concerns, so that it appears in that EPN's journal."""
    structure = invitation.structure
    if structure is None:
        return None
    return structure if structure.is_epn else structure.referencee_par


# Invitations --------------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=INVITATION_SALT, compress=True)


def invitation_from_token(token: str) -> Invitation:
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=settings.ANCRAGE_INVITATION_MAX_AGE)
    except signing.SignatureExpired as error:
        raise InvitationInvalid("Ce lien d’invitation a expiré. Demandez une nouvelle invitation.") from error
    except signing.BadSignature as error:
        raise InvitationInvalid("Ce lien d’invitation n’est pas valide.") from error
    invitation = (
        Invitation.objects.select_related("structure", "collectivite", "reseau")
        .filter(pk=data.get("i"), nonce=data.get("n"))
        .first()
    )
    if invitation is None:
        raise InvitationInvalid(
            "Ce lien d’invitation n’est plus valide : une invitation plus récente a été envoyée."
        )
    if invitation.accepted_at:
        raise InvitationInvalid(
            "Cette invitation a déjà été acceptée. Connectez-vous avec votre adresse e-mail."
        )
    if invitation.revoked_at:
        raise InvitationInvalid("Cette invitation a été annulée.")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("Ce lien d’invitation a expiré. Demandez une nouvelle invitation.")
    return invitation


def _send_invitation(invitation: Invitation, site_url: str) -> None:
    link = site_url.rstrip("/") + reverse(
        "accounts:invitation-accept", kwargs={"token": invitation_token(invitation)}
    )
    context = {"invitation": invitation, "link": link, "expires_at": invitation.expires_at}
    send_mail(
        subject=f"Invitation à rejoindre Ancrage — {invitation.target}",
        message=render_to_string("accounts/emails/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_create(*, acting_user, email: str, role, target, site_url: str) -> Invitation:
    """Invite ``email`` to hold ``role`` in ``target``, and send the link by e-mail.

    A pending invitation for the same person, role and organisation is sent again with a new
    link (the previous link stops working) rather than duplicated.
    """
    role = Role(role)
    email = email.strip().lower()
    _check_role_target(role, target)
    if not may_invite(acting_user, role, target):
        raise PermissionDenied("Vous ne pouvez pas inviter à ce rôle dans cette organisation.")
    if email == (acting_user.email or "").strip().lower():
        raise ValidationError(
            {"email": "Vous ne pouvez pas vous inviter vous-même : un rôle est donné par quelqu’un d’autre."}
        )
    target_field = permissions.target_field(role)
    if Membership.objects.active().filter(user__email=email, role=role, **{target_field: target}).exists():
        raise ValidationError({"email": "Cette personne a déjà ce rôle dans cette organisation."})
    if (
        Invitation.objects.awaiting_approval()
        .filter(email=email, role=role, **{target_field: target})
        .exists()
    ):
        raise ValidationError(
            {"email": "Ce rôle attend déjà l’approbation de l’organisation pour cette personne."}
        )
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.ANCRAGE_INVITATION_MAX_AGE)
    invitation = (
        Invitation.objects.select_for_update()
        .pending()
        .filter(email=email, role=role, **{target_field: target})
        .first()
    )
    if invitation is None:
        invitation = Invitation.objects.create(
            email=email,
            role=role,
            invited_by=acting_user,
            nonce=secrets.token_hex(16),
            sent_at=now,
            expires_at=expires_at,
            **{target_field: target},
        )
        action = AuditAction.CREATE
    else:
        invitation.nonce = secrets.token_hex(16)
        invitation.sent_at = now
        invitation.expires_at = expires_at
        invitation.invited_by = acting_user
        invitation.save(update_fields=["nonce", "sent_at", "expires_at", "invited_by"])
        action = AuditAction.UPDATE
    audit_record(
        acting_user=acting_user,
        action=action,
        obj=invitation,
        structure=_audit_structure(invitation),
        changes={
            "invitation": "envoyée" if action == AuditAction.CREATE else "renvoyée",
            "email": email,
            "role": role.value,
        },
    )
    # Only once the invitation exists for good: a rolled-back invitation sends nothing.
    transaction.on_commit(lambda: _send_invitation(invitation, site_url))
    return invitation


@transaction.atomic
def invitation_revoke(*, acting_user, invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not may_invite(acting_user, Role(invitation.role), invitation.target):
        raise PermissionDenied("Vous ne pouvez pas annuler cette invitation.")
    if not invitation.is_pending:
        raise ValidationError("Seule une invitation en attente peut être annulée.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=invitation,
        structure=_audit_structure(invitation),
        changes={"invitation": "annulée"},
    )
    return invitation


@transaction.atomic
def user_create(*, acting_user, email: str, first_name: str = "", last_name: str = "", password=None) -> User:
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": "Un compte existe déjà avec cette adresse e-mail."})
    user = User(email=email, username=email, first_name=first_name, last_name=last_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(acting_user=acting_user, action=AuditAction.CREATE, obj=user)
    return user


@transaction.atomic
def invitation_accept(
    *,
    invitation: Invitation,
    user=None,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    site_url: str = "",
) -> User:
    """Accept a pending invitation and give the membership, or, for a role the organisation
    approves (``permissions.needs_approval``), leave it awaiting that approval and tell the
    approvers by e-mail (the link starts with ``site_url``).

    A newcomer (``user`` is None) chooses a password, which the password validators check, and
    their account is created. A person who already has an account accepts while signed in as
    that account (``user``).
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise InvitationInvalid("Cette invitation n’est plus en attente.")
    inviter = invitation.invited_by
    if user is None:
        if User.objects.filter(email=invitation.email).exists():
            raise ValidationError("Un compte existe déjà avec cette adresse : connectez-vous pour accepter.")
        validate_password(
            password or "", user=User(email=invitation.email, first_name=first_name, last_name=last_name)
        )
        user = user_create(
            acting_user=inviter,
            email=invitation.email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            password=password,
        )
    elif user.email != invitation.email:
        raise PermissionDenied("Cette invitation est adressée à une autre adresse e-mail.")
    elif inviter is not None and (inviter.pk == user.pk or inviter.email == invitation.email):
        raise PermissionDenied("Vous ne pouvez pas accepter une invitation que vous vous êtes envoyée.")
    role = Role(invitation.role)
    now = timezone.now()
    invitation.accepted_at = now
    invitation.accepted_by = user
    approved = permissions.approval_given_by_invitation(
        role,
        inviter_is_superuser=bool(inviter and inviter.is_superuser),
        target_has_approver=_has_approver(invitation),
    )
    if approved:
        # The inviter granted the role; the invitee's acceptance is recorded under their own name.
        membership_grant(acting_user=inviter, user=user, role=role, target=invitation.target)
        invitation.approved_at = now
        invitation.decided_by = inviter
    invitation.save(update_fields=["accepted_at", "accepted_by", "approved_at", "decided_by"])
    audit_record(
        acting_user=user,
        action=AuditAction.UPDATE,
        obj=invitation,
        structure=_audit_structure(invitation),
        changes={"invitation": "acceptée" if approved else "acceptée, à approuver"},
    )
    if not approved:
        transaction.on_commit(lambda: _send_approval_request(invitation, site_url))
    return user


# Approvals ----------------------------------------------------------------------------------


def _approver_memberships(invitation: Invitation):
    """The active memberships of the invitation's organisation that approve its role."""
    kind = permissions.ROLE_TARGET[Role(invitation.role)]
    roles = permissions.APPROVERS.get(kind, frozenset())
    field = permissions.target_field(invitation.role)
    return Membership.objects.active().filter(role__in=roles, **{field: invitation.target})


def _has_approver(invitation: Invitation) -> bool:
    """Whether someone other than the invitee approves in the invitation's organisation."""
    return _approver_memberships(invitation).exclude(user__email=invitation.email).exists()


def may_approve(user, invitation: Invitation) -> bool:
    """Whether ``user`` may approve (or refuse) this invitation awaiting approval."""
    if user is None or not user.is_authenticated or not invitation.is_awaiting_approval:
        return False
    held = _approver_memberships(invitation).filter(user=user).values_list("role", flat=True)
    return permissions.may_approve(
        invitation.role,
        roles_in_target=list(held),
        is_superuser=user.is_superuser,
        target_has_approver=_has_approver(invitation),
        is_inviter=invitation.invited_by_id == user.pk,
        is_invitee=invitation.accepted_by_id == user.pk or invitation.email == user.email,
    )


def approvals_for(user):
    """The invitations awaiting approval that ``user`` may approve, newest first."""
    if user is None or not user.is_authenticated:
        return Invitation.objects.none()
    candidates = Invitation.objects.awaiting_approval().select_related(
        "structure", "collectivite", "reseau", "invited_by", "accepted_by"
    )
    if not user.is_superuser:
        scope = scope_for(user)
        candidates = candidates.filter(collectivite_id__in=scope.collectivite_ids) | candidates.filter(
            structure_id__in=scope.partner_ids
        )
    ids = [invitation.pk for invitation in candidates if may_approve(user, invitation)]
    return Invitation.objects.filter(pk__in=ids).select_related(
        "structure", "collectivite", "reseau", "invited_by", "accepted_by"
    )


def awaiting_for(user):
    """The invitations ``user`` accepted that wait for their organisation's approval."""
    if user is None or not user.is_authenticated:
        return Invitation.objects.none()
    return (
        Invitation.objects.awaiting_approval()
        .filter(accepted_by=user)
        .select_related("structure", "collectivite", "reseau")
    )


def approvers_of(invitation: Invitation) -> list[User]:
    """Everyone who may approve the invitation: its organisation's approvers, else the operators."""
    users = User.objects.filter(
        is_active=True, pk__in=_approver_memberships(invitation).values("user_id")
    ) | User.objects.filter(is_active=True, is_superuser=True)
    return [user for user in users.distinct().order_by("email") if may_approve(user, invitation)]


def _send_approval_request(invitation: Invitation, site_url: str) -> None:
    recipients = [user.email for user in approvers_of(invitation)]
    if not recipients:
        return
    context = {"invitation": invitation, "link": site_url.rstrip("/") + reverse("accounts:approvals")}
    send_mail(
        subject=f"Accès à approuver — {invitation.target}",
        message=render_to_string("accounts/emails/approval_request.txt", context),
        from_email=None,
        recipient_list=recipients,
    )


def _decide(acting_user, invitation: Invitation, *, approve: bool) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_awaiting_approval:
        raise ValidationError("Cet accès n’attend plus d’approbation.")
    if not may_approve(acting_user, invitation):
        raise PermissionDenied(
            "Vous ne pouvez pas approuver ce rôle : il revient à l’organisation concernée."
        )
    now = timezone.now()
    if approve:
        membership_grant(
            acting_user=acting_user,
            user=invitation.accepted_by,
            role=Role(invitation.role),
            target=invitation.target,
        )
        invitation.approved_at = now
    else:
        invitation.refused_at = now
    invitation.decided_by = acting_user
    invitation.save(update_fields=["approved_at", "refused_at", "decided_by"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=invitation,
        structure=_audit_structure(invitation),
        changes={
            "invitation": "approuvée" if approve else "refusée",
            "email": invitation.email,
            "role": invitation.role,
        },
    )
    return invitation


@transaction.atomic
def invitation_approve(*, acting_user, invitation: Invitation) -> Invitation:
    """Approve an accepted invitation: the invitee now holds the role."""
    return _decide(acting_user, invitation, approve=True)


@transaction.atomic
def invitation_refuse(*, acting_user, invitation: Invitation) -> Invitation:
    """Refuse an accepted invitation: the invitee never holds the role."""
    return _decide(acting_user, invitation, approve=False)


# Second factor ------------------------------------------------------------------------------


@transaction.atomic
def totp_device_start(*, acting_user) -> TOTPDevice:
    """The device being enrolled: an unconfirmed TOTP key, drawn once and kept until confirmed."""
    device = TOTPDevice.objects.filter(user=acting_user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=acting_user, name="Application d’authentification", confirmed=False
        )
        audit_record(
            acting_user=acting_user, action=AuditAction.CREATE, obj=device, changes={"confirmee": False}
        )
    return device


@transaction.atomic
def totp_device_confirm(*, acting_user, device: TOTPDevice, token: str) -> bool:
    """Confirm enrolment with a first code. Returns False when the code is wrong."""
    if device.user_id != acting_user.pk or device.confirmed:
        raise PermissionDenied
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # Other keys drawn earlier and never confirmed are dropped: only the one in the app remains.
    TOTPDevice.objects.filter(user=acting_user, confirmed=False).delete()
    audit_record(acting_user=acting_user, action=AuditAction.UPDATE, obj=device, changes={"confirmee": True})
    return True


@transaction.atomic
def totp_device_create_confirmed(*, acting_user, user, key_hex: str, name: str) -> TOTPDevice:
    """A confirmed device with a known key: used by the demo loader only (documented key)."""
    device = TOTPDevice.objects.create(user=user, name=name, key=key_hex, confirmed=True)
    audit_record(acting_user=acting_user, action=AuditAction.CREATE, obj=device, changes={"confirmee": True})
    return device


# Passwords ----------------------------------------------------------------------------------


@transaction.atomic
def user_password_set(*, acting_user, user, form) -> User:
    """Save a password form (reset by e-mail) and record that the password changed, never the password."""
    form.save()
    audit_record(
        acting_user=acting_user, action=AuditAction.UPDATE, obj=user, changes={"mot_de_passe": "modifié"}
    )
    return user


# REST API tokens ----------------------------------------------------------------------------


@transaction.atomic
def api_token_create(*, acting_user, nom: str, expires_at=None) -> tuple[ApiToken, str]:
    """A new token for ``acting_user``, and its secret (shown once: only its digest is kept).

    A token acts as its user: only the signed-in person creates one, for themselves."""
    from ancrage.accounts import tokens

    if acting_user is None or not acting_user.is_authenticated or not acting_user.is_active:
        raise PermissionDenied("Connectez-vous pour créer un jeton d’API.")
    nom = (nom or "").strip()
    if not nom:
        raise ValidationError({"nom": "Donnez un nom au jeton (par exemple l’outil qui l’utilisera)."})
    if len(nom) > ApiToken._meta.get_field("nom").max_length:
        raise ValidationError({"nom": "Ce nom est trop long (100 caractères au plus)."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "La date d’expiration doit être dans le futur."})
    # Counted under a lock on the user's row: two creations at once cannot both pass the limit.
    User.objects.select_for_update().filter(pk=acting_user.pk).first()
    if ApiToken.objects.active().filter(user=acting_user).count() >= tokens.MAX_ACTIVE_TOKENS:
        raise ValidationError(
            f"Vous avez déjà {tokens.MAX_ACTIVE_TOKENS} jetons actifs : "
            "révoquez-en un avant d’en créer un autre."
        )
    secret = tokens.new_secret()
    token = ApiToken.objects.create(
        user=acting_user,
        nom=nom,
        prefixe=secret[: tokens.SHOWN_LENGTH],
        empreinte=tokens.digest(secret),
        expires_at=expires_at,
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=token,
        changes={"objet": "jeton d’API", "nom": nom, "expire_le": expires_at},
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, acting_user, token: ApiToken) -> ApiToken:
    """Revoke one of the user's own tokens: it authenticates nothing from now on."""
    if acting_user is None or token.user_id != acting_user.pk:
        raise PermissionDenied("Vous ne pouvez révoquer que vos propres jetons.")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            acting_user=acting_user,
            action=AuditAction.DELETE,
            obj=token,
            changes={"objet": "jeton d’API", "nom": token.nom, "révoqué": True},
        )
    return token
