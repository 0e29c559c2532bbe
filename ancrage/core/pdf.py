"""HTML to PDF with WeasyPrint, fetching nothing: the one way Ancrage renders its PDFs.

The diagnostic report, the dossier and its attestation, the yearly bilan and the conventions are
HTML rendered here. Everything they show is inline (SVG charts, data: URIs), so the URL fetcher
refuses every URL but ``data:``: a link typed into a dossier or a convention cannot make the
server call out (SSRF) while rendering. WeasyPrint is imported on first use: it loads Pango, about
0.3 s that callers producing no PDF should not pay.
"""

from __future__ import annotations

import logging

logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


class ExternalResourceRefused(ValueError):
    pass


def no_network_fetcher():
    from weasyprint import URLFetcher

    class NoNetworkFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise ExternalResourceRefused(f"Ressource externe refusée dans le document : {url}")

    return NoNetworkFetcher(allowed_protocols=("data",))


def render_document(html: str, stylesheets: tuple[str, ...] = ()):
    """The laid-out WeasyPrint document (pages, anchors), for callers that look into it."""
    from weasyprint import CSS, HTML

    fetcher = no_network_fetcher()
    return HTML(string=html, url_fetcher=fetcher, base_url="data:,").render(
        stylesheets=[CSS(string=css, url_fetcher=fetcher) for css in stylesheets]
    )


def html_to_pdf(html: str, stylesheets: tuple[str, ...] = ()) -> bytes:
    return render_document(html, stylesheets).write_pdf()
