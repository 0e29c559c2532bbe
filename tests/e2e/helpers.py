"""What the browser tests share: axe-core checks, keyboard checks, screenshots for the docs."""

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

# The folder screenshot() writes into: a temporary one unless a developer names docs/screenshots
# to refresh the docs' captures (see tests/e2e/conftest.py).
SCREENSHOTS_ENV = "ANCRAGE_SCREENSHOTS_DIR"
BLOCKING_IMPACTS = {"serious", "critical"}
# WCAG 2.1 A and AA, the level the RGAA maps to, plus axe's best practices.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}

_axe = Axe()  # axe-core's script, shipped inside the axe-playwright-python wheel


def axe_violations(page) -> list[dict]:
    """The serious and critical violations axe-core finds on the page as it is now."""
    results = _axe.run(page, options=AXE_OPTIONS).response
    return [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]


# DSFR shows a button's icon alone, its text clipped away, when the button has an icon class and
# its group lacks fr-btns-group--icon-left: the label is then read out but not seen. axe cannot
# tell, so the walk looks for buttons and links whose visible text is cut.
CLIPPED_LABELS_JS = """
() => Array.from(document.querySelectorAll('.fr-btn'))
  .filter(el => el.offsetParent !== null && el.textContent.trim() !== '' && !el.title)
  .filter(el => el.scrollWidth > el.clientWidth + 4)
  .map(el => el.outerHTML.slice(0, 160))
"""


def clipped_labels(page) -> list[str]:
    return page.evaluate(CLIPPED_LABELS_JS)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']} {node['html'][:160]}")
    return "\n".join(lines)


class AxeLog:
    """Runs axe on each page once (by path) and keeps what it found, to fail once with all of it."""

    def __init__(self):
        self.checked: list[str] = []
        self.problems: dict[str, list[dict]] = {}

    def check(self, page, label: str | None = None) -> None:
        key = label or page.url
        if key in self.checked:
            return
        self.checked.append(key)
        violations = axe_violations(page)
        clipped = clipped_labels(page)
        if clipped:
            violations.append(
                {
                    "id": "ancrage-clipped-label",
                    "impact": "serious",
                    "help": "Button text hidden by DSFR (add fr-btns-group--icon-left to its group)",
                    "nodes": [{"target": "", "html": html} for html in clipped],
                }
            )
        if violations:
            self.problems[key] = violations

    def report(self) -> str:
        return "\n".join(f"{page}:\n{describe(v)}" for page, v in self.problems.items())


def screenshot(page, name: str, height: int = 1600) -> Path:
    """A PNG of the top of the page for docs/captures.md: 1280 px wide, at most ``height`` tall.

    The top is what a person sees first; the docs show that, not an endless page.
    """
    folder = Path(os.environ[SCREENSHOTS_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    full = page.evaluate("document.documentElement.scrollHeight")
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": min(full, height)}
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")
    return path


# Each securitypolicyviolation of the page, kept where page_problems() reads it. An init script
# runs before the page's own scripts, and the CSP does not apply to it.
CSP_LISTENER_JS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


class PageWatch:
    """What went wrong on a page: console errors, script errors, failed or refused requests, CSP.

    ``watch = PageWatch(page)`` before the first ``goto``; ``watch.problems()`` after each page
    (it empties the lists).
    """

    def __init__(self, page):
        self.page = page
        self.logged: list[str] = []
        page.add_init_script(CSP_LISTENER_JS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.logged.append(f"script error: {error}"))
        page.on("requestfailed", lambda request: self.logged.append(f"failed request: {request.url}"))
        page.on("response", self._response)

    def _console(self, message):
        if message.type == "error" or "Content Security Policy" in message.text:
            self.logged.append(f"console {message.type}: {message.text}")

    def _response(self, response):
        if response.status >= 400:
            self.logged.append(f"{response.status}: {response.url}")

    def problems(self) -> list[str]:
        violations = self.page.evaluate("window.__cspViolations || []")
        found = self.logged + [f"CSP violation: {v}" for v in violations]
        self.logged = []
        self.page.evaluate("window.__cspViolations = []")
        return found


# Every <rect> that says it has a size, and the size Chromium gave it.
RECTS_JS = """
() => Array.from(document.querySelectorAll('svg rect'))
  .filter(r => parseFloat(r.getAttribute('width')) > 0 && parseFloat(r.getAttribute('height')) > 0)
  .map(r => { const b = r.getBoundingClientRect(); return [r.outerHTML.slice(0, 120), b.width, b.height]; })
"""


def drawn_rects(page) -> tuple[int, list[str]]:
    """How many SVG rects with a size the page has, and those Chromium drew without one."""
    rects = page.evaluate(RECTS_JS)
    return len(rects), [html for html, width, height in rects if not (width > 0 and height > 0)]


SVG_ATTRIBUTES_JS = "() => Array.from(document.querySelectorAll('svg')).map(s => s.outerHTML).join('')"


def svg_markup(page) -> str:
    """The SVG of the page as the browser holds it now (scripts may have added some)."""
    return page.evaluate(SVG_ATTRIBUTES_JS)


def element_screenshot(page, selector: str, name: str, height: int = 900) -> Path:
    """A PNG of the element ``selector`` names, at most ``height`` pixels of its top."""
    folder = Path(os.environ[SCREENSHOTS_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    box = page.evaluate(
        "(selector) => { const b = document.querySelector(selector).getBoundingClientRect();"
        " return {x: b.left + scrollX, y: b.top + scrollY, width: b.width, height: b.height}; }",
        selector,
    )
    clip = {**box, "height": min(box["height"], height)}
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")
    return path
