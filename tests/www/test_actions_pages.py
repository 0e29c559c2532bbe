"""Action pages in the browser's order: a diagnostic target becomes an action, partners are
recommended and added in one click, the task matrix shows its warnings, a meeting decides.
Then who sees what: another EPN gets 404s, the partner account sees exactly its part."""

import pytest
from django.urls import reverse

from ancrage.actions.models import Action, Affectation, Commentaire, Reunion
from ancrage.demo.actions import EMPLOI, SENIORS, VITRE
from ancrage.diagnostic.models import Diagnostic
from ancrage.organisations.models import Structure
from ancrage.partenaires.models import Partenaire
from tests.demo_accounts import blosne, login

pytestmark = pytest.mark.demo(conventions=False)  # the demo's conventions are not read here

CIBLE = {
    "rang": 1,
    "dimension": "age",
    "categorie": "15-29",
    "secteur": "352381102",
    "priorites": ["insertion"],
    "score": 30.0,
    "explication": "Environ 140 usagers de plus parmi les personnes de 15 à 29 ans du secteur.",
    "thematique": {
        "famille": "insertion et emploi",
        "services": [
            {
                "cle": "InsertionProfessionnelleViaLeNumerique",
                "libelle": "Insertion professionnelle via le numérique",
            }
        ],
    },
}


def test_from_a_target_to_an_action_with_partners_tasks_and_a_meeting(client, demo):
    login(client, "animateur")
    epn = blosne()
    diagnostic = Diagnostic.objects.create(
        structure=epn,
        titre="Diagnostic 2026 (démo)",
        resultat={
            "cibles": [CIBLE],
            "secteurs": [{"code": "352381102", "nom": "Le Blosne Est", "sous_frequente": True}],
        },
    )
    # The Mission locale covers the low-attendance sector: the recommendation should say so.
    Partenaire.objects.filter(structure__nom__startswith="Mission locale").update(secteurs=["352381102"])
    url = reverse("actions:create") + f"?diagnostic={diagnostic.pk}&cible=1"
    html = client.get(url).content.decode()
    assert "Environ 140 usagers" in html and "Insertion et emploi" in html
    response = client.post(
        reverse("actions:create"),
        {
            "diagnostic": diagnostic.pk,
            "cible": 1,
            "epn": epn.pk,
            "titre": "Jeunes du Blosne vers l’emploi",
            "thematique": "insertion et emploi",
            "services": ["Insertion professionnelle via le numérique"],
            "type": "durable",
            "publics": ["age:15-29"],
            "secteurs": "352381102",
        },
    )
    action = Action.objects.get(titre="Jeunes du Blosne vers l’emploi")
    assert response["Location"] == action.get_absolute_url()
    assert action.cible == CIBLE and action.secteurs_noms == {"352381102": "Le Blosne Est"}

    client.post(
        reverse("actions:objectif_add", kwargs={"pk": action.pk}),
        {"libelle": "dont jeunes", "valeur_cible": 25, "critere_public": "age:15-29"},
    )
    client.post(
        reverse("actions:seance_add", kwargs={"pk": action.pk}),
        {"titre": "Atelier CV", "debut": "2026-10-06T14:00", "fin": "2026-10-06T16:00"},
    )
    assert action.objectifs.count() == 1 and action.seances.count() == 1

    html = client.get(reverse("actions:recommandations", kwargs={"pk": action.pk})).content.decode()
    assert html.index("Mission locale du bassin rennais") < html.index("Centre social Ty-Blosne")
    assert "Le Blosne Est" in html
    mission = Structure.objects.get(nom="Mission locale du bassin rennais (démo)")
    client.post(
        reverse("actions:partenaire_add", kwargs={"pk": action.pk}), {"partenaire": mission.pk, "score": 80}
    )
    assert list(action.partenaires.all()) == [mission]

    key = f"partenaire-{mission.pk}"
    response = client.post(
        reverse("actions:matrice", kwargs={"pk": action.pk}),
        {"resp_pilotage": "epn", "contrib_pilotage": [key], "resp_mobilisation": "epn"},
        follow=True,
    )
    html = response.content.decode()
    assert "se substitue à son partenaire" in html
    assert "Personne n&#x27;est responsable de la tâche « Financement »" in html

    response = client.post(
        reverse("actions:reunion_create", kwargs={"pk": action.pk}),
        {
            "titre": "Réunion préalable",
            "debut": "2026-09-20T10:00",
            "fin": "2026-09-20T11:30",
            "participants": "A\nB",
        },
    )
    reunion = Reunion.objects.get(action=action)
    assert response["Location"] == reunion.get_absolute_url()
    client.post(
        reverse("actions:decision_add", kwargs={"pk": reunion.pk}),
        {"texte": "La Mission locale mobilise les jeunes.", "tache": "mobilisation", "partie": key},
    )
    assert (
        Affectation.objects.get(action=action, tache="mobilisation", role="responsable").partenaire == mission
    )
    html = client.get(reverse("actions:matrice", kwargs={"pk": action.pk})).content.decode()
    assert "se substitue à son partenaire" not in html

    ics = client.get(reverse("actions:ics", kwargs={"pk": action.pk}))
    assert ics["Content-Type"].startswith("text/calendar")
    body = ics.content.decode()
    assert "Atelier CV" in body and "Réunion préalable" in body
    assert client.get(reverse("actions:reunion_ics", kwargs={"pk": reunion.pk})).status_code == 200

    response = client.post(
        reverse("actions:transition", kwargs={"pk": action.pk}), {"vers": "validee"}, follow=True
    )
    assert "ne peut pas passer" in response.content.decode()
    client.post(reverse("actions:transition", kwargs={"pk": action.pk}), {"vers": "en_construction"})
    action.refresh_from_db()
    assert action.statut == "en_construction"


