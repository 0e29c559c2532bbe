"""The organisation pickers: their order, their markup for picker.js, and what they may list."""

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from ancrage.actions.models import Action, Seance
from ancrage.conventions import services as convention_services
from ancrage.demo.actions import EMPLOI, MEDIATHEQUE, MISSION_LOCALE, VITRE_ENTRAIDE
from ancrage.www.pickers import (
    FIRST_LABEL,
    NEAREST_LABEL,
    OTHERS_LABEL,
    flat_choices,
    grouped_choices,
    ordered_organisations,
)
from tests.demo_accounts import login

pytestmark = pytest.mark.demo(conventions=True)


def _org(pk, nom, lat=None, lon=None):
    fiche = SimpleNamespace(latitude=lat, longitude=lon) if lat is not None else None
    return SimpleNamespace(pk=pk, nom=nom, fiche_partenaire=fiche)


def test_the_action_partners_first_then_the_nearest_then_the_others_each_once():
    orgs = [
        _org(1, "Zèbre", 48.0, -1.0),
        _org(2, "alpha", 48.5, -1.0),
        _org(3, "Bêta"),
        _org(4, "Gamma", 48.01, -1.0),
        _org(5, "Delta", 49.0, -1.0),
    ]
    groups = ordered_organisations(orgs, first_ids={3}, origin=(48.0, -1.0), nearest=2)
    assert [(label, [o.pk for o in members]) for label, members in groups] == [
        (FIRST_LABEL, [3]),
        (NEAREST_LABEL, [1, 4]),
        (OTHERS_LABEL, [2, 5]),
    ]
    assert grouped_choices(groups, empty_label="—")[:2] == [("", "—"), (FIRST_LABEL, [(3, "Bêta")])]
    assert [pk for pk, _ in flat_choices(groups)] == [3, 1, 4, 2, 5]
    # Without an origin, no "nearest" group; a single group is a flat list.
    alone = ordered_organisations(orgs)
    assert [label for label, _ in alone] == [OTHERS_LABEL]
    assert grouped_choices(alone)[0] == (2, "alpha")


def _options(html, name):
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return select.group(0), re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))


def test_the_sheet_lists_only_the_epn_partners_the_action_ones_first(client, demo):
    seance = Seance.objects.filter(action__titre=EMPLOI).first()
    login(client, "animateur")
    html = client.get(reverse("suivi:feuille", kwargs={"pk": seance.pk})).content.decode()
    select, options = _options(html, "ligne-0-oriente_par")
    assert 'data-picker="organisation"' in select
    assert f'<optgroup label="{FIRST_LABEL}">' in select
    assert options[0] == "personne / venu·e seul·e"
    assert set(options[1:3]) == {MISSION_LOCALE, MEDIATHEQUE}
    # Vitré's partner is in another EPN's directory: never offered, even to choose.
    assert VITRE_ENTRAIDE not in html
    assert 'src="/static/ancrage/picker' in html


def test_the_convention_signatories_are_checkboxes_with_the_filter_marker(client, demo):
    action = Action.objects.get(titre=EMPLOI)
    convention = convention_services.convention_create_from_action(
        acting_user=None, action=action, titre="Convention emploi (test)", partenaires=[]
    )
    login(client, "animateur")
    html = client.get(reverse("conventions:update", kwargs={"pk": convention.pk})).content.decode()
    assert 'data-picker="filtre"' in html
    assert VITRE_ENTRAIDE not in html
    # The action's partners (Mission locale, médiathèque) come before the others.
    fieldset = html[max(0, html.index('name="partenaires"') - 2000) :]
    for nom in (MISSION_LOCALE, MEDIATHEQUE):
        assert fieldset.index(nom) < fieldset.index("CCAS de Rennes (démo)")


def test_the_invitation_target_is_a_picker(client, demo):
    login(client, "responsable")
    html = client.get(reverse("accounts:invitations")).content.decode()
    select, options = _options(html, "cible")
    assert 'data-picker="organisation"' in select and len(options) >= 2


def test_the_recommendations_page_picks_any_partner_of_this_epn_only(client, demo):
    action = Action.objects.get(titre=EMPLOI)
    login(client, "animateur")
    html = client.get(reverse("actions:recommandations", kwargs={"pk": action.pk})).content.decode()
    select, options = _options(html, "partenaire")
    assert 'data-picker="organisation"' in select
    assert MISSION_LOCALE not in options  # already in the action
    assert VITRE_ENTRAIDE not in options
    # The nearest to the EPN first: Ty-Blosne, in the Blosne itself, before the CCAS at the town
    # hall, although the alphabet says otherwise.
    assert options.index("Centre social Ty-Blosne (démo)") < options.index("CCAS de Rennes (démo)")
