"""The scoping rule: who sees which structures. Every page and export reads through it."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ancrage.organisations.enums import CollectiviteType, Role, StructureKind
from ancrage.organisations.models import Collectivite, Reseau, Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import ANONYMOUS, scope_for
from tests.organisations.factories import (
    CollectiviteFactory,
    MembershipFactory,
    ReseauFactory,
    StructureFactory,
    UserFactory,
)
from tests.properties import examples


@pytest.fixture
def world(db):
    r1 = ReseauFactory(nom="Réseau 35")
    r2 = ReseauFactory(nom="Autre réseau")
    rm = CollectiviteFactory(reseau=r1, rennes_metropole=True)
    vit = CollectiviteFactory(reseau=r1, vitre=True)
    rm2 = CollectiviteFactory(reseau=r2, rennes_metropole=True)
    a = StructureFactory(reseau=r1, nom="EPN A", collectivite=rm, code_commune="35238")
    b = StructureFactory(reseau=r1, nom="EPN B", collectivite=vit, code_commune="35360")
    # C is in Cesson-Sévigné, a commune of Rennes Métropole, but attached to no collectivité.
    c = StructureFactory(reseau=r1, nom="EPN C", collectivite=None, code_commune="35051")
    # D is in Rennes too, but in another réseau: Rennes Métropole's référent of r1 must not see it.
    d = StructureFactory(reseau=r2, nom="EPN D", collectivite=rm2, code_commune="35238")
    p1 = StructureFactory(reseau=r1, partenaire=True, nom="P1", referencee_par=a)
    p2 = StructureFactory(reseau=r1, partenaire=True, nom="P2", referencee_par=a)
    p3 = StructureFactory(reseau=r1, partenaire=True, nom="P3", referencee_par=b)

    def member(role, **target):
        return MembershipFactory(role=role, **{"structure": None, **target}).user

    users = {
        "anim_a": member(Role.ANIMATEUR, structure=a),
        "resp_a": member(Role.RESPONSABLE, structure=a),
        "anim_b": member(Role.ANIMATEUR, structure=b),
        "ref_rm": member(Role.REFERENT, collectivite=rm),
        "elu_rm": member(Role.ELU, collectivite=rm),
        "ref_vit": member(Role.REFERENT, collectivite=vit),
        "coord_r1": member(Role.COORDINATEUR, reseau=r1),
        "partner_p1": member(Role.PARTENAIRE, structure=p1),
        "nobody": UserFactory(),
    }
    structures = {s.nom: s for s in (a, b, c, d, p1, p2, p3)}
    return users, structures, {"r1": r1, "r2": r2, "rm": rm, "vit": vit, "rm2": rm2}


EXPECTED_STRUCTURES = {
    "anim_a": {"EPN A", "P1", "P2"},
    "resp_a": {"EPN A", "P1", "P2"},
    "anim_b": {"EPN B", "P3"},
    "ref_rm": {"EPN A", "EPN C", "P1", "P2"},
    "elu_rm": {"EPN A", "EPN C", "P1", "P2"},
    "ref_vit": {"EPN B", "P3"},
    "coord_r1": {"EPN A", "EPN B", "EPN C", "P1", "P2", "P3"},
    "partner_p1": {"P1"},
    "nobody": set(),
}


@pytest.mark.parametrize("who", sorted(EXPECTED_STRUCTURES))
def test_each_role_sees_exactly_its_structures(world, who):
    users, _, _ = world
    visible = set(Structure.objects.visible_to(users[who]).values_list("nom", flat=True))
    assert visible == EXPECTED_STRUCTURES[who]


def test_anonymous_sees_nothing(world):
    assert not Structure.objects.visible_to(ANONYMOUS).exists()
    assert not Reseau.objects.visible_to(ANONYMOUS).exists()


def test_collectivites_and_reseaux_follow_the_same_rule(world):
    users, _, orgs = world
    assert set(Collectivite.objects.visible_to(users["anim_a"])) == {orgs["rm"]}
    assert set(Collectivite.objects.visible_to(users["ref_vit"])) == {orgs["vit"]}
    assert set(Collectivite.objects.visible_to(users["coord_r1"])) == {orgs["rm"], orgs["vit"]}
    assert not Collectivite.objects.visible_to(users["partner_p1"]).exists()
    # Through a reverse relation with several rows, a réseau is still listed once.
    assert list(Reseau.objects.visible_to(users["coord_r1"])) == [orgs["r1"]]
    assert list(Reseau.objects.visible_to(users["partner_p1"])) == [orgs["r1"]]


def test_only_epn_staff_may_write(world):
    users, structures, _ = world
    # Staff write their EPN and the partners of its directory.
    own = {structures["EPN A"], structures["P1"], structures["P2"]}
    for permission in Permission:
        if permission == Permission.USAGER_DATA:
            continue  # the responsable's alone
        assert set(Structure.objects.writable_by(users["anim_a"], permission)) == own, permission
        assert set(Structure.objects.writable_by(users["resp_a"], permission)) == own, permission
        for who in ("ref_rm", "elu_rm", "coord_r1", "partner_p1", "nobody"):
            assert not Structure.objects.writable_by(users[who], permission).exists(), (who, permission)
    assert set(Structure.objects.writable_by(users["resp_a"], Permission.USAGER_DATA)) == own
    assert not Structure.objects.writable_by(users["anim_a"], Permission.USAGER_DATA).exists()


def test_revoked_membership_gives_nothing(world):
    users, _, _ = world
    users["anim_a"].memberships.update(is_active=False)
    users["anim_a"].refresh_from_db()
    assert not Structure.objects.visible_to(users["anim_a"]).exists()


def test_scope_is_computed_once_per_user_object(world, django_assert_num_queries):
    users, _, _ = world
    user = users["ref_rm"]
    scope_for(user)
    with django_assert_num_queries(0):
        scope_for(user)


# A property: in any small random world, an EPN's staff sees its own EPN and the partners it
# referenced, and nothing of any other EPN; a partner sees its own organisation only.
world_shapes = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from(["35238", "35051", "35360"]), st.integers(0, 3)),
    min_size=1,
    max_size=6,
)


@pytest.mark.django_db
@examples(40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(epns=world_shapes, partner_owner=st.lists(st.integers(0, 5), max_size=6))
def test_property_staff_and_partners_never_see_other_epns(epns, partner_owner):
    with transaction.atomic():
        reseaux = [Reseau.objects.create(nom=f"R{i}") for i in range(2)]
        epn_objects = [
            Structure.objects.create(reseau=reseaux[r], nom=f"E{i}", code_commune=code)
            for i, (r, code, _) in enumerate(epns)
        ]
        partners = []
        for j, owner in enumerate(partner_owner):
            epn = epn_objects[owner % len(epn_objects)]
            partners.append(
                Structure.objects.create(
                    reseau=epn.reseau, nom=f"P{j}", kind=StructureKind.PARTENAIRE, referencee_par=epn
                )
            )
        for epn in epn_objects:
            staff = MembershipFactory(role=Role.ANIMATEUR, structure=epn).user
            expected = {epn.pk} | {p.pk for p in partners if p.referencee_par_id == epn.pk}
            assert set(Structure.objects.visible_to(staff).values_list("pk", flat=True)) == expected
        for partner in partners:
            contact = MembershipFactory(role=Role.PARTENAIRE, structure=partner).user
            assert list(Structure.objects.visible_to(contact).values_list("pk", flat=True)) == [partner.pk]
        transaction.set_rollback(True)


def test_referent_of_a_commune_sees_epns_located_in_it(db):
    reseau = ReseauFactory()
    vitre = Collectivite.objects.create(
        reseau=reseau, type=CollectiviteType.COMMUNE, code="35360", nom="Vitré"
    )
    located = StructureFactory(reseau=reseau, code_commune="35360", collectivite=None)
    elsewhere = StructureFactory(reseau=reseau, code_commune="35238", collectivite=None)
    referent = MembershipFactory(role=Role.REFERENT, structure=None, collectivite=vitre).user
    visible = set(Structure.objects.visible_to(referent))
    assert located in visible
    assert elsewhere not in visible
