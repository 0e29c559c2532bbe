"""The EPN's own place: its staff fill it in and download it in the standard, nobody else."""

import csv
import io
import json

import pytest
from django.urls import reverse

from ancrage.partenaires import services
from ancrage.partenaires.models import Partenaire
from ancrage.partenaires.standard import read_cartographie_json
from tests.demo_accounts import blosne, login

pytestmark = pytest.mark.demo(conventions=False)


def test_the_demo_epn_has_its_place_and_it_stays_out_of_every_directory(client, demo):
    epn = blosne()
    lieu = services.lieu_epn_of(epn)
    assert lieu is not None and lieu.latitude is not None
    assert not Partenaire.objects.of_epn(epn).filter(pk=lieu.pk).exists()
    for account in ("animateur", "referent", "coordinateur", "partenaire"):
        login(client, account)
        html = client.get(reverse("partenaires:list") + "?q=Blosne").content.decode()
        assert f'href="/partenaires/{lieu.pk}/"' not in html, account
        assert client.get(reverse("partenaires:detail", kwargs={"pk": lieu.pk})).status_code == 404


def test_the_staff_download_their_place_as_a_record_of_the_standard(client, demo):
    epn = blosne()
    login(client, "animateur")
    body = client.get(reverse("partenaires:lieu_epn_json", kwargs={"epn_pk": epn.pk})).content
    result = read_cartographie_json(body, file="lieu.json")
    assert not result.rejected
    (lieu,) = result.lieux
    assert lieu.nom == epn.nom and lieu.code_insee == "35238" and lieu.latitude == pytest.approx(48.0872)
    assert "Insertion professionnelle via le numérique" in lieu.services
    assert json.loads(body)[0]["publics_specifiquement_adresses"]
    response = client.get(reverse("partenaires:lieu_epn_csv", kwargs={"epn_pk": epn.pk}))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert len(rows) == 1 and rows[0]["nom"] == epn.nom and rows[0]["code_insee"] == "35238"


def test_the_staff_edit_their_place_and_others_may_not(client, demo):
    epn = blosne()
    url = reverse("partenaires:lieu_epn", kwargs={"epn_pk": epn.pk})
    login(client, "animateur")
    page = client.get(url)
    assert page.status_code == 200 and "Télécharger au standard (JSON)" in page.content.decode()
    response = client.post(
        url,
        {
            "adresse": "2 square de Zagreb (démo)",
            "code_postal": "35200",
            "commune": "Rennes",
            "code_insee": "35238",
            "latitude": "48.09",
            "longitude": "-1.66",
            "services": ["Aide aux démarches administratives"],
            "courriels": "epn@example.org",
        },
    )
    assert response.status_code == 302
    lieu = services.lieu_epn_of(epn)
    assert lieu.adresse == "2 square de Zagreb (démo)" and lieu.latitude == 48.09
    assert lieu.courriels == ["epn@example.org"]
    for account, status in (("animateur2", 404), ("partenaire", 404), ("referent", 403)):
        login(client, account)
        assert client.get(url).status_code == status, account
        assert (
            client.get(reverse("partenaires:lieu_epn_json", kwargs={"epn_pk": epn.pk})).status_code == status
        )


def test_only_an_epn_has_its_own_place(demo):
    partner = Partenaire.objects.of_epn(blosne()).first().structure
    with pytest.raises(Exception, match="Seul un lieu de médiation numérique"):
        services.lieu_epn_save(acting_user=None, epn=partner, adresse="x")
