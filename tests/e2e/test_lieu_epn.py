"""The EPN's own place in the browser: the form, its downloads, and the directory's link to it."""

from playwright.sync_api import expect

from tests.e2e.helpers import axe_violations, describe, screenshot


def test_the_staff_open_their_place_from_the_directory_and_download_it(demo_visitor_factory):
    visitor = demo_visitor_factory("animateur@demo.ancrage.fr")
    page = visitor.page
    visitor.go("/partenaires/")
    page.get_by_role("link", name="Le lieu de l’EPN").click()
    expect(page.locator("h1")).to_have_text("Le lieu de l’EPN : EPN du Blosne (démo)")
    expect(page.get_by_label("Latitude")).to_have_value("48.0872")
    screenshot(page, "lieu-epn-1280", height=2400)
    violations = axe_violations(page)
    assert not violations, describe(violations)
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger au standard (JSON)").click()
    assert download.value.suggested_filename.startswith("lieu-")
    page.get_by_label("Adresse").fill("3 square de Zagreb (démo)")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".fr-alert--success, [role=alert]").first).to_contain_text(
        "La fiche du lieu est enregistrée."
    )
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "lieu-epn-390", height=2400)
