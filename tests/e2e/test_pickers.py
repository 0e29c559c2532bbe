"""The organisation picker in the browser: a combobox with JavaScript, a plain select without."""

from playwright.sync_api import expect

from tests.e2e.conftest import VIEWPORT
from tests.e2e.helpers import axe_violations, describe, screenshot

MISSION = "Mission locale du bassin rennais (démo)"


def _sheet_path():
    from ancrage.actions.models import Seance
    from ancrage.demo.actions import EMPLOI

    seance = Seance.objects.filter(action__titre=EMPLOI).first()
    return f"/suivi/seances/{seance.pk}/feuille/", seance


def test_the_orienté_par_picker_filters_as_one_types_and_sets_the_select(demo_visitor_factory):
    visitor = demo_visitor_factory("animateur@demo.ancrage.fr")
    page = visitor.page
    path, seance = _sheet_path()
    visitor.go(path)
    combo = page.locator("#id_ligne-0-oriente_par-recherche")
    expect(combo).to_have_attribute("role", "combobox")
    expect(page.locator("#id_ligne-0-oriente_par")).to_be_hidden()
    # The label now names the combobox.
    expect(page.get_by_role("combobox", name="Orienté·e par, ligne 1", exact=True)).to_have_id(
        "id_ligne-0-oriente_par-recherche"
    )
    combo.click()
    listbox = page.locator("#id_ligne-0-oriente_par-liste")
    expect(listbox).to_be_visible()
    # The action's own partners come first, in their group.
    expect(listbox.locator(".ancrage-picker__group").first).to_have_text("Partenaires de l’action")
    combo.fill("missi")
    expect(listbox.get_by_role("option")).to_have_count(1)
    screenshot(page, "picker-feuille-1280")
    combo.press("ArrowDown")
    expect(combo).to_have_attribute("aria-activedescendant", "id_ligne-0-oriente_par-liste-0")
    combo.press("Enter")
    expect(listbox).to_be_hidden()
    expect(combo).to_have_value(MISSION)
    chosen = page.eval_on_selector("#id_ligne-0-oriente_par", "s => s.options[s.selectedIndex].text")
    assert chosen == MISSION
    violations = axe_violations(page)
    assert not violations, describe(violations)
    page.set_viewport_size({"width": 390, "height": 844})
    combo.click()
    combo.fill("c")
    screenshot(page, "picker-feuille-390")
    page.set_viewport_size(VIEWPORT)


def test_without_javascript_the_picker_is_a_plain_select_with_groups(browser, shared_demo_server, db):
    path, _ = _sheet_path()
    context = browser.new_context(viewport=VIEWPORT, locale="fr-FR", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(shared_demo_server.url + "/compte/connexion/")
        page.get_by_label("Adresse e-mail").fill("animateur@demo.ancrage.fr")
        page.get_by_label("Mot de passe", exact=True).fill("demo-ancrage")
        page.get_by_role("button", name="Se connecter").click()
        page.goto(shared_demo_server.url + path)
        select = page.locator("#id_ligne-0-oriente_par")
        expect(select).to_be_visible()
        assert page.locator("#id_ligne-0-oriente_par-recherche").count() == 0
        groups = select.locator("optgroup")
        expect(groups.first).to_have_attribute("label", "Partenaires de l’action")
        select.select_option(label=MISSION)
        screenshot(page, "picker-feuille-sans-js-1280")
        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(page, "picker-feuille-sans-js-390")
    finally:
        context.close()


def test_the_recommendations_page_with_its_picker(demo_visitor_factory):
    from ancrage.actions.models import Action
    from ancrage.demo.actions import EMPLOI

    visitor = demo_visitor_factory("animateur@demo.ancrage.fr")
    page = visitor.page
    action = Action.objects.get(titre=EMPLOI)
    visitor.go(f"/actions/{action.pk}/partenaires/")
    expect(page.locator("h1")).to_have_text("Partenaires recommandés")
    combo = page.get_by_role("combobox", name="Partenaire de l’annuaire")
    combo.fill("ccas")
    combo.press("ArrowDown")
    combo.press("Enter")
    expect(combo).to_have_value("CCAS de Rennes (démo)")
    screenshot(page, "recommandations-1280", height=3000)
    violations = axe_violations(page)
    assert not violations, describe(violations)
    page.get_by_role("button", name="Ajouter à l’action").last.click()
    expect(page.locator(".fr-alert--success, .fr-notice, [role=alert]").first).to_contain_text(
        "CCAS de Rennes"
    )
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "recommandations-390", height=3000)


