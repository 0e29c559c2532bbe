"""What a person sees, in Chromium: charts drawn, the map in its frame, a header that works on a phone.

At 1280 px and at 390 px (a phone), the chart pages are photographed whole into tmp_path (the
charts and the phone menu also into the screenshots folder of tests/e2e/conftest.py, for
docs/captures.md) and checked: every bar Chromium drew has a size, the map fills its frame, no
request fails, no script or console error, no CSP violation, and every SVG number parses
(ancrage.core.svg).
The crawl walks every page of every demo account the same way: its full sweep is ``slow``;
``make test`` keeps the dashboard and one chart page per role. The module's tests only read the
demo, loaded once for them all (``shared_demo_server``), its Blosne sectors given outlines.
"""

import re
from collections import Counter, deque
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from playwright.sync_api import Error as PlaywrightError

from ancrage.core.svg import svg_number_errors
from ancrage.demo.loader import DEMO_ACCOUNTS
from tests.e2e.helpers import PageWatch, drawn_rects, element_screenshot, screenshot, svg_markup

# The map's drawing against its frame (the figure), and the span of its sectors inside it.
MAP_FRAME_JS = """
() => {
  const svg = document.querySelector("svg[aria-labelledby^='carte-titre']");
  const frame = svg.parentElement.getBoundingClientRect(), box = svg.getBoundingClientRect();
  const paths = Array.from(svg.querySelectorAll('path')).map(e => e.getBoundingClientRect());
  const left = Math.min(...paths.map(r => r.left)), right = Math.max(...paths.map(r => r.right));
  const top = Math.min(...paths.map(r => r.top)), bottom = Math.max(...paths.map(r => r.bottom));
  // The frame is the figure, up to the charts' max-width of ancrage.css.
  const cap = parseFloat(getComputedStyle(svg).maxWidth) || Infinity;
  return {frame: Math.min(frame.width, cap), svg: box.width, svgh: box.height, drawn: right - left,
          drawnh: bottom - top};
}
"""
WIDTHS = {"large": {"width": 1280, "height": 900}, "telephone": {"width": 390, "height": 844}}


def _ids():
    from ancrage.diagnostic.models import Diagnostic
    from ancrage.organisations.models import Structure

    blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
    diagnostic = Diagnostic.objects.get(titre__contains="Diagnostic 2024 de l’EPN du Blosne")
    return blosne, diagnostic


def _give_the_sectors_outlines(structure) -> int:
    """Square outlines, side by side, for each sector of ``structure``: the map then draws.

    The demo may ship no outline; a grid of squares near Rennes is enough to see that the map,
    whatever its sectors' shapes, fills its frame.
    """
    from ancrage.territoire.models import Secteur

    secteurs = list(Secteur.objects.filter(structure=structure).order_by("code"))
    columns = 8
    for i, secteur in enumerate(secteurs):
        lon, lat = -1.70 + (i % columns) * 0.015, 48.10 - (i // columns) * 0.01
        ring = [[lon, lat], [lon + 0.015, lat], [lon + 0.015, lat - 0.01], [lon, lat - 0.01], [lon, lat]]
        secteur.contour = {"type": "Polygon", "coordinates": [ring]}
    Secteur.objects.bulk_update(secteurs, ["contour"])
    cache.clear()  # the diagnostic's rendering is kept; this one has a map now
    return len(secteurs)


def _check_page(visitor, watch, label: str) -> list[str]:
    page = visitor.page
    page.wait_for_load_state("networkidle")
    problems = [f"{label}: {p}" for p in watch.problems()]
    problems += [f"{label}: SVG {e}" for e in svg_number_errors(svg_markup(page))]
    return problems


@pytest.fixture(scope="module", autouse=True)
def _outlines(shared_demo_server):
    """The Blosne's sectors get outlines once, for the module's shared demo: every page with its map."""
    blosne, _diagnostic = _ids()
    return _give_the_sectors_outlines(blosne)


def test_chart_pages_draw_their_bars_and_map_at_both_widths(_outlines, demo_visitor_factory, tmp_path):
    blosne, diagnostic = _ids()
    assert _outlines >= 20
    visitor = demo_visitor_factory("animateur@demo.ancrage.fr")
    page = visitor.page
    watch = PageWatch(page)
    pages = {
        "diagnostic": f"/diagnostic/{diagnostic.pk}/",
        "trois-questions": f"/suivi/epn/{blosne.pk}/",
        "suivi": "/suivi/",
    }
    problems = []
    for width_name, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        for name, path in pages.items():
            visitor.go(path)
            problems += _check_page(visitor, watch, f"{path} at {viewport['width']} px")
            # The whole page, to look at when a check fails: into tmp_path, never the docs.
            shot = tmp_path / f"rendu-{name}-{width_name}.png"
            page.screenshot(path=str(shot), full_page=True, animations="disabled")
            assert shot.stat().st_size > 0
        visitor.go(pages["diagnostic"])
        page.wait_for_load_state("networkidle")
        count, flat = drawn_rects(page)
        assert count >= 20, f"{viewport['width']} px: only {count} bars"
        assert not flat, f"{viewport['width']} px: bars drawn without a size: {flat[:5]}"
        carte = page.locator("svg[aria-labelledby^='carte-titre']")
        assert carte.count() == 1, "the diagnostic shows no map"
        carte.scroll_into_view_if_needed()
        frame = page.evaluate(MAP_FRAME_JS)
        assert frame["svg"] >= 0.95 * frame["frame"], (
            f"{viewport['width']} px: map narrower than its frame {frame}"
        )
        # The sectors span the drawing, margins aside, in width or (a territory taller than wide,
        # its shape kept) in height: not cropped into a corner.
        spans = frame["drawn"] >= 0.9 * frame["svg"] or frame["drawnh"] >= 0.9 * frame["svgh"]
        assert spans, f"{viewport['width']} px: map cropped {frame}"
        assert frame["svgh"] > 0.2 * frame["svg"], frame
        carte.screenshot(path=str(tmp_path / f"rendu-carte-{width_name}.png"))
        if width_name == "large":
            # The docs' captures of the charts (docs/captures.md).
            for chart in ("graphe-secteurs", "graphe-age"):
                selector = f"figure:has(svg[aria-labelledby^='{chart}-titre'])"
                assert element_screenshot(page, selector, chart.replace("graphe", "graphique"), 760).exists()
    assert not problems, "\n".join(problems)


def test_the_header_works_on_a_phone(demo_visitor_factory):
    visitor = demo_visitor_factory("animateur@demo.ancrage.fr")
    page = visitor.page
    watch = PageWatch(page)
    page.set_viewport_size(WIDTHS["telephone"])
    visitor.go("/")
    page.wait_for_load_state("networkidle")
    burger = page.locator("#bouton-menu-principal")
    assert burger.is_visible(), "no burger button at 390 px"
    assert not page.get_by_role("button", name="Se déconnecter").first.is_visible()
    burger.click()
    modal = page.locator("#menu-principal")
    modal.get_by_role("button", name="Se déconnecter").wait_for(state="visible")
    assert modal.get_by_text("Camille Le Goff").is_visible()
    assert modal.get_by_role("link", name="Diagnostic du territoire").is_visible()
    screenshot(page, "entete-telephone-menu-ouvert", height=844)
    modal.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r".*/compte/connexion/.*"))
    assert watch.problems() == []


