"""The permissions module: its functions, and how scoping, the database and the pages use it.

What each role may do, page by page, is stated in tests/security/matrix.py, and
tests/security/test_permission_matrix.py checks that the module grants exactly that.
"""

from types import SimpleNamespace

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ancrage.accounts.models import Invitation
from ancrage.dossiers import workflow
from ancrage.organisations import permissions
from ancrage.organisations.models import Collectivite, Membership, Reseau, Structure
from ancrage.organisations.permissions import Permission, Role, Target
from ancrage.organisations.scoping import scope_for
from ancrage.www import navigation
from tests.organisations.factories import (
    CollectiviteFactory,
    MembershipFactory,
    ReseauFactory,
    StructureFactory,
    UserFactory,
)

TARGETS = {
    Target.EPN: Structure(kind="epn", nom="EPN"),
    Target.PARTENAIRE: Structure(kind="partenaire", nom="Partenaire"),
    Target.COLLECTIVITE: Collectivite(nom="Rennes"),
    Target.RESEAU: Reseau(nom="Réseau"),
}


def test_every_role_has_a_target_a_label_and_a_phrase():
    for role in Role:
        assert permissions.ROLE_TARGET[role] in Target
        assert role.label and permissions.ROLE_PHRASES[role]
    assert [value for value, _ in permissions.ROLE_CHOICES] == [role.value for role in Role]
    assert set(permissions.PRECEDENCE) == set(Role)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("kind", list(Target))
def test_a_role_applies_only_to_its_kind_of_organisation(role, kind):
    error = permissions.role_target_error(role, TARGETS[kind])
    if permissions.ROLE_TARGET[role] == kind:
        assert error is None
    else:
        assert error == f"Le rôle « {role.label} » ne s’applique pas à « {TARGETS[kind]} »."
    assert permissions.role_target_error(role, None) is not None


def test_each_role_points_at_one_field():
    by_field = permissions.roles_by_field()
    assert sorted(role for roles in by_field.values() for role in roles) == sorted(Role)
    assert by_field == {
        "structure": [Role.ANIMATEUR, Role.RESPONSABLE, Role.PARTENAIRE],
        "collectivite": [Role.REFERENT, Role.ELU],
        "reseau": [Role.COORDINATEUR],
    }


def _scope(reach, superuser=False):
    return SimpleNamespace(is_superuser=superuser, epn_reach=reach)


def test_a_permission_applies_where_a_granted_role_reaches():
    scope = _scope({Role.ANIMATEUR: frozenset({1}), Role.REFERENT: frozenset({1, 2})})
    assert permissions.may(scope, Permission.ACTION_WRITE, 1)
    # The référent reaches EPN 2, but the permission is the team's: the animateur's EPN only.
    assert not permissions.may(scope, Permission.ACTION_WRITE, 2)
    assert not permissions.may(scope, Permission.USAGER_DATA, 1)  # the responsable's alone
    assert permissions.epns_with(scope, Permission.ACTION_WRITE) == {1}
    assert permissions.may(_scope({}, superuser=True), Permission.USAGER_DATA, 3)
    assert permissions.epns_with(_scope({}, superuser=True), Permission.ACTION_WRITE) == frozenset()


def test_the_collectivites_priorities_are_its_referents_to_change_and_its_people_to_read():
    # One person, référent of collectivité 1 and élu of 2 (and a coordinateur, who sees both,
    # holds no role in them: nothing in ``collectivite_reach``).
    scope = SimpleNamespace(
        is_superuser=False, collectivite_reach={Role.REFERENT: frozenset({1}), Role.ELU: frozenset({2})}
    )
    writers, readers = permissions.PRIORITES_COLLECTIVITE_WRITERS, permissions.TERRITOIRE_READERS
    assert permissions.may_collectivite(scope, writers, 1)
    assert not permissions.may_collectivite(scope, writers, 2)  # an élu reads, the référent writes
    assert permissions.may_collectivite(scope, readers, 2) and not permissions.may_collectivite(
        scope, readers, 3
    )
    nobody = SimpleNamespace(is_superuser=False, collectivite_reach={})
    assert not permissions.may_collectivite(nobody, readers, 1)
    assert permissions.may_collectivite(SimpleNamespace(is_superuser=True, collectivite_reach={}), writers, 9)


def test_holds_any_compares_the_scope_role_values():
    assert permissions.holds_any(frozenset({"elu"}), permissions.SECOND_FACTOR_ROLES)
    assert not permissions.holds_any(frozenset({"animateur"}), permissions.SECOND_FACTOR_ROLES)
    assert not permissions.holds_any(frozenset(), permissions.MENU["home:index"])


def test_the_dossier_workflow_takes_its_sides_from_the_module():
    for transition in workflow.TRANSITIONS:
        assert transition.roles in (permissions.DOSSIER_DEPOSITORS, permissions.DOSSIER_INSTRUCTORS)


def test_the_menu_and_the_module_name_the_same_entries():
    assert [name for _, name in navigation.MENU] == list(permissions.MENU)


@pytest.mark.django_db
def test_the_scope_records_what_each_role_reaches():
    reseau = ReseauFactory()
    metropole = CollectiviteFactory(reseau=reseau, rennes_metropole=True)
    own = StructureFactory(reseau=reseau, collectivite=metropole)
    territory = StructureFactory(reseau=reseau, collectivite=metropole)
    elsewhere = StructureFactory(reseau=reseau, collectivite=None, code_commune="35360")
    user = UserFactory()
    MembershipFactory(user=user, role=Role.ANIMATEUR, structure=own)
    MembershipFactory(user=user, role=Role.REFERENT, structure=None, collectivite=metropole)
    scope = scope_for(user)
    assert scope.epn_reach == {
        Role.ANIMATEUR: {own.pk},
        Role.REFERENT: {own.pk, territory.pk},
    }
    assert scope.collectivite_reach == {Role.REFERENT: {metropole.pk}}
    assert scope.may(Permission.SUIVI_WRITE, own.pk)
    assert not scope.may(Permission.SUIVI_WRITE, territory.pk)
    coordinateur = MembershipFactory(role=Role.COORDINATEUR, structure=None, reseau=reseau).user
    assert scope_for(coordinateur).epn_reach == {Role.COORDINATEUR: {own.pk, territory.pk, elsewhere.pk}}
    assert scope_for(coordinateur).collectivite_reach == {}


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Membership, Invitation])
def test_the_database_holds_the_role_target_rule_for_memberships_and_invitations(model):
    epn = StructureFactory()
    collectivite = CollectiviteFactory(reseau=epn.reseau)
    extra = {"user": UserFactory()} if model is Membership else {"email": "x@exemple.fr", "nonce": "n"}
    if model is Invitation:
        extra |= {"sent_at": timezone.now(), "expires_at": timezone.now()}
    with transaction.atomic():
        model.objects.create(role=Role.REFERENT, collectivite=collectivite, **extra)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(role=Role.REFERENT, structure=epn, **extra)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(role=Role.ANIMATEUR, structure=epn, collectivite=collectivite, **extra)
