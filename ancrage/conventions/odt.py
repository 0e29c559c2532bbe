"""Render a convention to ODT (OpenDocument Text), from the same tree as the DOCX and the PDF.

Pure module: no Django. The French interoperability framework (RGI) recommends ODF; the ODT
walks the same :class:`~ancrage.conventions.modeles.base.ConventionDocument` as
``documents.render_docx``, block for block, so the three files say the same thing. odfpy writes
the package as the standard asks (the ``mimetype`` entry first and stored uncompressed, then the
manifest), which LibreOffice and Word both open.

Styles use the names of LibreOffice's defaults (« Heading 1 », « List Bullet »…), which Word maps
onto its own headings, so the outline survives a round trip through either.
"""

from __future__ import annotations

import io

from odf.dc import Title
from odf.opendocument import OpenDocumentText
from odf.style import (
    FontFace,
    Footer,
    ListLevelLabelAlignment,
    ListLevelProperties,
    MasterPage,
    PageLayout,
    PageLayoutProperties,
    ParagraphProperties,
    Style,
    TableCellProperties,
    TableColumnProperties,
    TableProperties,
    TextProperties,
)
from odf.table import Table as OdfTable
from odf.table import TableCell, TableColumn, TableRow
from odf.text import H, List, ListItem, ListLevelStyleBullet, ListStyle, P, PageCount, PageNumber, Span

from ancrage.conventions.modeles.base import (
    Block,
    BulletList,
    ConventionDocument,
    Paragraph,
    SubHeading,
    Table,
)

ODT_MEDIA_TYPE = "application/vnd.oasis.opendocument.text"
FONT = "Liberation Serif"


class _Styles:
    """The document's styles, added once to the package."""

    def __init__(self, doc: OpenDocumentText) -> None:
        doc.fontfacedecls.addElement(
            FontFace(name=FONT, fontfamily=f"'{FONT}'", fontfamilygeneric="roman", fontpitch="variable")
        )
        standard = Style(name="Standard", family="paragraph")
        standard.addElement(TextProperties(fontname=FONT, fontsize="11pt", language="fr", country="FR"))
        standard.addElement(ParagraphProperties(marginbottom="0.21cm", textalign="justify"))
        doc.styles.addElement(standard)

        def paragraph_style(name, display, *, size, bold=False, italic=False, align="start", outline=0):
            style = Style(
                name=name,
                displayname=display,
                family="paragraph",
                parentstylename="Standard",
                **({"defaultoutlinelevel": str(outline)} if outline else {}),
            )
            text = {"fontsize": size}
            if bold:
                text.update(fontweight="bold")
            if italic:
                text.update(fontstyle="italic")
            style.addElement(TextProperties(**text))
            style.addElement(
                ParagraphProperties(
                    textalign=align,
                    margintop="0.3cm" if outline else "0cm",
                    marginbottom="0.2cm",
                    keepwithnext="always" if outline else "auto",
                )
            )
            doc.styles.addElement(style)
            return style

        self.title = paragraph_style("Title", "Title", size="20pt", bold=True, align="center")
        self.subtitle = paragraph_style("Subtitle", "Subtitle", size="13pt", italic=True, align="center")
        self.heading1 = paragraph_style("Heading_20_1", "Heading 1", size="13pt", bold=True, outline=1)
        self.heading2 = paragraph_style("Heading_20_2", "Heading 2", size="11.5pt", bold=True, outline=2)
        self.centered = paragraph_style("Centered", "Centered", size="11pt", bold=True, align="center")
        self.right = paragraph_style("Table_20_Right", "Table Right", size="10pt", align="end")
        self.cell = paragraph_style("Table_20_Contents", "Table Contents", size="10pt")
        self.footer = paragraph_style("Footer", "Footer", size="8.5pt", align="center")

        self.bold = Style(name="Strong", family="text")
        self.bold.addElement(TextProperties(fontweight="bold"))
        doc.automaticstyles.addElement(self.bold)

        self.bullets = ListStyle(name="List_20_Bullet", displayname="List Bullet")
        level = ListLevelStyleBullet(level="1", bulletchar="•")
        properties = ListLevelProperties(listlevelpositionandspacemode="label-alignment")
        properties.addElement(
            ListLevelLabelAlignment(
                labelfollowedby="listtab",
                listtabstopposition="0.9cm",
                textindent="-0.45cm",
                marginleft="0.9cm",
            )
        )
        level.addElement(properties)
        self.bullets.addElement(level)
        doc.styles.addElement(self.bullets)

        self.table = Style(name="BudgetTable", family="table")
        self.table.addElement(TableProperties(width="16cm", align="center"))
        doc.automaticstyles.addElement(self.table)
        self.signature_table = Style(name="SignatureTable", family="table")
        self.signature_table.addElement(TableProperties(width="16cm", align="center"))
        doc.automaticstyles.addElement(self.signature_table)
        self.column = Style(name="BudgetColumn", family="table-column")
        self.column.addElement(TableColumnProperties(relcolumnwidth="1*"))
        doc.automaticstyles.addElement(self.column)
        self.cell_border = Style(name="BudgetCell", family="table-cell")
        self.cell_border.addElement(TableCellProperties(border="0.5pt solid #555555", padding="0.08cm"))
        doc.automaticstyles.addElement(self.cell_border)
        self.cell_plain = Style(name="SignatureCell", family="table-cell")
        self.cell_plain.addElement(TableCellProperties(border="none", padding="0.1cm"))
        doc.automaticstyles.addElement(self.cell_plain)

        self._page(doc)

    def _page(self, doc: OpenDocumentText) -> None:
        layout = PageLayout(name="A4")
        layout.addElement(
            PageLayoutProperties(
                pagewidth="21cm",
                pageheight="29.7cm",
                printorientation="portrait",
                marginleft="2.5cm",
                marginright="2.5cm",
                margintop="2.2cm",
                marginbottom="2.2cm",
            )
        )
        doc.automaticstyles.addElement(layout)
        master = MasterPage(name="Standard", pagelayoutname=layout)
        footer = Footer()
        line = P(stylename=self.footer, text="Page ")
        line.addElement(PageNumber(selectpage="current", text="1"))
        line.addText(" sur ")
        line.addElement(PageCount(text="1"))
        footer.addElement(line)
        master.addElement(footer)
        doc.masterstyles.addElement(master)


