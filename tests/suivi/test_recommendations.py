from datetime import timedelta
from fractions import Fraction

import pytest
from django.utils import timezone

from ancrage.actions import services
from ancrage.actions.models import Objectif, Seance
from ancrage.diagnostic.models import Diagnostic
from ancrage.suivi.recommendations import recommendations
from tests.partenaires.factories import epn_with_two_partners

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return epn_with_two_partners()


def _action(epn, animateur, **fields):
    return services.action_create(acting_user=animateur, epn=epn, titre="Ateliers", **fields)


def test_recommendation_ranks_the_directory_for_the_action(world):
    epn, animateur, ml, cs = world
    Diagnostic.objects.create(
        structure=epn,
        titre="D",
        resultat={"secteurs": [{"code": "352381102", "nom": "Blosne", "sous_frequente": True}]},
    )
    action = _action(epn, animateur, thematique="seniors et autonomie", publics=["age:60-69"])
    ranked, diagnostic = recommendations(action)
    assert diagnostic is not None
    assert [item.partenaire for item in ranked] == [cs, ml]
    assert "Blosne" in ranked[0].recommendation.explanation
    services.action_partenaire_add(acting_user=animateur, action=action, partenaire=cs.structure)
    ranked, _ = recommendations(action)
    assert [item.partenaire for item in ranked] == [ml]


def test_recommendation_weighs_what_past_actions_with_the_partner_achieved(world):
    epn, animateur, ml, cs = world
    past = _action(epn, animateur, publics=["age:60-69"])
    services.action_partenaire_add(acting_user=animateur, action=past, partenaire=cs.structure)
    Objectif.objects.create(action=past, libelle="Seniors accompagnés", valeur_cible=10)
    start = timezone.now() - timedelta(days=60)
    Seance.objects.create(action=past, titre="Séance 1", debut=start, fin=start + timedelta(hours=2))
    for vers in ("en_construction", "validee", "en_cours", "terminee"):
        past = services.action_transition(acting_user=animateur, action=past, vers=vers)

    action = _action(epn, animateur, thematique="seniors et autonomie", publics=["age:60-69"])
    ranked = {item.partenaire: item.recommendation for item in recommendations(action)[0]}
    # Nobody came to the past action: below the neutral 0.5 of a partner without history.
    assert ranked[cs].components.past_results < Fraction(1, 2) == ranked[ml].components.past_results
    assert "1 action commune, objectifs atteints à 0 %" in ranked[cs].explanation
    assert "pas encore d'action commune" in ranked[ml].explanation


def test_an_entry_typed_with_its_commune_name_only_is_local_when_the_territory_has_that_commune(world):
    epn, animateur, ml, cs = world
    action = _action(epn, animateur, thematique="insertion et emploi", publics=["age:15-29"])
    ranked, _ = recommendations(action)
    # The factory's entries say only « Rennes », the collectivité's commune.
    assert all(item.local for item in ranked)
    assert all("lieu situé à Rennes" in item.recommendation.explanation for item in ranked)
