"""Partner directory pages: listing, entry, duplicates, import with dry run, exports, scoping."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ancrage.partenaires import standard
from ancrage.partenaires.models import ImportAnnuaire, Partenaire
from tests.demo_accounts import blosne, login
from tests.properties import examples

pytestmark = pytest.mark.demo(conventions=False)  # the demo's conventions are not read here

NC = (
    Path(__file__).resolve().parents[1] / "fixtures" / "partenaires" / "nouvelle-caledonie-90-lieux.json"
).read_bytes()


def test_list_and_detail_for_the_animateur(client, demo):
    login(client, "animateur")
    html = client.get(reverse("partenaires:list")).content.decode()
    assert "Centre social Ty-Blosne (démo)" in html and "Association Vitré Entraide" not in html
    assert '<th scope="col">Nom</th>' in html and "<caption>" in html
    entry = Partenaire.objects.get(structure__nom="Centre social Ty-Blosne (démo)")
    html = client.get(entry.get_absolute_url()).content.decode()
    assert "Historique" in html and "Ateliers « Bien vivre le numérique »" in html


def test_create_then_duplicate_is_refused_with_a_pointer(client, demo):
    login(client, "animateur")
    data = {
        "epn": blosne().pk,
        "nom": "Régie de quartier (démo)",
        "commune": "Rennes",
        "siret": "73282932000074",
    }
    response = client.post(reverse("partenaires:create"), data)
    entry = Partenaire.objects.get(structure__nom="Régie de quartier (démo)")
    assert response.status_code == 302 and response["Location"] == entry.get_absolute_url()
    response = client.post(reverse("partenaires:create"), {**data, "nom": "Autre nom"})
    assert response.status_code == 200
    assert f"fiche n° {entry.pk}" in response.content.decode()
    response = client.post(reverse("partenaires:create"), {**data, "siret": "73282932000075"})
    assert "SIRET" in response.content.decode()


def test_import_is_a_job_the_post_redirects_to_its_page_which_shows_the_analysis(client, demo):
    login(client, "animateur")
    before = Partenaire.objects.count()
    upload = SimpleUploadedFile("nc.json", NC, content_type="application/json")
    response = client.post(reverse("partenaires:import"), {"epn": blosne().pk, "fichier": upload})
    batch = ImportAnnuaire.objects.get()
    # The request only created the job: it answers with a redirect to the job's page.
    assert response.status_code == 302
    assert response["Location"] == reverse("partenaires:import_preview", kwargs={"pk": batch.pk})
    html = client.get(response["Location"]).content.decode()
    assert "90 à ajouter" in html and "Confirmer l’import" in html
    assert Partenaire.objects.count() == before
    client.post(response["Location"], {"action": "confirmer"})
    assert Partenaire.objects.count() == before + 90
    html = client.get(response["Location"]).content.decode()
    assert "90 partenaires créés" in html


def test_the_job_page_shows_progress_while_the_job_runs(client, demo):
    login(client, "animateur")
    batch = ImportAnnuaire.objects.create(
        structure=blosne(),
        nom_fichier="paca.json",
        format="json",
        contenu=NC,
        state=ImportAnnuaire.State.ANALYSE,
        progress_done=320,
        progress_total=641,
    )
    html = client.get(batch.get_absolute_url()).content.decode()
    assert 'http-equiv="refresh"' in html
    assert "Progression : 49 % (320 lieux sur 641)" in html and "<progress" in html
    # Its worker died (no heartbeat for longer than ANCRAGE_JOBS_TIMEOUT): the page offers to retry.
    ImportAnnuaire.objects.filter(pk=batch.pk).update(updated_at=timezone.now() - timedelta(days=1))
    html = client.get(batch.get_absolute_url()).content.decode()
    assert "Relancer l’import" in html and 'http-equiv="refresh"' not in html
    client.post(batch.get_absolute_url(), {"action": "relancer"})
    batch.refresh_from_db()
    assert batch.state == ImportAnnuaire.State.PRET and len(batch.resultat["a_creer"]) == 90


def test_exports_validate_and_are_scoped(client, demo):
    login(client, "animateur")
    response = client.get(reverse("partenaires:export_csv", kwargs={"epn_pk": blosne().pk}))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert standard.validate_csv(text, file="export.csv") == []
    assert "Centre social Ty-Blosne (démo)" in text
    response = client.get(reverse("partenaires:export_json", kwargs={"epn_pk": blosne().pk}))
    assert len(standard.read_cartographie_json(response.content).lieux) == 4


def test_vitre_and_the_partner_account_get_404_on_blosnes_directory(client, demo):
    entry = Partenaire.objects.get(structure__nom="CCAS de Rennes (démo)")
    urls = [
        entry.get_absolute_url(),
        reverse("partenaires:update", kwargs={"pk": entry.pk}),
        reverse("partenaires:export_csv", kwargs={"epn_pk": blosne().pk}),
        reverse("partenaires:export_json", kwargs={"epn_pk": blosne().pk}),
    ]
    for local in ("animateur2", "partenaire"):
        login(client, local)
        for url in urls:
            assert client.get(url).status_code == 404, (local, url)
    # The partner's own directory entry is the EPN's knowledge: not shown to the partner.
    own = Partenaire.objects.get(structure__nom="Centre social Ty-Blosne (démo)")
    assert client.get(own.get_absolute_url()).status_code == 404
    assert (
        client.post(reverse("partenaires:contact_add", kwargs={"pk": own.pk}), {"nom": "x"}).status_code
        == 404
    )


def test_readers_read_but_do_not_write(client, demo):
    login(client, "referent")
    entry = Partenaire.objects.get(structure__nom="CCAS de Rennes (démo)")
    assert client.get(entry.get_absolute_url()).status_code == 200
    assert client.get(reverse("partenaires:update", kwargs={"pk": entry.pk})).status_code == 403
    assert client.get(reverse("partenaires:create")).status_code == 403


def test_list_page_query_count_does_not_grow_with_the_directory(client, demo, django_assert_max_num_queries):
    login(client, "animateur")
    from ancrage.partenaires import services

    with django_assert_max_num_queries(12) as small:
        client.get(reverse("partenaires:list"))
    services.import_directly(acting_user=None, epn=blosne(), data=NC, filename="nc.json")
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("partenaires:list"))


@examples(40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), name=st.sampled_from(["annuaire.csv", "annuaire.json", "fichier"]))
def test_random_bytes_get_a_french_located_message_never_a_500(client, demo, data, name):
    login(client, "animateur")
    before = Partenaire.objects.count()
    response = client.post(
        reverse("partenaires:import"), {"epn": blosne().pk, "fichier": SimpleUploadedFile(name, data)}
    )
    assert response.status_code in (400, 302)  # 400: refused by the upload checks, on the page
    if response.status_code == 400:
        html = response.content.decode()
        assert "ne peut pas être importé" in html or "fichier" in html.lower()
        if "ne peut pas être importé" in html:
            assert f"Fichier « {name} »" in html
    else:
        preview = client.get(response["Location"])
        assert preview.status_code == 200
        html = preview.content.decode()
        if "ne peut pas être importé" in html:
            assert f"Fichier « {name} »" in html
    assert Partenaire.objects.count() == before
