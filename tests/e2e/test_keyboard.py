"""The main forms with the keyboard alone: Tab to each field, type, Space and Enter, no mouse."""

from pathlib import Path

from playwright.sync_api import expect

FIXTURES = Path(__file__).parents[1] / "fixtures"
USAGERS = FIXTURES / "frequentation" / "correct-files" / "usagers.csv"
MAX_TABS = 400  # the action form lists every sector of the territory as a checkbox


def tab_to(page, selector: str) -> None:
    """Press Tab until the element matching ``selector`` has the focus (fails if Tab never gets there)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reaches {selector}")


def focused_text(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def test_attendance_import_with_the_keyboard_alone(demo_visitor_factory):
    visitor = demo_visitor_factory("animateur@demo.ancrage.fr")
    page = visitor.page
    visitor.go("/diagnostic/")
    tab_to(page, 'a[href$="/importer/frequentation/"]')
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Importer : Fréquentation")
    tab_to(page, "#id_fichier")
    # The file dialog belongs to the system, not to the page: the file is given to the focused
    # field as the dialog would (opening it with Space proved unreliable in headless Chromium).
    page.locator("#id_fichier:focus").set_input_files(str(USAGERS))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_format"
    tab_to(page, "button[type=submit]")
    assert focused_text(page) == "Analyser le fichier"
    page.keyboard.press("Enter")
    expect(page.locator("#etat-import")).to_have_text("Prêt à importer")
    tab_to(page, "button[value=confirmer]")
    page.keyboard.press("Enter")
    expect(page.locator(".fr-alert--success")).to_contain_text("« usagers.csv » est importé.")


def test_action_form_with_the_keyboard_alone(demo_visitor_factory):
    visitor = demo_visitor_factory("animateur@demo.ancrage.fr")
    page = visitor.page
    visitor.go("/actions/nouvelle/")
    tab_to(page, "#id_titre")
    page.keyboard.type("Action saisie au clavier")
    # The type of action is a group of radio buttons: Tab enters it, Space chooses.
    tab_to(page, "input[name=type]")
    page.keyboard.press("Space")
    assert page.locator("input[name=type]:checked").count() == 1
    tab_to(page, "button[type=submit]")
    assert focused_text(page) == "Enregistrer"
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Action saisie au clavier")
    expect(page.locator(".fr-alert--success")).to_contain_text("L’action est créée.")
    # Its first measurable objective, still without the mouse.
    tab_to(page, "#id_libelle")
    page.keyboard.type("Participants")
    tab_to(page, "#id_valeur_cible")
    page.keyboard.type("12")
    tab_to(page, 'form[action$="/objectifs/"] button[type=submit]')
    assert focused_text(page) == "Ajouter l’objectif"
    page.keyboard.press("Enter")
    expect(page.locator(".fr-alert--success")).to_contain_text("L’objectif est ajouté.")
