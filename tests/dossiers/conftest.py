"""A small world for the dossiers: Rennes Métropole and its EPN, a référente, an animatrice,
an action with an objective, and a dossier with a balanced budget; Vitré beside it."""

from types import SimpleNamespace

import pytest

from ancrage.actions import services as actions
from ancrage.dossiers import services
from ancrage.organisations.enums import Role
from tests.organisations.factories import (
    CollectiviteFactory,
    MembershipFactory,
    ReseauFactory,
    StructureFactory,
    UserFactory,
)

BUDGET = {
    "charges": [
        {"categorie": "64", "libelle": "Animation", "montant": "1000"},
        {"categorie": "861", "libelle": "Salle prêtée", "montant": "200"},
    ],
    "ressources": [
        {
            "categorie": "74",
            "libelle": "Subvention",
            "montant": "700",
            "contributeur": "Rennes Métropole",
            "type_contributeur": "financeur",
        },
        {
            "categorie": "fp",
            "libelle": "Fonds propres",
            "montant": "300",
            "contributeur": "EPN",
            "type_contributeur": "porteur",
        },
        {
            "categorie": "871",
            "libelle": "Salle",
            "montant": "200",
            "contributeur": "Centre social",
            "type_contributeur": "partenaire",
        },
    ],
}


def member(role, **target):
    user = UserFactory()
    MembershipFactory(user=user, role=role, **target)
    return user


def build_world():
    reseau = ReseauFactory()
    metropole = CollectiviteFactory(reseau=reseau, rennes_metropole=True)
    vitre = CollectiviteFactory(reseau=reseau, vitre=True)
    epn = StructureFactory(reseau=reseau, collectivite=metropole, code_commune="35238")
    vitre_epn = StructureFactory(reseau=reseau, collectivite=vitre, code_commune="35360")
    partner = StructureFactory(reseau=reseau, partenaire=True, referencee_par=epn)
    world = SimpleNamespace(
        reseau=reseau,
        metropole=metropole,
        vitre=vitre,
        epn=epn,
        vitre_epn=vitre_epn,
        partner=partner,
        animateur=member(Role.ANIMATEUR, structure=epn),
        referent=member(Role.REFERENT, collectivite=metropole, structure=None),
        referent2=member(Role.REFERENT, collectivite=metropole, structure=None),
        elu=member(Role.ELU, collectivite=metropole, structure=None),
        vitre_animateur=member(Role.ANIMATEUR, structure=vitre_epn),
        vitre_referent=member(Role.REFERENT, collectivite=vitre, structure=None),
        partenaire=member(Role.PARTENAIRE, structure=partner),
    )
    world.action = actions.action_create(
        acting_user=world.animateur, epn=epn, titre="Ateliers seniors", thematique="seniors et autonomie"
    )
    actions.action_partenaire_add(acting_user=world.animateur, action=world.action, partenaire=partner)
    actions.objectif_add(
        acting_user=world.animateur, action=world.action, libelle="participants", valeur_cible=40
    )
    world.dossier = new_dossier(world)
    return world


def new_dossier(world):
    dossier = services.dossier_create(acting_user=world.animateur, action=world.action)
    services.dossier_set_budget(acting_user=world.animateur, dossier=dossier, **BUDGET)
    return dossier


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def committed_db(postgres_only, committed_db):
    """Committed data, for tests where several connections must see the same rows (PostgreSQL)."""
    return committed_db