# -- The crawl: every page of every demo account, in Chromium ------------------------------------

SKIPPED = ("/compte/deconnexion/", "/admin/", "/static/", "/media/")
PER_SHAPE = 3  # as scripts/ci_production_pages.py: detail pages of one shape per role
MAX_DEPTH = 3


def _shape(path: str) -> str:
    return re.sub(r"\d+", "<n>", urlsplit(path).path)


def _links(page) -> list[str]:
    hrefs = page.evaluate(
        # A link marked ``download`` (a dossier's piece) serves a file, not a page.
        "() => Array.from(document.querySelectorAll('a[href]:not([download])'))"
        ".map(a => a.getAttribute('href'))"
    )
    links = []
    for href in hrefs:
        path = href.split("#", 1)[0]
        if not path.startswith("/") or path.startswith("//") or path.startswith(SKIPPED):
            continue
        if "." in urlsplit(path).path.rsplit("/", 1)[-1]:
            continue  # a download (PDF, CSV, XLSX, ICS): not a page
        links.append(path)
    return links


def _crawl(visitor, watch, role: str, max_depth: int) -> tuple[int, list[str]]:
    seen, problems, shapes = set(), [], Counter()
    queue = deque([("/", 0)])
    while queue:
        path, depth = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        try:
            response = visitor.page.goto(visitor.base + path)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                continue  # a file served as an attachment (a dossier's piece): not a page
            raise
        status = response.status if response else 0
        if status >= 400:
            problems.append(f"{role} {path}: {status}")
        problems += _check_page(visitor, watch, f"{role} {path}")
        if depth >= max_depth:
            continue
        for link in _links(visitor.page):
            if link in seen or shapes[_shape(link)] >= PER_SHAPE:
                continue
            shapes[_shape(link)] += 1
            queue.append((link, depth + 1))
    return len(seen), problems


@pytest.mark.slow
@pytest.mark.parametrize("email", [email for email, _ in DEMO_ACCOUNTS])
def test_every_page_of_every_account_is_clean_in_chromium(demo_visitor_factory, email):
    visitor = demo_visitor_factory(email)
    watch = PageWatch(visitor.page)
    count, problems = _crawl(visitor, watch, email.split("@")[0], MAX_DEPTH)
    assert count > 5, f"{email}: only {count} pages reached"
    assert not problems, "\n".join(problems)


def test_each_account_s_dashboard_is_clean_in_chromium(demo_visitor_factory):
    """``make test``'s share of the crawl: each role's dashboard (the chart pages are above)."""
    problems, counts = [], {}
    for email, _label in DEMO_ACCOUNTS:
        visitor = demo_visitor_factory(email)
        watch = PageWatch(visitor.page)
        counts[email], found = _crawl(visitor, watch, email.split("@")[0], max_depth=0)
        problems += found
    assert all(counts.values()), counts
    assert not problems, "\n".join(problems)
