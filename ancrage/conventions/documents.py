"""Render a convention to an editable DOCX (and ODT, ``odt.py``) and to a frozen PDF of the same
content.

The renderers walk the same :class:`~ancrage.conventions.modeles.base.ConventionDocument`
tree, so the DOCX a partner edits and the PDF that gets signed cannot drift
apart: a new wording is a new version of the content, rendered again.

The PDF is made by WeasyPrint from self-contained HTML and CSS. The URL
fetcher refuses every URL, so rendering never touches the network or the
file system (fonts come from the system's fontconfig).
"""

from __future__ import annotations

import hashlib
import html
import io
from dataclasses import dataclass

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from ancrage.conventions.content import ConventionContent
from ancrage.conventions.modeles import build_document
from ancrage.conventions.modeles.base import (
    Block,
    BulletList,
    ConventionDocument,
    Paragraph,
    SubHeading,
    Table,
)
from ancrage.conventions.odt import ODT_MEDIA_TYPE, render_odt
from ancrage.core.pdf import render_document, write_pdf

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MEDIA_TYPE = "application/pdf"

# Anchor of the empty frame the PDF keeps for the platform's visible signature
# stamp; signature.py reads its position from `RenderedPdf.signature_box`.
SIGNATURE_ANCHOR = "cadre-signature-electronique"
_CSS_PX_TO_PT = 0.75


@dataclass(frozen=True)
class GeneratedDocument:
    content: bytes
    sha256: str
    media_type: str
    filename: str


@dataclass(frozen=True)
class RenderedPdf(GeneratedDocument):
    # (page index, (x1, y1, x2, y2) in PDF points from the bottom-left corner)
    signature_box: tuple[int, tuple[int, int, int, int]] | None = None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def generate_docx(model_slug: str, content: ConventionContent) -> GeneratedDocument:
    document = build_document(model_slug, content)
    data = render_docx(document)
    return GeneratedDocument(data, sha256_hex(data), DOCX_MEDIA_TYPE, _filename(document, "docx"))


def generate_odt(model_slug: str, content: ConventionContent) -> GeneratedDocument:
    """The same document as ``generate_docx``, in OpenDocument Text (``odt.render_odt``)."""
    document = build_document(model_slug, content)
    data = render_odt(document)
    return GeneratedDocument(data, sha256_hex(data), ODT_MEDIA_TYPE, _filename(document, "odt"))


def generate_pdf(model_slug: str, content: ConventionContent) -> RenderedPdf:
    document = build_document(model_slug, content)
    data, box = _render_pdf_with_box(document)
    return RenderedPdf(data, sha256_hex(data), PDF_MEDIA_TYPE, _filename(document, "pdf"), box)


def _filename(document: ConventionDocument, extension: str) -> str:
    stem = document.reference or document.title
    safe = "".join(ch if ch.isalnum() else "-" for ch in stem).strip("-").lower()
    return f"{safe or 'convention'}-v{document.version}.{extension}"


# --- DOCX -----------------------------------------------------------------


def render_docx(document: ConventionDocument) -> bytes:
    doc = Document()
    _setup_page_and_styles(doc)
    props = doc.core_properties
    props.title = document.title
    props.subject = document.subtitle
    props.author = "Ancrage"
    props.comments = f"Version {document.version}"

    doc.add_paragraph(document.title, style="Title")
    doc.add_paragraph(document.subtitle, style="Subtitle")
    if document.reference:
        doc.add_paragraph(f"Référence : {document.reference} – version {document.version}")

    doc.add_paragraph("Entre les soussignés :", style="Heading 2")
    for group in document.parties:
        for paragraph in group:
            p = doc.add_paragraph()
            run = p.add_run(paragraph.text)
            run.bold = paragraph.emphasis
            if paragraph.text == "ET":
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                run.bold = True

    doc.add_paragraph("Préambule", style="Heading 2")
    for block in document.preamble:
        _docx_block(doc, block)

    for article in document.articles:
        doc.add_paragraph(article.heading, style="Heading 1")
        for block in article.blocks:
            _docx_block(doc, block)

    doc.add_paragraph(document.closing).paragraph_format.space_before = Pt(12)
    _docx_signatures(doc, document)

    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _setup_page_and_styles(doc) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin = section.bottom_margin = Cm(2.2)

    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    # East-Asian font slot left empty makes Word fall back to its theme font.
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Times New Roman")
    for name, size in (("Title", 20), ("Subtitle", 13), ("Heading 1", 13), ("Heading 2", 11.5)):
        style = styles[name]
        style.font.name = "Times New Roman"
        style.font.size = Pt(size)
        style.paragraph_format.alignment = (
            WD_ALIGN_PARAGRAPH.CENTER if name in ("Title", "Subtitle") else WD_ALIGN_PARAGRAPH.LEFT
        )
    styles["Heading 1"].paragraph_format.keep_with_next = True
    styles["Heading 2"].paragraph_format.keep_with_next = True

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Page ")
    _add_field(footer, "PAGE")
    footer.add_run(" sur ")
    _add_field(footer, "NUMPAGES")


