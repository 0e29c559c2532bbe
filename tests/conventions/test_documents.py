import io

import docx
import pytest
from pypdf import PdfReader

from ancrage.conventions.content import Commitment, ContentError, format_amount, format_date
from ancrage.conventions.custom_models import convert_with_libreoffice
from ancrage.conventions.documents import generate_docx, generate_pdf, sha256_hex
from ancrage.conventions.modeles import MODELS, build_document
from tests.conventions.conftest import make_content

PARTY_NAMES = (
    "Espace numérique des Glycines",
    "Commune de Villeurbanne",
    "Association Lire et Écrire Ensemble",
)
COMMITMENTS = (
    "assurer l'animation des séances : douze ateliers de deux heures",
    "assurer la mobilisation et l'orientation des publics",
    "contribuer à la communication autour de l'action",
    "mettre à disposition deux bénévoles formés",
)

# Skipped without soffice, failing instead where ANCRAGE_REQUIRE_LIBREOFFICE=1 (tests/conftest.py).
requires_libreoffice = pytest.mark.libreoffice


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    return "\n".join(lines)


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())  # line breaks fall anywhere in justified text


@pytest.mark.parametrize("slug", sorted(MODELS))
def test_docx_opens_and_contains_parties_and_commitments(slug, content):
    generated = generate_docx(slug, content)
    assert generated.sha256 == sha256_hex(generated.content)
    assert generated.filename.endswith(".docx")
    text = docx_text(generated.content)
    for name in PARTY_NAMES:
        assert name in text
    for commitment in COMMITMENTS:
        assert commitment in text
    assert "Entre les soussignés" in text
    assert "Il a été convenu ce qui suit" in text


@pytest.mark.parametrize("slug", sorted(MODELS))
def test_docx_uses_real_word_styles_and_page_numbers(slug, content):
    document = docx.Document(io.BytesIO(generate_docx(slug, content).content))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings[0] == "Article 1 – Objet"
    titles = [h.split(" – ", 1)[1] for h in headings]
    for expected in (
        "Durée et renouvellement",
        "Engagements des parties",
        "Dispositions financières",
        "Communication",
        "Suivi et évaluation",
        "Résiliation",
        "Règlement des litiges",
        "Signatures",
    ):
        assert expected in titles
    assert any(p.style.name == "List Bullet" for p in document.paragraphs)
    footer_xml = document.sections[0].footer._element.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml


@pytest.mark.parametrize("slug", sorted(MODELS))
def test_pdf_contains_same_parties_and_commitments(slug, content):
    generated = generate_pdf(slug, content)
    assert generated.content.startswith(b"%PDF-")
    assert generated.sha256 == sha256_hex(generated.content)
    text = pdf_text(generated.content)
    for name in PARTY_NAMES:
        assert name in text
    for commitment in COMMITMENTS:
        assert commitment in text
    assert "Page 1 sur" in text
    page, (x1, y1, x2, y2) = generated.signature_box
    assert 0 <= page < len(PdfReader(io.BytesIO(generated.content)).pages)
    assert x2 - x1 > 300 and y2 - y1 > 60


def test_docx_and_pdf_say_the_same_thing(content):
    document = build_document("partenariat_generique", content)
    words = " ".join(document.plain_text().split())
    pdf_words = pdf_text(generate_pdf("partenariat_generique", content).content)
    for article in document.articles:
        assert article.heading in pdf_words
        assert article.heading in docx_text(generate_docx("partenariat_generique", content).content)
    # split() in pdf_text turns the no-break spaces of French amounts into plain spaces
    assert " ".join(format_amount(content.finances.total_charges).split()) in pdf_words
    assert "1er septembre 2025" in words


def test_markup_in_data_is_text_not_html(content):
    hostile = make_content(action_title='<img src="http://example.invalid/x.png"> Ateliers')
    text = pdf_text(generate_pdf("partenariat_generique", hostile).content)
    assert '<img src="http://example.invalid/x.png"> Ateliers' in text


def test_express_renewal_and_free_of_charge_wording():
    content = make_content(finances=None)
    content = make_content(
        finances=None,
        duration=content.duration.__class__(start_date=content.duration.start_date, months=6),
    )
    text = build_document("mise_a_disposition", content).plain_text()
    assert "aucune reconduction tacite" in text
    assert "conclue à titre gratuit" in text
    assert "d'une durée de 6 mois" in text.replace("\n", " ") or "durée de 6 mois" in text


def test_school_model_protects_pupils(content):
    text = build_document("partenariat_ecole", content).plain_text()
    assert "deux classes de CM2" in text
    assert "représentants légaux" in text
    assert "sous la responsabilité de leur enseignant" in text


def test_content_refuses_unknown_party(content):
    with pytest.raises(ContentError, match="partie inconnue"):
        make_content(commitments=(Commitment("inconnue", "faire quelque chose"),))


def test_unknown_model_is_refused(content):
    with pytest.raises(ValueError, match="Modèle de convention inconnu"):
        build_document("bail_commercial", content)


def test_french_formats():
    import datetime as dt
    from decimal import Decimal

    assert format_date(dt.date(2025, 9, 1)) == "1er septembre 2025"
    assert format_amount(Decimal("1234.5")) == "1\u202f234,50\u00a0€"


@requires_libreoffice
def test_generated_docx_converts_with_libreoffice(content):
    pdf = convert_with_libreoffice(generate_docx("partenariat_ecole", content).content)
    text = pdf_text(pdf)
    for name in PARTY_NAMES:
        assert name in text
