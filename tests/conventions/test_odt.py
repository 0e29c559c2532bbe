"""The ODT is the DOCX's text in OpenDocument: a valid package (checked without LibreOffice), and
the same paragraphs, headings and tables once LibreOffice has turned each into a PDF."""

import io
import re
import subprocess
import zipfile
from xml.etree import ElementTree

import pytest

from ancrage.conventions.custom_models import convert_with_libreoffice
from ancrage.conventions.documents import generate_docx, generate_odt
from ancrage.conventions.modeles import MODELS, build_document
from ancrage.conventions.odt import ODT_MEDIA_TYPE

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}


@pytest.mark.parametrize("slug", sorted(MODELS))
def test_the_odt_package_is_valid_and_holds_the_documents_outline(slug, content):
    generated = generate_odt(slug, content)
    assert generated.filename.endswith(".odt") and generated.media_type == ODT_MEDIA_TYPE
    package = zipfile.ZipFile(io.BytesIO(generated.content))
    first = package.infolist()[0]
    # ODF 1.2, part 3, 3.3: the mimetype first, stored (not compressed), with no extra field.
    assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    assert package.read("mimetype") == ODT_MEDIA_TYPE.encode()
    assert generated.content[30:38] == b"mimetype" and not first.extra
    manifest = ElementTree.fromstring(package.read("META-INF/manifest.xml"))
    entries = {e.get(f"{{{NS['manifest']}}}full-path") for e in manifest}
    assert {"/", "content.xml", "styles.xml"} <= entries
    body = ElementTree.fromstring(package.read("content.xml")).find("office:body/office:text", NS)
    document = build_document(slug, content)
    headings = ["".join(h.itertext()) for h in body.iter(f"{{{NS['text']}}}h")]
    assert [a.heading for a in document.articles] == [h for h in headings if h.startswith("Article")]
    tables = body.findall("table:table", NS)
    budget_tables = sum(1 for a in document.articles for b in a.blocks if type(b).__name__ == "Table")
    assert len(tables) == budget_tables + (1 if document.signatures else 0)
    ElementTree.fromstring(package.read("styles.xml"))  # parses


def _words(pdf: bytes) -> list[str]:
    # -layout reads a table row by row, as it is drawn, whatever each renderer's reading order.
    text = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    text = re.sub(r"Page \d+ sur \d+", "", text)
    # The bullet glyph differs (Word's Symbol bullet lives in the private use area).
    return re.sub(r"[•\uf000-\uf8ff\u00ad]", " ", text).split()


@pytest.mark.libreoffice
@pytest.mark.poppler
def test_the_odt_opens_in_libreoffice_with_the_docx_text(content):
    odt_pdf = convert_with_libreoffice(generate_odt("partenariat_generique", content).content, suffix=".odt")
    docx_pdf = convert_with_libreoffice(generate_docx("partenariat_generique", content).content)
    odt_words, docx_words = _words(odt_pdf), _words(docx_pdf)
    assert odt_words == docx_words
    assert "Dispositions" in odt_words and "800,00" in odt_words
