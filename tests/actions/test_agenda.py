"""Calendar feeds: a secret address per EPN and per partner, subscribed to without login; scoped
as the pages; regenerated or turned off (404 then); each change audited."""

import datetime as dt
from dataclasses import dataclass

import icalendar
import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ancrage.actions import agenda
from ancrage.actions.models import Action, ActionPartenaire, FluxAgenda, Seance
from ancrage.audit.models import AuditEntry
from ancrage.organisations.enums import Role
from tests.organisations.factories import MembershipFactory, StructureFactory
from tests.partenaires.factories import epn_with_animateur
from tests.properties import examples


@dataclass
class World:
    epn: object
    animateur: object
    other_epn: object
    partner: object
    partner_member: object
    other_partner: object
    with_partner: Seance
    without_partner: Seance
    elsewhere: Seance


def _seance(action, titre, day):
    start = timezone.make_aware(dt.datetime(2026, 3, day, 14, 0))
    return Seance.objects.create(action=action, titre=titre, debut=start, fin=start + dt.timedelta(hours=2))


@pytest.fixture
def world(db):
    epn, animateur = epn_with_animateur(nom="EPN du Blosne")
    other_epn, _ = epn_with_animateur(nom="EPN de Cesson")
    partner = StructureFactory(partenaire=True, nom="Centre social", referencee_par=epn)
    other_partner = StructureFactory(partenaire=True, nom="Mission locale", referencee_par=epn)
    member = MembershipFactory(structure=partner, role=Role.PARTENAIRE).user
    shared = Action.objects.create(structure=epn, titre="Ateliers seniors", lieu="Salle 2")
    ActionPartenaire.objects.create(action=shared, partenaire=partner)
    own = Action.objects.create(structure=epn, titre="Permanence")
    ActionPartenaire.objects.create(action=own, partenaire=other_partner)
    other = Action.objects.create(structure=other_epn, titre="Cesson numérique")
    return World(
        epn,
        animateur,
        other_epn,
        partner,
        member,
        other_partner,
        _seance(shared, "Premier atelier", 3),
        _seance(own, "Accueil", 4),
        _seance(other, "Chez les voisins", 5),
    )


def _feed(url):
    response = Client().get(url)  # a calendar client: no login, no cookie
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def _uids(calendar):
    return {str(event["uid"]) for event in calendar.walk("VEVENT")}


@override_settings(ANCRAGE_ICAL_UID_DOMAIN="ancrage.exemple.fr")
def test_an_epn_feed_lists_its_sessions_without_login(world):
    flux = agenda.flux_regenerate(acting_user=world.animateur, structure=world.epn)
    calendar = _feed(agenda.path(flux))
    assert str(calendar["x-wr-calname"]) == "Séances — EPN du Blosne"
    assert calendar["refresh-interval"].dt == dt.timedelta(hours=1)
    assert _uids(calendar) == {
        f"seance-{world.with_partner.pk}@ancrage.exemple.fr",
        f"seance-{world.without_partner.pk}@ancrage.exemple.fr",
    }
    event = next(e for e in calendar.walk("VEVENT") if str(e["summary"]).startswith("Ateliers"))
    assert str(event["summary"]) == "Ateliers seniors — Premier atelier"
    assert str(event["location"]) == "Salle 2"
    assert event["sequence"] == 0 and event["last-modified"].dt.tzinfo is not None
    assert event["url"].endswith(world.with_partner.action.get_absolute_url())
    assert "attendee" not in event and "description" not in event  # nobody's name or address
    # Stable: the same address gives the same UIDs again.
    assert _uids(_feed(agenda.path(flux))) == _uids(calendar)
    assert Client().head(agenda.path(flux)).status_code == 200
    assert Client().post(agenda.path(flux)).status_code == 405


def test_a_partner_feed_lists_only_the_actions_it_is_partner_of(world):
    flux = agenda.flux_regenerate(acting_user=world.partner_member, structure=world.partner)
    calendar = _feed(agenda.path(flux))
    summaries = {str(e["summary"]) for e in calendar.walk("VEVENT")}
    assert summaries == {"Ateliers seniors — Premier atelier"}


def test_regenerated_or_deactivated_addresses_answer_404_and_each_change_is_audited(world):
    first = agenda.path(agenda.flux_regenerate(acting_user=world.animateur, structure=world.epn))
    assert len(first.rsplit("/", 1)[1].removesuffix(".ics")) == 43  # 256 bits, base64url
    second = agenda.path(agenda.flux_regenerate(acting_user=world.animateur, structure=world.epn))
    assert first != second
    assert Client().get(first).status_code == 404
    _feed(second)
    assert agenda.flux_deactivate(acting_user=world.animateur, structure=world.epn)
    assert Client().get(second).status_code == 404
    flux = FluxAgenda.objects.get(structure=world.epn)
    entries = AuditEntry.objects.filter(object_type="actions.fluxagenda", object_id=str(flux.pk))
    assert [(e.action, e.actor_id) for e in entries.order_by("sequence")] == [
        ("create", world.animateur.pk),
        ("update", world.animateur.pk),
        ("update", world.animateur.pk),
    ]
    # Turned on again: a new address, never an old one.
    third = agenda.path(agenda.flux_regenerate(acting_user=world.animateur, structure=world.epn))
    assert third not in (first, second)


def test_the_page_shows_the_addresses_only_to_their_managers(world):
    client = Client()
    client.force_login(world.animateur)
    assert client.post(reverse("agenda:regenerer", kwargs={"pk": world.epn.pk})).status_code == 302
    page = client.get(reverse("agenda:gerer")).content.decode()
    flux = FluxAgenda.objects.get(structure=world.epn)
    assert agenda.path(flux) in page and "Régénérer l’adresse" in page and "Désactiver" in page
    # Another EPN's or a partner's feed: the animateur may not create, regenerate or turn it off.
    for structure in (world.other_epn, world.partner):
        for name in ("agenda:regenerer", "agenda:desactiver"):
            assert client.post(reverse(name, kwargs={"pk": structure.pk})).status_code == 404
    assert not FluxAgenda.objects.exclude(structure=world.epn).exists()
    # The partner's member manages their organisation's feed only, and never sees the EPN's address.
    partner = Client()
    partner.force_login(world.partner_member)
    page = partner.get(reverse("agenda:gerer")).content.decode()
    assert "Centre social" in page and agenda.path(flux) not in page and "EPN du Blosne" not in page
    assert partner.post(reverse("agenda:desactiver", kwargs={"pk": world.epn.pk})).status_code == 404
    assert Client().get(reverse("agenda:gerer")).status_code == 302  # login first
    assert Client().post(reverse("agenda:regenerer", kwargs={"pk": world.epn.pk})).status_code == 302


def test_someone_who_manages_no_feed_gets_403(world):
    referent = MembershipFactory(
        structure=None, collectivite=world.epn.collectivite or _collectivite(world), role=Role.REFERENT
    ).user
    client = Client()
    client.force_login(referent)
    assert client.get(reverse("agenda:gerer")).status_code == 403


def _collectivite(world):
    from tests.organisations.factories import CollectiviteFactory

    return CollectiviteFactory(reseau=world.epn.reseau)


@examples(30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=60
    )
)
def test_any_other_key_is_404(world, key):
    flux = FluxAgenda.objects.filter(structure=world.epn).first() or agenda.flux_regenerate(
        acting_user=world.animateur, structure=world.epn
    )
    if key == agenda.cle(flux):
        return
    assert Client().get(f"/agenda/flux/{flux.pk}/{key}.ics").status_code == 404
