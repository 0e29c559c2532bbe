import io
import re

import pytest
from pypdf import PdfReader

from ancrage.accounts.models import User
from ancrage.actions.models import Action
from ancrage.demo.actions import MISSION_LOCALE, SENIORS
from ancrage.organisations.models import Structure
from ancrage.suivi import bilan
from ancrage.suivi.models import Participation
from tests.security.world import login


@pytest.fixture
def demo(demo):
    return {
        "blosne": Structure.objects.get(nom="EPN du Blosne (démo)"),
        "vitre": Structure.objects.get(nom="Espace numérique de Vitré (démo)"),
        "seniors": Action.objects.get(titre=SENIORS),
        "mission": Structure.objects.get(nom=MISSION_LOCALE),
    }


def _as(client, email):
    login(client, User.objects.get(email=email))
    return client


def test_dashboard_shows_the_three_questions_in_few_queries(client, demo, django_assert_max_num_queries):
    _as(client, "animateur@demo.ancrage.fr")
    url = f"/suivi/epn/{demo['blosne'].pk}/"
    client.get(url)  # warm the per-process caches (COG…)
    with django_assert_max_num_queries(30):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 partenariat à risque, 1 à surveiller" in html
    assert "2 partenariats sur 4 sans convention signée en vigueur" in html
    assert MISSION_LOCALE in html
    assert f"/suivi/partenaires/{demo['mission'].pk}/" in html
    assert "/conventions/nouvelle/?epn=" in html


def test_scoping_of_the_suivi_pages(client, demo):
    blosne, seniors = demo["blosne"], demo["seniors"]
    seance = seniors.seances.first()
    urls = [
        f"/suivi/epn/{blosne.pk}/",
        f"/suivi/epn/{blosne.pk}/bilan.pdf",
        f"/suivi/partenaires/{demo['mission'].pk}/",
        f"/suivi/actions/{seniors.pk}/",
        f"/suivi/seances/{seance.pk}/feuille/",
    ]
    _as(client, "animateur2@demo.ancrage.fr")  # Vitré's animateur
    assert [client.get(u).status_code for u in urls] == [404] * 5
    client.logout()
    _as(client, "partenaire@demo.ancrage.fr")  # a party to the seniors' action, but not the EPN
    assert [client.get(u).status_code for u in urls] == [404] * 5
    assert "Aucun lieu" in client.get("/suivi/").content.decode()
    client.logout()
    _as(client, "referent@demo.ancrage.fr")  # reads its territory, writes nothing
    assert client.get(urls[0]).status_code == 200
    assert client.get(urls[3]).status_code == 200
    assert client.get(urls[4]).status_code == 403
    assert client.get(f"/suivi/epn/{demo['vitre'].pk}/").status_code == 404


def test_bilan_pdf_downloads_with_its_key_figures(client, demo):
    _as(client, "responsable@demo.ancrage.fr")
    response = client.get(f"/suivi/epn/{demo['blosne'].pk}/bilan.pdf?annee=2026")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = re.sub(r"\s+", " ", text)
    figures = bilan.bilan_of(demo["blosne"], 2026)
    assert "Bilan annuel 2026" in text
    assert f"{figures['participants']} participants différents" in text
    assert f"{figures['nouveaux_publics']} nouveaux publics" in text
    assert MISSION_LOCALE in text and "À risque" in text
    assert client.get(f"/suivi/epn/{demo['blosne'].pk}/bilan.pdf?annee=1900").status_code == 404


def test_session_sheet_formset_adds_a_person(client, demo):
    _as(client, "animateur@demo.ancrage.fr")
    seance = demo["seniors"].seances.order_by("debut").first()
    url = f"/suivi/seances/{seance.pk}/feuille/"
    response = client.get(url)
    assert response.status_code == 200
    formset = response.context["formset"]
    data = {
        "ligne-TOTAL_FORMS": str(formset.total_form_count()),
        "ligne-INITIAL_FORMS": str(formset.initial_form_count()),
        "ligne-MIN_NUM_FORMS": "0",
        "ligne-MAX_NUM_FORMS": "1000",
    }
    for i, form in enumerate(formset.forms):
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if name == "present":
                if value:
                    data[f"ligne-{i}-{name}"] = "on"
            elif value not in (None, "", False):
                data[f"ligne-{i}-{name}"] = value.isoformat() if hasattr(value, "isoformat") else value
    new = formset.initial_form_count()
    data.update(
        {
            f"ligne-{new}-identifiant": "nouvelle-personne",
            f"ligne-{new}-present": "on",
            f"ligne-{new}-annee_naissance": "1950",
            f"ligne-{new}-oriente_par": str(demo["mission"].pk),
            f"ligne-{new}-premiere_visite": "2026-10-06",
        }
    )
    before = Participation.objects.filter(seance=seance).count()
    response = client.post(url, data)
    assert response.status_code == 302, response.context["formset"].errors if response.context else ""
    assert Participation.objects.filter(seance=seance).count() == before + 1
    assert Participation.objects.get(
        seance=seance, beneficiaire__identifiant="nouvelle-personne"
    ).oriente_par_id == (demo["mission"].pk)


def test_action_page_shows_results_and_before_after(client, demo):
    _as(client, "animateur@demo.ancrage.fr")
    html = client.get(f"/suivi/actions/{demo['seniors'].pk}/").content.decode()
    assert "14 nouveaux publics" in html
    assert "intervalle à 95" in html
    assert (
        f"/suivi/actions/{demo['seniors'].pk}/"
        in client.get(f"/actions/{demo['seniors'].pk}/").content.decode()
    )
