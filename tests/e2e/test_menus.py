"""Each demo account, in a real browser: every entry of its menu opens, and axe finds nothing serious.

Also the keyboard: the skip link is the first thing Tab reaches, and the login form works with
the keyboard alone.
"""

import pytest

from ancrage.demo.loader import DEMO_ACCOUNTS
from tests.e2e.helpers import AxeLog, screenshot

ROLE_SCREENSHOTS = {
    "animateur@demo.ancrage.fr": "accueil-animateur",
    "responsable@demo.ancrage.fr": "accueil-responsable",
    "referent@demo.ancrage.fr": "accueil-referent",
    "elu@demo.ancrage.fr": "accueil-elu",
    "partenaire@demo.ancrage.fr": "accueil-partenaire",
    "coordinateur@demo.ancrage.fr": "accueil-coordinateur",
}


@pytest.mark.parametrize("email", [email for email, _ in DEMO_ACCOUNTS])
def test_every_menu_entry_of_each_role_opens_without_serious_accessibility_violation(
    demo_visitor_factory, email
):
    visitor = demo_visitor_factory(email)
    page = visitor.page
    axe = AxeLog()
    axe.check(page, "/")
    if email in ROLE_SCREENSHOTS:
        screenshot(page, ROLE_SCREENSHOTS[email])
    links = page.locator("#navigation-principale a.fr-nav__link")
    entries = [(links.nth(i).inner_text(), links.nth(i).get_attribute("href")) for i in range(links.count())]
    assert entries and entries[0] == ("Tableau de bord", "/")
    for label, href in entries:
        visitor.go(href)
        assert page.locator("h1").count() == 1, f"{label} ({href}) has no single h1"
        current = page.locator('#navigation-principale a[aria-current="page"]')
        if visitor.path() == href:
            assert current.inner_text() == label
        axe.check(page, visitor.path())
    assert not axe.problems, f"{email}: axe found serious or critical violations\n{axe.report()}"


def test_login_page_has_no_serious_accessibility_violation(demo_visitor_factory):
    visitor = demo_visitor_factory()
    visitor.go("/compte/connexion/")
    axe = AxeLog()
    axe.check(visitor.page)
    assert not axe.problems, axe.report()


def test_skip_link_is_reached_first_and_moves_focus_to_the_content(demo_visitor_factory):
    visitor = demo_visitor_factory()
    visitor.go("/compte/connexion/")
    page = visitor.page
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Contenu"
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#content"
    # The target takes the focus, so the next Tab starts from the content, not the header.
    page.keyboard.press("Tab")
    inside = page.evaluate("!!document.activeElement.closest('#content')")
    assert inside, page.evaluate("document.activeElement.outerHTML")


def test_login_form_works_with_the_keyboard_alone(demo_visitor_factory):
    visitor = demo_visitor_factory()
    visitor.go("/compte/connexion/")
    page = visitor.page
    page.locator("#id_username").focus()
    page.keyboard.type("animateur@demo.ancrage.fr")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type("demo-ancrage")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Se connecter"
    page.keyboard.press("Enter")
    page.wait_for_url(visitor.base + "/")
    assert page.locator("h1").inner_text() == "Tableau de bord — Animateur·rice"
