"""The demo's map in a real browser, at 1280 and 390 px: drawn, filling its frame, its table open.

The Villeurbanne animatrice's diagnostic carries IGN's outlines of its 45 IRIS. The map's PNG is
written with the other captures (docs/captures.md, tests/e2e/conftest.py).
"""

import os
from pathlib import Path

import pytest

from ancrage.diagnostic.models import Diagnostic
from tests.e2e.helpers import SCREENSHOTS_ENV

MAP_BOXES = """() => {
  const svg = document.querySelector('svg.ancrage-carte-svg');
  const frame = svg.getBoundingClientRect();
  let left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity, drawn = 0;
  for (const path of svg.querySelectorAll('path')) {
    const box = path.getBoundingClientRect();
    if (box.width > 0 && box.height > 0) drawn += 1;
    left = Math.min(left, box.left); top = Math.min(top, box.top);
    right = Math.max(right, box.right); bottom = Math.max(bottom, box.bottom);
  }
  return {
    frame: [frame.left, frame.top, frame.width, frame.height],
    paths: [left, top, right - left, bottom - top],
    drawn,
  };
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_demo_map_fills_its_frame(demo_visitor_factory, width):
    visitor = demo_visitor_factory("animateur3@demo.ancrage.fr")
    page = visitor.page
    page.set_viewport_size({"width": width, "height": 900})
    diagnostic = Diagnostic.objects.get(titre="Diagnostic 2024 de l’EPN de Villeurbanne (démo)")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    visitor.go(diagnostic.get_absolute_url())
    figure = page.locator("figure.ancrage-carte")
    figure.scroll_into_view_if_needed()
    boxes = page.evaluate(MAP_BOXES)
    frame_left, frame_top, frame_width, frame_height = boxes["frame"]
    left, top, drawn_width, drawn_height = boxes["paths"]
    assert boxes["drawn"] == 45
    assert frame_width > 0.6 * min(width, 700) and frame_height > 100
    # The outlines reach both sides of the frame along its longer axis (8 units of margin in 600).
    assert drawn_width >= 0.95 * frame_width or drawn_height >= 0.95 * frame_height
    assert left >= frame_left - 1 and top >= frame_top - 1
    assert (
        left + drawn_width <= frame_left + frame_width + 1
        and top + drawn_height <= frame_top + frame_height + 1
    )
    map_errors = [e for e in errors if "path" in e or "viewBox" in e]
    assert not map_errors, map_errors
    page.locator("details.ancrage-carte-tableau summary").click()
    assert page.locator("details.ancrage-carte-tableau table tbody tr").count() == 45
    folder = Path(os.environ[SCREENSHOTS_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    figure.screenshot(path=str(folder / f"carte-{width}.png"), animations="disabled")
