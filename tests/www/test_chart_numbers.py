"""Every chart-bearing page and PDF of the demo writes its SVG numbers as numbers, in French too.

Django localises numbers in French ("13,1"); SVG then drops the bars or spreads a text's digits.
The pages are read as the demo's people see them (ancrage.core.svg parses each numeric SVG
attribute). The PDFs are drawn by WeasyPrint from HTML: that HTML is checked the same way, and
the PDF's pages are rendered with pdftoppm to see that the charts' bars are drawn and no page
is blank.
"""

import os
import shutil
import subprocess

import pytest
from django.template import Context, Template
from django.utils import translation

from ancrage.core.svg import svg_count, svg_number_errors
from ancrage.diagnostic.models import Diagnostic
from ancrage.dossiers.models import Dossier
from tests.demo_accounts import blosne, login

# The bars' colours (ancrage.diagnostic.charts, ancrage.suivi.charts): blue France, red marianne.
BAR_COLOURS = {(0, 0, 145), (201, 25, 30)}


def _diagnostic(titre_contains: str) -> Diagnostic:
    return Diagnostic.objects.get(titre__contains=titre_contains)


def test_django_localises_numbers_here_so_the_filter_is_needed(settings):
    # The premise of this module: without ``num``, a French page writes a decimal comma.
    with translation.override("fr"):
        plain = Template("{{ v }}").render(Context({"v": 13.1}))
        filtered = Template("{% load svg %}{{ v|num }}").render(Context({"v": 13.1}))
    assert plain == "13,1"
    assert filtered == "13.1"


def test_the_parser_refuses_what_django_writes_in_french():
    errors = svg_number_errors(
        '<svg viewBox="0 0 600 540,8"><rect x="230" y="12.5" width="13,1" height="10"/>'
        '<text x="236,5" y="20">68</text><path d="M8.0,12.3 L1.0,2.0,3.0 Z"/></svg>'
    )
    assert errors == [
        '<svg viewbox="0 0 600 540,8">',
        '<rect width="13,1">',
        '<text x="236,5">',
        '<path d="M8.0,12.3 L1.0,2.0,3.0 Z">',
    ]
    assert svg_number_errors('<svg viewBox="0 0 600 540.8" width="100%"><rect width="13.1"/></svg>') == []
    # Outside an SVG, HTML's own width is not a chart's.
    assert svg_number_errors('<img width="13,1">') == []


def _dossier_with_charts() -> Dossier:
    # The demo's first cycle of the seniors' workshops carries its diagnostic extract.
    return Dossier.objects.get(titre__contains="premier cycle")


def _pages(demo):
    blosne_epn = blosne()
    return [
        ("animateur", f"/diagnostic/{_diagnostic('Diagnostic 2024 de l’EPN du Blosne').pk}/", True),
        ("animateur", f"/diagnostic/{_diagnostic('Après l’action').pk}/", True),
        ("animateur2", f"/diagnostic/{_diagnostic('Vitré').pk}/", True),
        ("referent", f"/diagnostic/{_diagnostic('Diagnostic 2023 de l’EPN du Blosne').pk}/", True),
        ("animateur", f"/diagnostic/lieu/{blosne_epn.pk}/", False),
        ("animateur", f"/dossiers/{_dossier_with_charts().pk}/", False),
        ("animateur", "/suivi/", False),
        ("animateur", f"/suivi/epn/{blosne_epn.pk}/", False),  # the three questions
        ("coordinateur", "/", False),  # the network view
        ("coordinateur", "/reseau/", True),  # the network dashboard: its funnel plot
        ("coordinateur", "/structures/", False),
        ("referent", "/", False),
    ]


def test_every_chart_page_writes_numbers_that_svg_reads(demo, client):
    seen_charts = 0
    for role, path, has_chart in _pages(demo):
        login(client, role)
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 200, f"{role} {path}: {response.status_code}"
        html = response.content.decode()
        assert svg_number_errors(html) == [], f"{role} {path}"
        if has_chart:
            assert svg_count(html) >= 1, f"{role} {path}: no chart"
            seen_charts += 1
        client.logout()
    assert seen_charts == 5


