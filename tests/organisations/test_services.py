import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from ancrage.audit.models import AuditEntry
from ancrage.organisations import services
from ancrage.organisations.enums import Role, StructureKind
from ancrage.organisations.models import Membership
from tests.organisations.factories import ReseauFactory, StructureFactory, UserFactory


@pytest.fixture
def admin_user(db):
    return UserFactory(email="admin@exemple.fr")


def test_collectivite_takes_its_name_from_the_cog_and_is_audited(admin_user):
    reseau = ReseauFactory()
    collectivite = services.collectivite_create(
        acting_user=admin_user, reseau=reseau, type="epci", code="243500139"
    )
    assert collectivite.nom == "Rennes Métropole"
    assert len(collectivite.communes()) == 43
    entry = AuditEntry.objects.get(object_type="organisations.collectivite", object_id=str(collectivite.pk))
    assert (entry.action, entry.actor, entry.actor_label) == ("create", admin_user, "admin@exemple.fr")


def test_unknown_cog_code_is_refused_and_nothing_is_written(admin_user):
    reseau = ReseauFactory()
    with pytest.raises(ValidationError, match="n'existe pas dans le COG"):
        services.collectivite_create(acting_user=admin_user, reseau=reseau, type="commune", code="99999")
    assert not reseau.collectivites.exists()
    assert not AuditEntry.objects.filter(object_type="organisations.collectivite").exists()


def test_structure_update_records_only_what_changed(admin_user):
    structure = StructureFactory(nom="Avant")
    services.structure_update(acting_user=admin_user, structure=structure, nom="Après", code_commune="35238")
    entry = AuditEntry.objects.get(action="update", object_id=str(structure.pk))
    assert entry.changes == {"nom": ["Avant", "Après"]}
    assert entry.structure_id == structure.pk


def test_structure_with_unknown_commune_is_refused(admin_user):
    with pytest.raises(ValidationError) as error:
        services.structure_create(
            acting_user=admin_user, reseau=ReseauFactory(), nom="X", code_commune="00000"
        )
    assert "code_commune" in error.value.message_dict


def test_partner_must_be_referenced_by_an_epn_of_the_same_reseau(admin_user):
    epn = StructureFactory()
    with pytest.raises(ValidationError):
        services.structure_create(
            acting_user=admin_user,
            reseau=ReseauFactory(),
            nom="P",
            kind=StructureKind.PARTENAIRE,
            referencee_par=epn,
        )


@pytest.mark.parametrize(
    ("role", "target_kind", "ok"),
    [
        (Role.ANIMATEUR, "epn", True),
        (Role.ANIMATEUR, "partenaire", False),
        (Role.PARTENAIRE, "partenaire", True),
        (Role.PARTENAIRE, "epn", False),
        (Role.REFERENT, "epn", False),
        (Role.COORDINATEUR, "reseau", True),
        (Role.COORDINATEUR, "epn", False),
    ],
)
def test_membership_role_matches_its_target(admin_user, role, target_kind, ok):
    reseau = ReseauFactory()
    target = {
        "epn": lambda: StructureFactory(reseau=reseau),
        "partenaire": lambda: StructureFactory(reseau=reseau, partenaire=True),
        "reseau": lambda: reseau,
    }[target_kind]()
    user = UserFactory()
    if ok:
        membership = services.membership_grant(acting_user=admin_user, user=user, role=role, target=target)
        assert membership.target == target
        # Granting twice is harmless.
        assert (
            services.membership_grant(acting_user=admin_user, user=user, role=role, target=target)
            == membership
        )
    else:
        with pytest.raises(ValidationError):
            services.membership_grant(acting_user=admin_user, user=user, role=role, target=target)


def test_database_refuses_a_membership_pointing_at_the_wrong_kind_of_target(db):
    user = UserFactory()
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=user, role=Role.REFERENT, structure=StructureFactory())


def test_revoking_a_membership_is_audited(admin_user):
    membership = services.membership_grant(
        acting_user=admin_user, user=UserFactory(), role=Role.ANIMATEUR, target=StructureFactory()
    )
    services.membership_revoke(acting_user=admin_user, membership=membership)
    membership.refresh_from_db()
    assert not membership.is_active
    assert AuditEntry.objects.filter(action="update", object_id=str(membership.pk)).exists()
