"""A small world for the convention tests: one EPN of Rennes with two partners (each with an
account), an élu of the collectivité, an action with its task matrix, and another EPN."""

import datetime as dt
from types import SimpleNamespace

from ancrage.actions import services as actions
from ancrage.organisations.enums import Role
from tests.organisations.factories import (
    CollectiviteFactory,
    MembershipFactory,
    ReseauFactory,
    StructureFactory,
    UserFactory,
)


def _member(role, **target):
    user = UserFactory(first_name=role.capitalize())
    MembershipFactory(
        user=user, role=role, structure=target.get("structure"), collectivite=target.get("collectivite")
    )
    return user


def build_world() -> SimpleNamespace:
    reseau = ReseauFactory()
    rennes = CollectiviteFactory(reseau=reseau)
    epn = StructureFactory(reseau=reseau, collectivite=rennes, nom="EPN des Glycines")
    asso = StructureFactory(
        reseau=reseau, partenaire=True, nom="Association Lire Ensemble", referencee_par=epn
    )
    ccas = StructureFactory(reseau=reseau, partenaire=True, nom="CCAS de Rennes", referencee_par=epn)
    other_epn = StructureFactory(
        reseau=reseau, collectivite=rennes, nom="EPN de Cesson", code_commune="35051"
    )
    other_partner = StructureFactory(
        reseau=reseau, partenaire=True, nom="Autre partenaire", referencee_par=other_epn
    )
    world = SimpleNamespace(
        reseau=reseau,
        rennes=rennes,
        epn=epn,
        asso=asso,
        ccas=ccas,
        other_epn=other_epn,
        other_partner=other_partner,
        animateur=_member(Role.ANIMATEUR, structure=epn),
        responsable=_member(Role.RESPONSABLE, structure=epn),
        asso_user=_member(Role.PARTENAIRE, structure=asso),
        ccas_user=_member(Role.PARTENAIRE, structure=ccas),
        elu=_member(Role.ELU, collectivite=rennes),
        other_animateur=_member(Role.ANIMATEUR, structure=other_epn),
        other_partner_user=_member(Role.PARTENAIRE, structure=other_partner),
    )
    action = actions.action_create(
        acting_user=None,
        epn=epn,
        titre="Ateliers numériques et illettrisme",
        contenu="Accompagner les adultes en situation d'illettrisme dans leurs démarches en ligne.",
    )
    for partner in (asso, ccas):
        actions.action_partenaire_add(acting_user=None, action=action, partenaire=partner)
    actions.objectif_add(acting_user=None, action=action, libelle="participants", valeur_cible=40)
    asso_key, ccas_key = f"partenaire-{asso.pk}", f"partenaire-{ccas.pk}"
    actions.matrice_update(
        acting_user=None,
        action=action,
        rows={
            "pilotage": ("epn", {asso_key}),
            "animation": ("epn", set()),
            "mobilisation": (asso_key, {ccas_key}),
            "financement": (ccas_key, {"collectivite"}),
        },
    )
    world.action = action
    world.start = dt.date(2026, 1, 1)
    return world


def sign_with_code(user, convention, **kwargs):
    """Sign as ``user``: ask for the one-time code (caught instead of e-mailed), then give it."""
    from ancrage.conventions import services

    caught = {}
    services.signature_code_send(
        acting_user=user,
        convention=convention,
        deliver=lambda _user, _convention, code, _expires: caught.update(code=code),
        **{k: v for k, v in kwargs.items() if k in ("etape", "tour")},
    )
    return services.convention_sign(acting_user=user, convention=convention, code=caught["code"], **kwargs)
