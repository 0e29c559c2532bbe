"""The recommendation reads the national standard and the map, on the demo (Rennes Métropole):
an action in Rennes-Maurepas for young job seekers, a directory holding real Charente places
(an extract of the Cartographie nationale's file) and made-up Rennes places described only by the
standard's columns."""

from pathlib import Path

import pytest
from django.urls import reverse

from ancrage.actions import services as actions
from ancrage.partenaires import services as partenaires
from ancrage.partenaires.models import Partenaire
from ancrage.suivi.recommendations import recommendations
from ancrage.territoire.models import Secteur
from tests.demo_accounts import blosne, login

pytestmark = pytest.mark.demo(conventions=False)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "partenaires"
# Rennes numbers its IRIS by quartier: 05 is Maurepas - Bellangerais.
MAUREPAS = [f"3523805{n:02d}" for n in range(1, 10)]


def _import(epn, name):
    return partenaires.import_directly(
        acting_user=None, epn=epn, data=(FIXTURES / name).read_bytes(), filename=name
    ).created


def _maurepas_action(epn):
    return actions.action_create(
        acting_user=None,
        epn=epn,
        titre="Jeunes de Maurepas : vers l’emploi avec le numérique",
        thematique="insertion et emploi",
        services=["Insertion professionnelle via le numérique"],
        publics=["age:15-29", "activite:chomeur"],
        secteurs=MAUREPAS,
    )


@pytest.fixture
def world(demo):
    epn = blosne()
    charente = _import(epn, "charente-extrait-quirks.json")
    rennes = _import(epn, "rennes-fictifs.json")
    return epn, charente, rennes, _maurepas_action(epn)


def test_a_rennes_place_for_young_people_ranks_top_3_and_no_charente_place_above_rennes(world):
    epn, charente, rennes, action = world
    assert len(charente) >= 20  # the real places did enter the directory
    ranked, _ = recommendations(action, limit=None)
    names = [item.partenaire.nom for item in ranked]
    jeunes = "Espace jeunes de Maurepas (fictif)"
    assert jeunes in names[:3], names[:5]
    charente_ids = {p.pk for p in charente}
    rennes_ids = {
        p.pk
        for p in Partenaire.objects.of_epn(epn)
        if p.code_insee == "35238" or p.commune.casefold() == "rennes"
    }
    positions = {item.partenaire.pk: i for i, item in enumerate(ranked)}
    last_rennes = max(positions[pk] for pk in rennes_ids if pk in positions)
    first_charente = min(positions[pk] for pk in charente_ids)
    assert last_rennes < first_charente
    assert all(not item.local for item in ranked if item.partenaire.pk in charente_ids)
    top = next(item for item in ranked if item.partenaire.nom == jeunes).recommendation
    assert "« Jeunes »" in top.explanation
    assert "« Insertion professionnelle via le numérique »" in top.explanation
    assert top.components.public == 1 and top.components.thematic == 1


def test_the_place_without_code_insee_is_located_by_its_commune_and_postal_code(world):
    _, charente, _, action = world
    ranked, _ = recommendations(action, limit=None)
    gare = next(item for item in ranked if item.partenaire.nom == "Point numérique de la gare (fictif)")
    assert gare.local
    barbezieux = next(item for item in ranked if item.partenaire.nom == "Centre socioculturel du Barbezilien")
    assert not barbezieux.local
    assert "hors du territoire de Rennes Métropole" in barbezieux.recommendation.explanation


def test_an_outline_locates_a_place_in_its_iris_by_its_coordinates(world):
    epn, _, _, action = world
    # A made-up square around the Espace jeunes stands for the IRIS 352380501's outline.
    square = [[-1.66, 48.12], [-1.65, 48.12], [-1.65, 48.13], [-1.66, 48.13], [-1.66, 48.12]]
    Secteur.objects.filter(structure=epn, code="352380501").update(
        contour={"type": "Polygon", "coordinates": [square]}
    )
    ranked, _ = recommendations(action, limit=None)
    jeunes = next(item for item in ranked if item.partenaire.nom == "Espace jeunes de Maurepas (fictif)")
    gare = next(item for item in ranked if item.partenaire.nom == "Point numérique de la gare (fictif)")
    # In its IRIS only: one of the nine sectors of the action (the commune no longer stands in).
    assert "1 secteur sur" in jeunes.recommendation.explanation
    assert jeunes.recommendation.partner.place == "Rennes (IRIS 0501)"
    # Outside every outline: the commune still locates it.
    assert gare.recommendation.partner.place == "Rennes"


def test_the_page_cuts_to_twenty_and_shows_the_outside_partners_apart(client, world):
    epn, charente, rennes, action = world
    login(client, "animateur")
    html = client.get(reverse("actions:recommandations", kwargs={"pk": action.pk})).content.decode()
    assert html.count('class="fr-card ') == 20 or html.count('class="fr-card fr-mb-3w"') == 20
    assert "Hors du territoire de Rennes Métropole" in html
    assert html.index("Espace jeunes de Maurepas (fictif)") < html.index("Hors du territoire")