def test_the_recommendations_of_a_maurepas_action_show_the_charente_places_apart(demo_visitor_factory):
    from pathlib import Path

    from ancrage.actions import services as actions
    from ancrage.partenaires import services as partenaires
    from tests.demo_accounts import blosne

    epn = blosne()
    folder = Path(__file__).resolve().parents[1] / "fixtures" / "partenaires"
    for name in ("charente-extrait-quirks.json", "rennes-fictifs.json"):
        partenaires.import_directly(
            acting_user=None, epn=epn, data=(folder / name).read_bytes(), filename=name
        )
    action = actions.action_create(
        acting_user=None,
        epn=epn,
        titre="Jeunes de Maurepas vers l’emploi (test)",
        thematique="insertion et emploi",
        services=["Insertion professionnelle via le numérique"],
        publics=["age:15-29", "activite:chomeur"],
        secteurs=[f"3523805{n:02d}" for n in range(1, 10)],
    )
    visitor = demo_visitor_factory("animateur@demo.ancrage.fr")
    page = visitor.page
    visitor.go(f"/actions/{action.pk}/partenaires/")
    expect(page.get_by_role("heading", name="Hors du territoire de Rennes Métropole")).to_be_visible()
    titles = page.locator(".fr-card__title").all_inner_texts()
    assert any("Espace jeunes de Maurepas (fictif)" in title for title in titles[:3]), titles[:5]
    screenshot(page, "recommandations-maurepas-1280", height=4000)
    violations = axe_violations(page)
    assert not violations, describe(violations)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "recommandations-maurepas-390", height=4000)


def test_the_signatories_filter_and_the_invitation_picker(demo_visitor_factory):
    from pathlib import Path

    from ancrage.actions.models import Action
    from ancrage.conventions import services as convention_services
    from ancrage.demo.actions import EMPLOI
    from ancrage.partenaires import services as partenaires

    action = Action.objects.get(titre=EMPLOI)
    name = "charente-extrait-quirks.json"
    data = (Path(__file__).resolve().parents[1] / "fixtures" / "partenaires" / name).read_bytes()
    partenaires.import_directly(acting_user=None, epn=action.structure, data=data, filename=name)
    convention = convention_services.convention_create_from_action(
        acting_user=None, action=action, titre="Convention emploi (test)", partenaires=[]
    )
    visitor = demo_visitor_factory("responsable@demo.ancrage.fr")
    page = visitor.page
    visitor.go(f"/conventions/{convention.pk}/modifier/")
    assert page.locator('input[name="partenaires"]').count() > 20
    page.get_by_label("Filtrer la liste").fill("ccas")
    expect(page.locator('input[name="partenaires"]:visible')).to_have_count(1)
    screenshot(page, "picker-signataires-1280", height=2400)
    violations = axe_violations(page)
    assert not violations, describe(violations)
    visitor.go("/compte/invitations/")
    combo = page.get_by_role("combobox", name="Rôle et organisation")
    combo.fill("anim")
    combo.press("ArrowDown")
    combo.press("Enter")
    expect(combo).not_to_have_value("")
    screenshot(page, "picker-invitations-1280")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    page.set_viewport_size({"width": 390, "height": 844})
    combo.fill("")
    combo.type("part")
    screenshot(page, "picker-invitations-390")
