"""What the pages keep between requests never shows stale or another person's content.

The lists' filter form is rendered once per state (``RenderedOnceForm``), the main menu's URLs are
reversed once per set of roles, the templates are compiled before the first request. Each test
changes what the kept thing depends on and checks the next request shows it.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ancrage.accounts.models import User
from ancrage.dossiers.models import Dossier
from ancrage.organisations.enums import Role, StructureKind
from ancrage.organisations.models import Structure
from ancrage.www.dossiers_views.forms import FiltreForm
from ancrage.www.forms import AncrageForm
from ancrage.www.forms_renderer import dsfr_renderer
from ancrage.www.warmup import warm_templates
from tests.demo_accounts import blosne, login
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.demo(conventions=False)  # the demo's conventions are not read here

VITRE = "Espace numérique de Vitré (démo)"


def filter_form_html(html: str) -> str:
    start = html.index('aria-label="Filtrer les dossiers"')
    return html[start : html.index("</form>", start)]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"etat": "accepte"},
        {"etat": "nimporte", "depose_apres": "pas une date", "thematique": "<script>"},
        {"epn": "1", "depose_avant": "2026-01-31"},
    ],
)
def test_the_kept_filter_form_is_the_form_rendered_afresh(demo, data):
    epns = [blosne(), Structure.objects.get(nom=VITRE)]
    form = FiltreForm(data, epns=epns)
    form.is_valid()
    afresh = AncrageForm.render(form)  # the renderer's own output, no cache
    assert str(form) == afresh  # rendered, then kept
    again = FiltreForm(data, epns=epns)
    again.is_valid()
    assert str(again) == afresh  # read back from the cache
    assert "<script>" not in str(again)


def test_two_states_of_the_filter_form_have_two_keys(demo):
    epns = [blosne()]
    keys = {
        FiltreForm(None, epns=epns).render_key(),
        FiltreForm({"etat": "accepte"}, epns=epns).render_key(),
        FiltreForm({"etat": "refuse"}, epns=epns).render_key(),
        FiltreForm(None, epns=[blosne(), Structure.objects.get(nom=VITRE)]).render_key(),
        FiltreForm(None, epns=epns, prefix="autre").render_key(),
    }
    assert len(keys) == 5
    assert FiltreForm(None, epns=epns).render_key() == FiltreForm(None, epns=[blosne()]).render_key()


def test_each_user_sees_the_epns_of_their_own_filter(client, demo):
    """The animateur of Blosne and the animatrice of Vitré filter their dossiers on their own EPN:
    the form kept for one is never shown to the other."""
    login(client, "animateur")
    mine = filter_form_html(client.get(reverse("dossiers:list")).content.decode())
    assert blosne().nom in mine and VITRE not in mine
    login(client, "animateur2")
    theirs = filter_form_html(client.get(reverse("dossiers:list")).content.decode())
    assert VITRE in theirs and blosne().nom not in theirs
    login(client, "animateur")
    assert filter_form_html(client.get(reverse("dossiers:list")).content.decode()) == mine


def test_a_renamed_epn_shows_in_the_filter_on_the_next_request(client, demo):
    login(client, "referent")
    html = client.get(reverse("dossiers:inbox")).content.decode()
    assert blosne().nom in filter_form_html(html)
    Structure.objects.filter(pk=blosne().pk).update(nom="EPN du Blosne renommé")
    html = filter_form_html(client.get(reverse("dossiers:inbox")).content.decode())
    assert "EPN du Blosne renommé" in html and "EPN du Blosne (démo)" not in html


def test_the_filters_sent_show_on_the_next_request(client, demo):
    login(client, "referent")
    html = filter_form_html(client.get(reverse("dossiers:inbox"), {"etat": "accepte"}).content.decode())
    assert '<option value="accepte" selected>' in html
    html = filter_form_html(client.get(reverse("dossiers:inbox"), {"etat": "refuse"}).content.decode())
    assert '<option value="refuse" selected>' in html and '<option value="accepte" selected>' not in html
    html = filter_form_html(client.get(reverse("dossiers:inbox")).content.decode())
    assert "selected>Tous" in html and 'accepte" selected' not in html


def test_the_inbox_reads_no_more_queries_when_its_form_is_kept(client, demo):
    login(client, "referent")
    client.get(reverse("dossiers:inbox"))  # the session's first request writes it
    cache.clear()
    with CaptureQueriesContext(connection) as first:
        client.get(reverse("dossiers:inbox"))
    with CaptureQueriesContext(connection) as second:
        client.get(reverse("dossiers:inbox"))
    assert len(second.captured_queries) == len(first.captured_queries)


def test_the_lists_read_only_the_columns_they_show(client, demo):
    """The dossiers' JSON copies and the partners' standard columns are not read for a list."""
    login(client, "referent")
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("dossiers:inbox")).content.decode()
    assert "Journée « Mon emploi en ligne » (démo)" in html
    assert not any("snapshot_diagnostic" in q["sql"] for q in queries.captured_queries)
    login(client, "responsable")
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("partenaires:list")).content.decode()
    assert "Partenaires de l’annuaire" in html
    assert not any('"hors_standard"' in q["sql"] for q in queries.captured_queries)


def menu_links(client) -> str:
    html = client.get(reverse("home:index")).content.decode()
    start = html.index('id="navigation-principale"')
    return html[start : html.index("</nav>", start)]


def test_the_menu_follows_a_change_of_roles_on_the_next_request(client, demo):
    invitations = f'href="{reverse("accounts:invitations")}"'
    inbox, dossiers = f'href="{reverse("dossiers:inbox")}"', f'href="{reverse("dossiers:list")}"'
    login(client, "animateur2")
    menu = menu_links(client)
    assert dossiers in menu and invitations not in menu and inbox not in menu
    login(client, "referent")
    menu = menu_links(client)
    assert inbox in menu and dossiers not in menu
    vitre = Structure.objects.get(nom=VITRE, kind=StructureKind.EPN)
    animatrice = User.objects.get(email="animateur2@demo.ancrage.fr")
    MembershipFactory(user=animatrice, role=Role.RESPONSABLE, structure=vitre)
    login(client, "animateur2")
    menu = menu_links(client)
    assert invitations in menu and dossiers in menu and inbox not in menu
    assert 'aria-current="page">Tableau de bord' in menu


def _cached_names(engine) -> set[str]:
    names = set()
    for loader in engine.template_loaders:
        # A miss (a template looked for under a name that does not exist) is cached as the
        # TemplateDoesNotExist class: not a template.
        cached = loader.get_template_cache.values()
        names |= {template.origin.template_name for template in cached if hasattr(template, "origin")}
    return names


def test_warm_up_compiles_the_pages_and_the_form_templates():
    assert warm_templates() > 100
    site = _cached_names(engines["django"].engine)
    assert {"layout/base.html", "dsfr/base.html", "dossiers/list.html", "partenaires/list.html"} <= site
    forms = _cached_names(dsfr_renderer().engine.engine)
    assert {"dsfr/form_snippet.html", "django/forms/widgets/select.html"} <= forms


def test_the_kept_dossier_list_still_opens_each_dossier(client, demo):
    login(client, "referent")
    html = client.get(reverse("dossiers:inbox")).content.decode()
    dossiers = list(Dossier.objects.exclude(etat="brouillon"))
    assert dossiers  # the demo has dossiers past the draft: the loop below checks something
    for dossier in dossiers:
        assert dossier.get_absolute_url() in html and dossier.numero in html


def test_a_form_whose_choices_cannot_be_named_is_not_kept(demo):
    """A queryset's choices are not in the key (their content is the database's): such a form is
    rendered each time, never kept under a key that would not name what it shows."""
    from django import forms

    from ancrage.www.forms_renderer import RenderedOnceForm

    class EpnForm(RenderedOnceForm, AncrageForm):
        epn = forms.ModelChoiceField(label="EPN", queryset=Structure.objects.filter(kind=StructureKind.EPN))

    form = EpnForm()
    assert form.render_key() is None
    assert blosne().nom in str(form)
    Structure.objects.filter(pk=blosne().pk).update(nom="EPN du Blosne renommé")
    assert "EPN du Blosne renommé" in str(EpnForm())