def _capture_pdf_html(monkeypatch):
    """The HTML each PDF renderer hands to WeasyPrint, by document."""
    from ancrage.diagnostic import rapport
    from ancrage.dossiers import documents
    from ancrage.reseau import bilan as bilan_reseau
    from ancrage.suivi import bilan

    captured: list[str] = []
    for module in (rapport, documents, bilan, bilan_reseau):
        original = module.html_to_pdf

        def recording(html, *args, _original=original, **kwargs):
            captured.append(html)
            return _original(html, *args, **kwargs)

        monkeypatch.setattr(module, "html_to_pdf", recording)
    return captured


def _close(rgb, colour) -> bool:
    return sum(abs(a - b) for a, b in zip(rgb, colour, strict=True)) < 40


def _pages_pixels(pdf: bytes, pdftoppm: str, tmp_path) -> list[tuple[int, int]]:
    """For each page at 40 dpi: (non-white pixels, pixels of a bar's colour)."""
    source = tmp_path / "document.pdf"
    source.write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", "40", str(source), str(tmp_path / "page")], check=True, timeout=120)
    counts = []
    for page in sorted(tmp_path.glob("page*.ppm")):
        data = page.read_bytes()
        # Binary PPM: "P6\n<width> <height>\n255\n", then RGB triplets.
        magic, width, height, _maximum, pixels = data.split(maxsplit=4)
        assert magic == b"P6"
        pixels = pixels[: int(width) * int(height) * 3]
        inked = bars = 0
        for i in range(0, len(pixels), 3):
            rgb = (pixels[i], pixels[i + 1], pixels[i + 2])
            if rgb != (255, 255, 255):
                inked += 1
                bars += any(_close(rgb, colour) for colour in BAR_COLOURS)
        counts.append((inked, bars))
    return counts


@pytest.mark.poppler
def test_every_pdf_with_charts_gets_numbers_svg_reads_and_draws_its_bars(demo, client, monkeypatch, tmp_path):
    pdftoppm = shutil.which("pdftoppm")
    captured = _capture_pdf_html(monkeypatch)
    epn = blosne()
    documents = [
        ("animateur", f"/diagnostic/{_diagnostic('Diagnostic 2024 de l’EPN du Blosne').pk}/rapport.pdf"),
        ("animateur", f"/dossiers/{_dossier_with_charts().pk}/dossier.pdf"),
        ("animateur", f"/suivi/epn/{epn.pk}/bilan.pdf"),
        ("coordinateur", "/reseau/bilan.pdf"),
    ]
    for n, (role, path) in enumerate(documents):
        login(client, role)
        before = len(captured)
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert len(captured) == before + 1, f"{path}: not rendered from HTML here"
        html = captured[-1]
        assert svg_count(html) >= 1, f"{path}: the HTML has no chart"
        assert svg_number_errors(html) == [], path
        folder = tmp_path / str(n)
        folder.mkdir()
        pages = _pages_pixels(response.content, pdftoppm, folder)
        blank = [i + 1 for i, (inked, _bars) in enumerate(pages) if inked == 0]
        assert not blank, f"{path}: blank pages {blank} of {len(pages)}"
        # A bar 10 units high and 40 wide is some 30 pixels at 40 dpi: a drawn chart has many.
        assert sum(bars for _inked, bars in pages) > 300, f"{path}: no bars drawn ({pages})"
        client.logout()
        if path.endswith("bilan.pdf") and os.environ.get("ANCRAGE_SCREENSHOTS_DIR"):
            # docs/captures.md shows the bilan's first page: refreshed on purpose only.
            target = os.path.join(os.environ["ANCRAGE_SCREENSHOTS_DIR"], "bilan-annuel.png")
            done = subprocess.run(
                [
                    pdftoppm,
                    "-png",
                    "-r",
                    "60",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-singlefile",
                    str(folder / "document.pdf"),
                ],
                capture_output=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            with open(target, "wb") as png:
                png.write(done.stdout)
