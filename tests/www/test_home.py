"""Each demo account logs in with Django's standard form and lands on its role's French home page."""

import re

import pytest
from django.urls import reverse

from ancrage.accounts.models import User
from ancrage.accounts.validators import DEMO_PASSWORD
from ancrage.audit import context
from ancrage.audit.enums import AuditAction, AuditOrigin
from ancrage.audit.services import audit_record
from ancrage.organisations.models import Structure

EXPECTED_HOME = {
    "animateur@demo.ancrage.fr": ("Tableau de bord — Animateur·rice", "EPN du Blosne (démo)"),
    "responsable@demo.ancrage.fr": (
        "Tableau de bord — Responsable d’EPN",
        "Les lieux dont je suis responsable",
    ),
    "referent@demo.ancrage.fr": ("Tableau de bord — Référent·e de la collectivité", "Rennes Métropole"),
    "elu@demo.ancrage.fr": ("Tableau de bord — Élu·e / signataire", "Vous signez ici"),
    "partenaire@demo.ancrage.fr": ("Tableau de bord — Partenaire", "Centre social Ty-Blosne (démo)"),
    "coordinateur@demo.ancrage.fr": (
        "Tableau de bord — Coordinateur·rice de réseau",
        "Espace numérique de Vitré",
    ),
    "animateur2@demo.ancrage.fr": ("Tableau de bord — Animateur·rice", "Espace numérique de Vitré (démo)"),
    "animateur3@demo.ancrage.fr": ("Tableau de bord — Animateur·rice", "EPN de Villeurbanne (démo)"),
}


@pytest.mark.parametrize("email", sorted(EXPECTED_HOME))
def test_demo_account_logs_in_and_lands_on_its_role_home(client, demo, email):
    response = client.post(
        reverse("accounts:login"), {"username": email, "password": DEMO_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("home:index")
    html = response.content.decode()
    heading, detail = EXPECTED_HOME[email]
    assert f"<h1>{heading}</h1>" in html
    assert detail in html
    assert '<html lang="fr"' in html


def test_wrong_password_shows_a_french_error(client, demo):
    response = client.post(
        reverse("accounts:login"), {"username": "animateur@demo.ancrage.fr", "password": "mauvais"}
    )
    assert response.status_code == 200
    assert "Saisissez un" in response.content.decode()  # Django's French message


def test_anonymous_is_sent_to_the_login_page(client, db):
    for name in ("home:index", "structures:list", "journal:list"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_demo_banner_is_shown_when_the_demo_runs(client, demo, settings):
    settings.ANCRAGE_DEMO = True
    client.login(username="animateur@demo.ancrage.fr", password=DEMO_PASSWORD)
    assert "Données de démonstration" in client.get(reverse("home:index")).content.decode()


def _login(client, email):
    assert client.login(username=email, password=DEMO_PASSWORD)


def test_an_epn_account_cannot_open_another_epns_pages_by_guessing_ids(client, demo):
    _login(client, "animateur2@demo.ancrage.fr")
    vitre = Structure.objects.get(nom="Espace numérique de Vitré (démo)")
    for structure in Structure.objects.exclude(pk=vitre.pk).exclude(referencee_par=vitre):
        response = client.get(reverse("structures:detail", kwargs={"pk": structure.pk}))
        assert response.status_code == 404, structure
    assert client.get(reverse("structures:detail", kwargs={"pk": vitre.pk})).status_code == 200
    listing = client.get(reverse("structures:list")).content.decode()
    assert "EPN du Blosne" not in listing


def test_a_partner_sees_its_organisation_and_nothing_else(client, demo):
    _login(client, "partenaire@demo.ancrage.fr")
    listing = client.get(reverse("structures:list")).content.decode()
    names = set(re.findall(r'href="/structures/\d+/">([^<]+)</a>', listing))
    assert names == {"Centre social Ty-Blosne (démo)"}
    for structure in Structure.objects.exclude(nom="Centre social Ty-Blosne (démo)"):
        assert client.get(reverse("structures:detail", kwargs={"pk": structure.pk})).status_code == 404


def test_referent_sees_the_epns_of_the_territory_only(client, demo):
    _login(client, "referent@demo.ancrage.fr")
    listing = client.get(reverse("structures:list")).content.decode()
    assert "EPN du Blosne (démo)" in listing
    assert "Vitré" not in listing


def test_journal_is_for_those_who_oversee(client, demo):
    _login(client, "animateur@demo.ancrage.fr")
    assert client.get(reverse("journal:list")).status_code == 403
    client.logout()
    _login(client, "responsable@demo.ancrage.fr")
    response = client.get(reverse("journal:list"))
    entries = list(response.context["page_obj"])
    blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
    responsable = response.context["user"]
    assert entries
    assert all(e.structure_id == blosne.pk or e.actor_id == responsable.pk for e in entries)
    assert "Espace numérique de Vitré" not in response.content.decode()


def test_journal_shows_addresses_only_to_the_epn_staff(client, demo):
    blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
    animateur = User.objects.get(email="animateur@demo.ancrage.fr")
    token = context.set_current(context.WriteContext(origin=AuditOrigin.WEB, ip_address="198.51.100.77"))
    try:
        entry = audit_record(acting_user=animateur, action=AuditAction.EXPORT, structure=blosne)
    finally:
        context.reset(token)
    seen = {}
    for email in ("responsable@demo.ancrage.fr", "referent@demo.ancrage.fr", "coordinateur@demo.ancrage.fr"):
        _login(client, email)
        response = client.get(reverse("journal:list"))
        assert entry.pk in [e.pk for e in response.context["page_obj"]], email
        seen[email] = "198.51.100.77" in response.content.decode()
        client.logout()
    # The EPN's responsable sees where the entry came from; those who oversee it do not.
    assert seen == {
        "responsable@demo.ancrage.fr": True,
        "referent@demo.ancrage.fr": False,
        "coordinateur@demo.ancrage.fr": False,
    }


def test_home_page_query_count_does_not_grow_with_structures(client, demo, django_assert_max_num_queries):
    _login(client, "coordinateur@demo.ancrage.fr")
    with django_assert_max_num_queries(20):
        client.get(reverse("home:index"))


NEXT_STEPS = {
    "animateur@demo.ancrage.fr": ["À faire maintenant", "Importer un fichier d’usagers", "Publics à toucher"],
    "responsable@demo.ancrage.fr": ["À faire maintenant", "Actions en cours"],
    "referent@demo.ancrage.fr": ["Dossiers à examiner", "Journée « Mon emploi en ligne » (démo)"],
    "elu@demo.ancrage.fr": ["Conventions à signer"],
    "partenaire@demo.ancrage.fr": ["Conventions à signer", "Les actions auxquelles vous participez"],
    "coordinateur@demo.ancrage.fr": ["Les lieux du réseau", "Voir le diagnostic"],
}


@pytest.mark.parametrize("email", sorted(NEXT_STEPS))
def test_each_role_home_says_what_to_do_next(client, demo, email):
    _login(client, email)
    html = client.get(reverse("home:index")).content.decode()
    for text in NEXT_STEPS[email]:
        assert text in html, text


def test_the_animateur_home_links_the_latest_targets_to_new_actions(client, demo):
    _login(client, "animateur@demo.ancrage.fr")
    response = client.get(reverse("home:index"))
    diagnostic = response.context["latest_diagnostic"]
    assert diagnostic is not None and response.context["latest_cibles"]
    assert f"{reverse('actions:create')}?diagnostic={diagnostic.pk}&amp;cible=1" in response.content.decode()
