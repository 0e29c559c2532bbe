"""HTML to PDF with WeasyPrint, fetching nothing: the one way Ancrage renders its PDFs.

The diagnostic report, the dossier and its attestation, the yearly bilan and the conventions are
HTML rendered here. Everything they show is inline (SVG charts, data: URIs), so the URL fetcher
refuses every URL but ``data:``: a link typed into a dossier or a convention cannot make the
server call out (SSRF) while rendering. WeasyPrint is imported on first use: it loads Pango, about
0.3 s that callers producing no PDF should not pay.

Every PDF is archival and accessible: PDF/A-3b (WeasyPrint's ``pdf/a-3b`` variant: fonts embedded
as subsets, the sRGB ICC output intent, the XMP metadata with ``pdfaid``) and tagged
(``pdf_tags``: the structure tree, /MarkInfo, /Lang from ``<html lang>``, /DisplayDocTitle with
the ``<title>``), declared PDF/UA-1 in the XMP (``pdfuaid:part``, with the PDF/A extension schema
that PDF/A requires for a property it does not predefine). WeasyPrint 70 has no single variant for
both: ``pdf/ua-1`` writes no PDF/A identification, ``pdf/a-3u`` is PDF/A's level U (text mapped
to Unicode), not PDF/UA, and ``pdf/a-3a`` claims level A, more than WeasyPrint's tagging
(experimental, in its own words) is checked for here; so the variant is PDF/A-3b with the tags
added. The document information dictionary also carries ``GTS_PDFA1Version``, the key poppler's
``pdfinfo`` reads to print the conformance ("PDF subtype: PDF/A-3b"); PDF/A requires consistency
only for the keys that have an XMP analogue, which this one has not.

A sealed convention is this PDF plus pyHanko's incremental update (``conventions.signature``),
which PDF/A allows: the stamp's font is embedded, the widget is printable and tagged, the XMP
keeps the identification (pyHanko rewrites the packet with the same properties) and the Info's
producer is kept equal to the XMP's.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
# fontTools logs each table of each font subset at INFO (pyHanko subsets the stamp's font).
logging.getLogger("fontTools").setLevel(logging.WARNING)

# A free font shipped with the code (Bitstream Vera licence, data/fonts/LICENSE.txt), for what
# draws text outside WeasyPrint and must embed it: the signature stamp (pyHanko).
SANS_FONT = Path(__file__).resolve().parent / "data" / "fonts" / "DejaVuSans-upem1000.ttf"

PDF_VARIANT = "pdf/a-3b"
PDFA_CONFORMANCE = "PDF/A-3b"

# PDF/UA-1 identification (ISO 14289-1, 5), and its schema described for PDF/A (ISO 19005-3,
# 6.6.2.3.1: a property outside the predefined schemas needs an extension schema).
_PDFUA_XMP = b"""<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">\
<pdfuaid:part>1</pdfuaid:part></rdf:Description>\
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" \
xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" \
xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"><pdfaExtension:schemas><rdf:Bag>\
<rdf:li rdf:parseType="Resource">\
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>\
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>\
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>\
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">\
<pdfaProperty:name>part</pdfaProperty:name>\
<pdfaProperty:valueType>Integer</pdfaProperty:valueType>\
<pdfaProperty:category>internal</pdfaProperty:category>\
<pdfaProperty:description>Part of ISO 14289 the document conforms to</pdfaProperty:description>\
</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas>\
</rdf:Description>"""


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
    """The laid-out WeasyPrint document (pages, anchors), for callers that look into it.

    Write it with :func:`write_pdf`, never with its own ``write_pdf``: that one is neither
    archival nor tagged.
    """
    from weasyprint import CSS, HTML

    fetcher = no_network_fetcher()
    return HTML(string=_titled_svgs(html), url_fetcher=fetcher, base_url="data:,").render(
        stylesheets=[CSS(string=css, url_fetcher=fetcher) for css in stylesheets]
    )


# An inline SVG named by aria-label and holding no <title>: WeasyPrint tags an SVG as a /Figure
# whose alternate text (/Alt, which PDF/UA requires) it reads from the <title> alone.
_SVG_LABELLED_UNTITLED = re.compile(r'(<svg\b[^>]*?\baria-label="([^"]*)"[^>]*>)(?!\s*<title\b)')


def _titled_svgs(html: str) -> str:
    return _SVG_LABELLED_UNTITLED.sub(r"\1<title>\2</title>", html)


def write_pdf(document) -> bytes:
    """The PDF/A-3b, tagged (PDF/UA-1) bytes of a document laid out by :func:`render_document`."""
    return document.write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True, finisher=_declare_conformance)


def html_to_pdf(html: str, stylesheets: tuple[str, ...] = ()) -> bytes:
    return write_pdf(render_document(html, stylesheets))


def _declare_conformance(document, pdf) -> None:
    """Add the PDF/UA identification inside the XMP packet WeasyPrint wrote, and the Info key."""
    import pydyf

    metadata = pdf.objects[int(pdf.catalog["Metadata"].split()[0])]
    packet = b"".join(metadata.stream)
    end = packet.rindex(b"</rdf:RDF>")
    metadata.stream = [packet[:end] + _PDFUA_XMP + packet[end:]]
    pdf.info["GTS_PDFA1Version"] = pydyf.String(PDFA_CONFORMANCE)
