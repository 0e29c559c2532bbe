"""The collectivité's pages on the demo: its priorities, which every EPN attached to it uses, and
its territory view, all its EPNs together. The demo's Rennes Métropole has two EPNs (the Blosne,
Cesson-Sévigné); Vitré is another collectivité."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ancrage.accounts.models import User
from ancrage.accounts.services import user_create
from ancrage.diagnostic import services
from ancrage.diagnostic.models import Priorite
from ancrage.frequentation.models import FrequentationImport
from ancrage.organisations import services as organisation_services
from ancrage.organisations.enums import Role
from ancrage.organisations.models import Collectivite, Structure
from tests.demo_accounts import login

pytestmark = pytest.mark.demo(conventions=False)


def _rennes():
    return Collectivite.objects.get(nom="Rennes Métropole")


def _epns():
    return [
        Structure.objects.get(nom=n)
        for n in ("EPN du Blosne (démo)", "Espace numérique de Cesson-Sévigné (démo)")
    ]


def _next_diagnostic(epn):
    frequentation = FrequentationImport.objects.filter(structure=epn).order_by("-created_at", "-id").first()
    return services.diagnostic_compute(
        acting_user=None, structure=epn, frequentation=frequentation, niveau="iris", reference_year=2024
    )


def test_the_referent_changes_a_priority_and_both_epns_next_diagnostics_use_it(client, demo):
    login(client, "referent")
    url = reverse("territoire:priorites", args=[_rennes().pk])
    seniors = Priorite.objects.get(collectivite=_rennes(), theme="seniors")
    client.post(url, {"action": "supprimer", "priorite": seniors.pk})
    response = client.post(
        url,
        {
            "action": "ajouter",
            "theme": "seniors et autonomie",
            "poids": "3",
            "dimension": "age",
            "categorie": "60+",
        },
    )
    assert response.status_code == 302
    for epn in _epns():
        used = {p["theme"]: p["poids"] for p in _next_diagnostic(epn).parametres["priorites"]}
        assert used.get("seniors et autonomie") == 3.0 and "seniors" not in used, epn
    page = client.get(url).content.decode()
    # The history says who changed what.
    assert "priorité « seniors et autonomie » ajoutée" in page and "priorité « seniors » retirée" in page
    assert "referent@demo.ancrage.fr" in page


def test_the_animateur_reads_but_cannot_change_the_collectivites_priorities(client, demo):
    rennes, (blosne, _) = _rennes(), _epns()
    animateur = User.objects.get(email="animateur@demo.ancrage.fr")
    login(client, "animateur")
    url = reverse("territoire:priorites", args=[rennes.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "reinitialiser"}).status_code == 403
    assert client.post(url, {"action": "ajouter", "theme": "x", "poids": "1"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.priorite_save(acting_user=animateur, collectivite=rennes, theme="x", poids=1.0)
    with pytest.raises(PermissionDenied):
        services.priorites_reset(acting_user=animateur, collectivite=rennes)
    with pytest.raises(PermissionDenied):
        services.priorite_delete(acting_user=animateur, priorite=rennes.priorites.first())
    # Its own priorities go beside the collectivité's, never in their place.
    with pytest.raises(ValidationError):
        services.priorite_save(acting_user=animateur, structure=blosne, theme="jeunesse", poids=5.0)
    services.priorite_save(acting_user=animateur, structure=blosne, theme="parentalité", poids=2.0)
    detail = services.priorites_detail(blosne)
    assert [p.theme for p in detail.propres] == ["parentalité"] and len(detail.collectivite) == 5
    page = client.get(reverse("diagnostic:priorites", args=[blosne.pk])).content.decode()
    assert "Priorités de la collectivité" in page and "Priorités propres à l’EPN" in page
    # The élu reads them; the référent alone changes them.
    login(client, "elu")
    assert client.post(url, {"action": "reinitialiser"}).status_code == 403


def test_the_territory_view_lists_the_sectors_no_epn_reaches(client, demo):
    login(client, "referent")
    assert client.get(reverse("territoire:index")).status_code == 302  # to its one collectivité
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("territoire:detail", args=[_rennes().pk]))
    assert response.status_code == 200
    assert len(queries) <= 30, len(queries)  # as many EPNs as there are: no query per sector
    page = response.content.decode()
    assert "EPN du Blosne (démo)" in page and "Espace numérique de Cesson-Sévigné (démo)" in page
    assert "Secteurs qu’aucun EPN n’atteint" in page
    territoire = response.context["territoire"]
    non_atteints = [s.code for s in territoire.couverture.non_atteints]
    assert non_atteints and all(not any(s.par_epn.values()) for s in territoire.couverture.non_atteints)
    # Two of Cesson-Sévigné's IRIS: the Blosne's usagers live in Rennes, Cesson's EPN reaches three.
    assert sorted(non_atteints) == ["350510203", "350510204"]
    # No sector is counted by both EPNs; were one, its counts would be summed (identifiers are
    # each place's own), which the page says either way.
    assert territoire.couverture.dedoublonne and "propres à chaque lieu" in page
    assert "Vitré" not in page  # another collectivité's EPN
    login(client, "elu")
    assert client.get(reverse("territoire:detail", args=[_rennes().pk])).status_code == 200


def test_no_one_else_sees_a_collectivites_territory(client, demo):
    url = reverse("territoire:detail", args=[_rennes().pk])
    for local in ("animateur", "responsable", "partenaire", "coordinateur"):
        login(client, local)
        assert client.get(url).status_code == 404, local
    vitre = Collectivite.objects.get(nom="Vitré")
    other = user_create(acting_user=None, email="referent-vitre@example.org")
    organisation_services.membership_grant(acting_user=None, user=other, role=Role.REFERENT, target=vitre)
    client.force_login(other)
    assert client.get(url).status_code == 404
    assert (
        client.post(
            reverse("territoire:priorites", args=[_rennes().pk]), {"action": "reinitialiser"}
        ).status_code
        == 404
    )
    page = client.get(reverse("territoire:detail", args=[vitre.pk])).content.decode()
    assert "Espace numérique de Vitré (démo)" in page and "Blosne" not in page and "Cesson" not in page


def test_the_territory_map_draws_the_sectors_and_the_epns_places(client, demo):
    """Villeurbanne has IGN's outlines: its territory view draws them, and its EPN's place."""
    from ancrage.partenaires.models import Partenaire

    villeurbanne_epn = Structure.objects.get(nom="EPN de Villeurbanne (démo)")
    Partenaire.objects.update_or_create(
        structure=villeurbanne_epn, defaults={"latitude": 45.7665, "longitude": 4.88}
    )
    admin = User.objects.create_superuser(email="admin@territoire.test", username="admin@territoire.test")
    client.force_login(admin)
    page = client.get(reverse("territoire:detail", args=[villeurbanne_epn.collectivite_id])).content.decode()
    assert page.count("<path d=") == 45 and "<circle" in page and "EPN (numéro du tableau des EPN)" in page