def _add_field(paragraph, instruction: str) -> None:
    # A simple field is what Word and LibreOffice both update on open; the
    # placeholder "1" is shown until they do.
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _docx_block(doc, block: Block) -> None:
    if isinstance(block, SubHeading):
        doc.add_paragraph(block.text, style="Heading 2")
    elif isinstance(block, Paragraph):
        p = doc.add_paragraph()
        p.add_run(block.text).bold = block.emphasis
    elif isinstance(block, BulletList):
        for item in block.items:
            doc.add_paragraph(item, style="List Bullet")
    elif isinstance(block, Table):
        rows = [block.header, *block.rows] + ([block.footer] if block.footer else [])
        table = doc.add_table(rows=len(rows), cols=len(block.header))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for r, row in enumerate(rows):
            bold = r == 0 or (block.footer is not None and r == len(rows) - 1)
            for c, value in enumerate(row):
                cell = table.cell(r, c)
                cell.text = ""
                run = cell.paragraphs[0].add_run(value)
                run.bold = bold
                if c == len(row) - 1 and r > 0:
                    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        doc.add_paragraph()


def _docx_signatures(doc, document: ConventionDocument) -> None:
    slots = document.signatures
    if not slots:
        return
    columns = 2 if len(slots) > 1 else 1
    rows = (len(slots) + columns - 1) // columns
    table = doc.add_table(rows=rows, cols=columns)
    for index, slot in enumerate(slots):
        cell = table.cell(index // columns, index % columns)
        cell.text = ""
        lines = [
            (f"Pour {slot.party_name}", True),
            (slot.signatory_name, False),
            (slot.signatory_title, False),
        ]
        for line_index, (text, bold) in enumerate(lines):
            p = cell.paragraphs[0] if line_index == 0 else cell.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT
            p.add_run(text).bold = bold
        blank = cell.add_paragraph()
        blank.add_run().add_break(WD_BREAK.LINE)
        blank.add_run().add_break(WD_BREAK.LINE)


# --- PDF ------------------------------------------------------------------

PRINT_CSS = """
@page {
  size: A4;
  margin: 2.2cm 2.5cm 2.4cm 2.5cm;
  @bottom-center {
    content: "Page " counter(page) " sur " counter(pages);
    font-family: "DejaVu Serif", "Liberation Serif", serif;
    font-size: 8.5pt;
    color: #444;
  }
  @bottom-right {
    content: string(reference);
    font-family: "DejaVu Serif", "Liberation Serif", serif;
    font-size: 7.5pt;
    color: #666;
  }
}
html { font-family: "DejaVu Serif", "Liberation Serif", serif; font-size: 10pt; line-height: 1.4; }
body { margin: 0; }
h1 { font-size: 17pt; text-align: center; margin: 0 0 4pt 0; }
p.subtitle { font-size: 12pt; text-align: center; font-style: italic; margin: 0 0 14pt 0; }
p.reference { string-set: reference content(); font-size: 8.5pt; text-align: center; color: #444; }
h2 { font-size: 11.5pt; margin: 16pt 0 6pt 0; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 10pt 0 4pt 0; break-after: avoid; font-style: italic; }
p { margin: 0 0 6pt 0; text-align: justify; hyphens: auto; orphans: 2; widows: 2; }
p.strong { font-weight: bold; }
p.et { text-align: center; font-weight: bold; margin: 10pt 0; }
.party { margin-bottom: 8pt; }
ul { margin: 0 0 6pt 0; padding-left: 16pt; }
li { margin-bottom: 2pt; text-align: justify; }
table.budget { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt 0; break-inside: avoid; }
table.budget th, table.budget td { border: 0.6pt solid #555; padding: 3pt 5pt; font-size: 9.5pt; }
table.budget td.amount, table.budget th.amount { text-align: right; white-space: nowrap; }
table.budget tfoot td { font-weight: bold; }
.signatures { display: flex; flex-wrap: wrap; gap: 12pt; margin-top: 14pt; break-inside: avoid; }
.signature { width: 46%; min-height: 70pt; border-top: 0.6pt solid #888; padding-top: 4pt; }
.signature p { text-align: left; margin: 0; }
#cadre-signature-electronique { height: 110pt; margin-top: 16pt; break-inside: avoid;
  border: 0.6pt dashed #aaa; }
"""


def render_pdf(document: ConventionDocument) -> bytes:
    return _render_pdf_with_box(document)[0]


def render_html(document: ConventionDocument) -> str:
    e = html.escape
    parts = [
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">',
        f"<title>{e(document.title)}</title></head><body>",
        f"<h1>{e(document.title)}</h1>",
        f'<p class="subtitle">{e(document.subtitle)}</p>',
    ]
    if document.reference:
        parts.append(
            f'<p class="reference">Référence : {e(document.reference)} – version {document.version}</p>'
        )
    parts.append("<h3>Entre les soussignés :</h3>")
    for group in document.parties:
        parts.append('<div class="party">')
        for paragraph in group:
            if paragraph.text == "ET":
                parts.append('<p class="et">ET</p>')
            else:
                parts.append(_html_paragraph(paragraph))
        parts.append("</div>")
    parts.append("<h3>Préambule</h3>")
    parts.extend(_html_block(block) for block in document.preamble)
    for article in document.articles:
        parts.append(f"<h2>{e(article.heading)}</h2>")
        parts.extend(_html_block(block) for block in article.blocks)
    parts.append(f"<p>{e(document.closing)}</p>")
    parts.append('<div class="signatures">')
    for slot in document.signatures:
        parts.append(
            '<div class="signature">'
            f"<p><strong>Pour {e(slot.party_name)}</strong></p>"
            f"<p>{e(slot.signatory_name)}</p><p>{e(slot.signatory_title)}</p></div>"
        )
    parts.append("</div>")
    parts.append(f'<div id="{SIGNATURE_ANCHOR}"></div>')
    parts.append("</body></html>")
    return "".join(parts)


def _html_paragraph(paragraph: Paragraph) -> str:
    css = ' class="strong"' if paragraph.emphasis else ""
    return f"<p{css}>{html.escape(paragraph.text)}</p>"


def _html_block(block: Block) -> str:
    e = html.escape
    if isinstance(block, SubHeading):
        return f"<h3>{e(block.text)}</h3>"
    if isinstance(block, Paragraph):
        return _html_paragraph(block)
    if isinstance(block, BulletList):
        return "<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.items) + "</ul>"
    last = len(block.header) - 1
    head = "".join(
        f"<th{' class=amount' if i == last else ''}>{e(v)}</th>" for i, v in enumerate(block.header)
    )

    def row(values) -> str:
        return (
            "<tr>"
            + "".join(f"<td{' class=amount' if i == last else ''}>{e(v)}</td>" for i, v in enumerate(values))
            + "</tr>"
        )

    body = "".join(row(values) for values in block.rows)
    foot = f"<tfoot>{row(block.footer)}</tfoot>" if block.footer else ""
    return f'<table class="budget"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>'


def _render_pdf_with_box(document: ConventionDocument):
    rendered = render_document(render_html(document), (PRINT_CSS,))
    box = None
    for index, page in enumerate(rendered.pages):
        if SIGNATURE_ANCHOR in page.anchors:
            # Anchors are CSS px from the top-left corner; PDF points start bottom-left.
            x1, y1, x2, y2 = page.anchors[SIGNATURE_ANCHOR]
            page_height = page.height * _CSS_PX_TO_PT
            box = (
                index,
                (
                    round(x1 * _CSS_PX_TO_PT),
                    round(page_height - y2 * _CSS_PX_TO_PT),
                    round(x2 * _CSS_PX_TO_PT),
                    round(page_height - y1 * _CSS_PX_TO_PT),
                ),
            )
    pdf = write_pdf(rendered)
    return pdf, box