def _urls_of(action):
    reunion = action.reunions.first()
    urls = [
        action.get_absolute_url(),
        reverse("actions:update", kwargs={"pk": action.pk}),
        reverse("actions:ics", kwargs={"pk": action.pk}),
        reverse("actions:matrice", kwargs={"pk": action.pk}),
        reverse("actions:recommandations", kwargs={"pk": action.pk}),
    ]
    if reunion:
        urls += [reunion.get_absolute_url(), reverse("actions:reunion_ics", kwargs={"pk": reunion.pk})]
    return urls


def test_vitre_gets_404_on_blosnes_actions(client, demo):
    login(client, "animateur2")
    html = client.get(reverse("actions:list")).content.decode()
    assert VITRE in html and SENIORS not in html and EMPLOI not in html
    for titre in (SENIORS, EMPLOI):
        action = Action.objects.get(titre=titre)
        for url in _urls_of(action):
            assert client.get(url).status_code == 404, url
        assert (
            client.post(
                reverse("actions:transition", kwargs={"pk": action.pk}), {"vers": "validee"}
            ).status_code
            == 404
        )
        assert (
            client.post(
                reverse("actions:commentaire_add", kwargs={"pk": action.pk}), {"texte": "x"}
            ).status_code
            == 404
        )


def test_the_partner_account_sees_exactly_its_part_and_only_comments(client, demo):
    login(client, "partenaire")
    seniors, emploi = Action.objects.get(titre=SENIORS), Action.objects.get(titre=EMPLOI)
    html = client.get(reverse("actions:list")).content.decode()
    assert SENIORS in html and EMPLOI not in html and VITRE not in html
    assert "Les tâches de votre organisation" in html and "Mobilisation des publics" in html
    for url in _urls_of(emploi):
        assert client.get(url).status_code == 404, url
    assert client.get(seniors.get_absolute_url()).status_code == 200
    assert client.get(seniors.reunions.first().get_absolute_url()).status_code == 200
    assert client.get(reverse("actions:matrice", kwargs={"pk": seniors.pk})).status_code == 200
    assert client.get(reverse("actions:ics", kwargs={"pk": seniors.pk})).status_code == 200
    # The EPN's directory and recommendations are not the partner's business.
    assert client.get(reverse("actions:recommandations", kwargs={"pk": seniors.pk})).status_code == 404
    # Writes are refused; comments are welcome.
    statut = seniors.statut
    for name, data in (
        ("actions:transition", {"vers": "validee"}),
        ("actions:objectif_add", {"libelle": "x", "valeur_cible": 1}),
        ("actions:matrice", {"resp_pilotage": "epn"}),
        ("actions:update", {"titre": "Pris"}),
        ("actions:reunion_create", {"titre": "x"}),
    ):
        assert client.post(reverse(name, kwargs={"pk": seniors.pk}), data).status_code == 403, name
    reunion = seniors.reunions.first()
    assert (
        client.post(reverse("actions:decision_add", kwargs={"pk": reunion.pk}), {"texte": "x"}).status_code
        == 403
    )
    seniors.refresh_from_db()
    assert seniors.statut == statut
    count = Commentaire.objects.count()
    response = client.post(
        reverse("actions:commentaire_add", kwargs={"pk": seniors.pk}), {"texte": "Salle réservée."}
    )
    assert response.status_code == 302
    client.post(
        reverse("actions:commentaire_add", kwargs={"pk": seniors.pk}),
        {"texte": "Ordre du jour ok", "reunion": reunion.pk},
    )
    assert Commentaire.objects.count() == count + 2
    assert "Ordre du jour ok" in client.get(reunion.get_absolute_url()).content.decode()


def test_demo_matrix_of_the_emploi_action_shows_its_warnings(client, demo):
    login(client, "animateur")
    action = Action.objects.get(titre=EMPLOI)
    html = client.get(action.get_absolute_url()).content.decode()
    assert "se substitue à son partenaire" in html
    html = client.get(Action.objects.get(titre=SENIORS).get_absolute_url()).content.decode()
    assert "Chaque tâche a un responsable" in html


def test_action_pages_query_counts_do_not_grow(client, demo, django_assert_max_num_queries):
    from ancrage.actions import services

    login(client, "animateur")
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("actions:list"))
    for number in range(30):
        services.action_create(acting_user=None, epn=blosne(), titre=f"Action {number} (démo)")
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("actions:list"))
    action = Action.objects.get(titre=SENIORS)
    with django_assert_max_num_queries(30):
        client.get(action.get_absolute_url())
    with django_assert_max_num_queries(25):
        client.get(reverse("actions:matrice", kwargs={"pk": action.pk}))
    with django_assert_max_num_queries(20):
        client.get(reverse("actions:recommandations", kwargs={"pk": action.pk}))


def test_a_comment_naming_a_malformed_or_foreign_meeting_is_a_404(client, demo):
    """Regression: a non-numeric meeting id in the comment form was a 500 (found by the security probes)."""
    login(client, "animateur")
    seniors, emploi = Action.objects.get(titre=SENIORS), Action.objects.get(titre=EMPLOI)
    url = reverse("actions:commentaire_add", kwargs={"pk": seniors.pk})
    for reunion in ("abc", "1.5", str(emploi.reunions.first().pk)):
        assert client.post(url, {"reunion": reunion, "texte": "Bonjour"}).status_code == 404, reunion
    assert not Commentaire.objects.filter(texte="Bonjour").exists()
