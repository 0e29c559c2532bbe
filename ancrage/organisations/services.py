"""Writes on organisations and memberships. Each is atomic and leaves an audit entry."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record, model_changes, snapshot
from ancrage.organisations import cog, permissions
from ancrage.organisations.enums import Role, StructureKind
from ancrage.organisations.models import Collectivite, Membership, Reseau, Structure


@transaction.atomic
def reseau_create(*, acting_user, nom: str) -> Reseau:
    reseau = Reseau.objects.create(nom=nom)
    audit_record(acting_user=acting_user, action=AuditAction.CREATE, obj=reseau)
    return reseau


@transaction.atomic
def collectivite_create(*, acting_user, reseau: Reseau, type: str, code: str) -> Collectivite:
    """A collectivité is named by its COG code; its name and communes come from the COG."""
    try:
        nom = cog.name_of(type, code)
    except cog.UnknownCode as error:
        raise ValidationError({"code": str(error)}) from error
    collectivite = Collectivite.objects.create(reseau=reseau, type=type, code=code, nom=nom)
    audit_record(acting_user=acting_user, action=AuditAction.CREATE, obj=collectivite)
    return collectivite


STRUCTURE_FIELDS = ("nom", "kind", "typologie", "collectivite", "code_commune", "siret", "referencee_par")


def check_structure(structure: Structure) -> None:
    errors = {}
    if structure.code_commune:
        try:
            cog.commune(structure.code_commune)
        except cog.UnknownCode as error:
            errors["code_commune"] = str(error)
    if structure.collectivite and structure.collectivite.reseau_id != structure.reseau_id:
        errors["collectivite"] = "La collectivité de rattachement appartient à un autre réseau."
    if structure.kind == StructureKind.PARTENAIRE and structure.collectivite_id:
        errors["collectivite"] = "Seul un EPN est rattaché à une collectivité."
    if structure.referencee_par and (
        structure.kind != StructureKind.PARTENAIRE
        or structure.referencee_par.reseau_id != structure.reseau_id
    ):
        errors["referencee_par"] = (
            "Seule une organisation partenaire est référencée par un EPN du même réseau."
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def structure_create(
    *, acting_user, reseau: Reseau, nom: str, kind: str = StructureKind.EPN, **fields
) -> Structure:
    structure = Structure(reseau=reseau, nom=nom, kind=kind, **fields)
    check_structure(structure)
    structure.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=structure,
        structure=structure if structure.is_epn else structure.referencee_par,
        changes=model_changes(structure, STRUCTURE_FIELDS, {}),
    )
    return structure


@transaction.atomic
def structure_update(*, acting_user, structure: Structure, **fields) -> Structure:
    unknown = set(fields) - set(STRUCTURE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown structure fields: {sorted(unknown)}")
    before = snapshot(structure, STRUCTURE_FIELDS)
    for name, value in fields.items():
        setattr(structure, name, value)
    check_structure(structure)
    structure.save()
    changes = model_changes(structure, STRUCTURE_FIELDS, before)
    if changes:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=structure,
            structure=structure if structure.is_epn else structure.referencee_par,
            changes=changes,
        )
    return structure


@transaction.atomic
def membership_grant(*, acting_user, user, role: Role, target) -> Membership:
    """Give ``user`` the ``role`` in ``target`` (a Structure, Collectivite or Reseau)."""
    role = Role(role)
    error = permissions.role_target_error(role, target)
    if error:
        raise ValidationError(error)
    expected = permissions.target_field(role)
    membership, created = Membership.objects.get_or_create(user=user, role=role, **{expected: target})
    if not created and not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        created = True
    if created:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.CREATE,
            obj=membership,
            structure=target if expected == "structure" else None,
            changes={"utilisateur": user.email, "role": role.value},
        )
    return membership


@transaction.atomic
def membership_revoke(*, acting_user, membership: Membership) -> None:
    if membership.is_active:
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=membership,
            structure=membership.structure,
            changes={"is_active": [True, False]},
        )