def render_odt(document: ConventionDocument) -> bytes:
    doc = OpenDocumentText()
    styles = _Styles(doc)
    doc.meta.addElement(Title(text=document.title))
    body = doc.text

    body.addElement(P(stylename=styles.title, text=document.title))
    body.addElement(P(stylename=styles.subtitle, text=document.subtitle))
    if document.reference:
        body.addElement(P(text=f"Référence : {document.reference} – version {document.version}"))

    body.addElement(H(outlinelevel=2, stylename=styles.heading2, text="Entre les soussignés :"))
    for group in document.parties:
        for paragraph in group:
            if paragraph.text == "ET":
                body.addElement(P(stylename=styles.centered, text="ET"))
            else:
                body.addElement(_paragraph(styles, paragraph))

    body.addElement(H(outlinelevel=2, stylename=styles.heading2, text="Préambule"))
    for block in document.preamble:
        _block(body, styles, block)

    for article in document.articles:
        body.addElement(H(outlinelevel=1, stylename=styles.heading1, text=article.heading))
        for block in article.blocks:
            _block(body, styles, block)

    body.addElement(P(text=document.closing))
    _signatures(body, styles, document)

    buffer = io.BytesIO()
    doc.write(buffer)
    return buffer.getvalue()


def _paragraph(styles: _Styles, paragraph: Paragraph) -> P:
    p = P()
    if paragraph.emphasis:
        p.addElement(Span(stylename=styles.bold, text=paragraph.text))
    else:
        p.addText(paragraph.text)
    return p


def _block(body, styles: _Styles, block: Block) -> None:
    if isinstance(block, SubHeading):
        body.addElement(H(outlinelevel=2, stylename=styles.heading2, text=block.text))
    elif isinstance(block, Paragraph):
        body.addElement(_paragraph(styles, block))
    elif isinstance(block, BulletList):
        items = List(stylename=styles.bullets)
        for text in block.items:
            item = ListItem()
            item.addElement(P(text=text))
            items.addElement(item)
        body.addElement(items)
    elif isinstance(block, Table):
        body.addElement(_table(styles, block))
        body.addElement(P())


def _table(styles: _Styles, block: Table) -> OdfTable:
    rows = [block.header, *block.rows] + ([block.footer] if block.footer else [])
    table = OdfTable(name=f"Tableau{id(block) % 100000}", stylename=styles.table)
    table.addElement(TableColumn(numbercolumnsrepeated=len(block.header), stylename=styles.column))
    last_row = len(rows) - 1
    for r, values in enumerate(rows):
        bold = r == 0 or (block.footer is not None and r == last_row)
        row = TableRow()
        for c, value in enumerate(values):
            cell = TableCell(stylename=styles.cell_border, valuetype="string")
            p = P(stylename=styles.right if c == len(values) - 1 and r > 0 else styles.cell)
            if bold:
                p.addElement(Span(stylename=styles.bold, text=value))
            else:
                p.addText(value)
            cell.addElement(p)
            row.addElement(cell)
        table.addElement(row)
    return table


def _signatures(body, styles: _Styles, document: ConventionDocument) -> None:
    slots = document.signatures
    if not slots:
        return
    columns = 2 if len(slots) > 1 else 1
    table = OdfTable(name="Signatures", stylename=styles.signature_table)
    table.addElement(TableColumn(numbercolumnsrepeated=columns, stylename=styles.column))
    for start in range(0, len(slots), columns):
        row = TableRow()
        for slot in slots[start : start + columns]:
            cell = TableCell(stylename=styles.cell_plain, valuetype="string")
            first = P()
            first.addElement(Span(stylename=styles.bold, text=f"Pour {slot.party_name}"))
            cell.addElement(first)
            cell.addElement(P(text=slot.signatory_name))
            cell.addElement(P(text=slot.signatory_title))
            cell.addElement(P())
            cell.addElement(P())
            row.addElement(cell)
        for _ in range(columns - len(slots[start : start + columns])):
            cell = TableCell(stylename=styles.cell_plain)
            cell.addElement(P())
            row.addElement(cell)
        table.addElement(row)
    body.addElement(table)
