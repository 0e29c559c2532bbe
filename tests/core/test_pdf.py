"""The one PDF renderer fetches nothing but data: URIs (no SSRF through a typed link)."""

import io
import socket
import threading

import pytest
from pypdf import PdfReader

from ancrage.core.pdf import ExternalResourceRefused, html_to_pdf, no_network_fetcher
from tests.pdf_checks import embedded_fonts, figures_without_alt, pdfinfo, xmp_identification


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x.png", "https://example.invalid/x.css", "file:///etc/passwd", "ftp://x/y"]
)
def test_the_fetcher_refuses_every_url_but_data(url):
    with pytest.raises(ExternalResourceRefused, match="Ressource externe refusée"):
        no_network_fetcher().fetch(url)


def test_a_pdf_with_a_remote_image_is_rendered_without_calling_out():
    calls = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(5)
    port = server.getsockname()[1]

    def accept():
        try:
            conn, _ = server.accept()
            calls.append(1)
            conn.close()
        except OSError:
            pass

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
        "hKmMIQAAAABJRU5ErkJggg=="
    )
    pdf = html_to_pdf(
        f'<p>Bonjour</p><img src="http://127.0.0.1:{port}/x.png"><img src="{pixel}">',
        (f'@import url("http://127.0.0.1:{port}/s.css"); p {{ color: #000091; }}',),
    )
    server.close()
    listener.join(timeout=10)
    assert pdf.startswith(b"%PDF-")
    assert calls == []  # nothing connected to the listening port


@pytest.mark.poppler
def test_every_pdf_is_pdfa_3b_tagged_pdfua_in_french_with_its_fonts_embedded(tmp_path):
    pdf = html_to_pdf(
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Bilan — Nguyễn</title></head>'
        "<body><h1>Bilan</h1><p>Présences : <strong>68</strong></p>"
        '<svg width="100" height="40" role="img" aria-label="Présences par mois">'
        '<rect width="60" height="20" fill="#000091"/></svg></body></html>'
    )
    path = tmp_path / "bilan.pdf"
    path.write_bytes(pdf)
    info = pdfinfo(path)
    assert (info["Tagged"], info["PDF subtype"], info["Title"]) == ("yes", "PDF/A-3b", "Bilan — Nguyễn")
    fonts = embedded_fonts(path)
    assert fonts and all(embedded for _, embedded in fonts)
    assert xmp_identification(pdf) == {"pdfaid:part": "3", "pdfaid:conformance": "B", "pdfuaid:part": "1"}
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert root["/Lang"] == "fr" and root["/ViewerPreferences"]["/DisplayDocTitle"]
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"  # the sRGB ICC profile
    assert figures_without_alt(pdf) == []  # the chart's aria-label became its /Alt
