import datetime as dt
import io
import re

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader

from ancrage.conventions.documents import generate_pdf
from ancrage.conventions.signature import (
    Signatory,
    SignatureError,
    create_dev_certificate,
    direction_runs,
    sign_pdf,
    verify_pdf,
)
from tests.conventions.conftest import make_content
from tests.pdf_checks import embedded_fonts, pdfinfo, pdftotext, xmp_identification
from tests.properties import examples

SIGNATORIES = [
    Signatory("Mme Fatou Diallo", "Présidente", "Association Lire et Écrire Ensemble", dt.date(2025, 9, 2)),
    Signatory(
        "M. Jean Martin", "Adjoint au maire", "Commune de Villeurbanne", dt.datetime(2025, 9, 3, 10, 5)
    ),
]


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return create_dev_certificate(tmp_path_factory.mktemp("cert"), key_size=2048)


@pytest.fixture(scope="module")
def signed(cert):
    pdf = generate_pdf("partenariat_generique", make_content())
    return sign_pdf(
        pdf.content,
        SIGNATORIES,
        pkcs12_path=cert.pkcs12_path,
        pkcs12_password=cert.pkcs12_password,
        box=pdf.signature_box,
    )


def contents_range(data: bytes) -> tuple[int, int]:
    byte_range = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0].byte_range
    return int(byte_range[1]), int(byte_range[2])


def flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] = (changed[position] + 1) % 256
    return bytes(changed)


def test_signed_pdf_verifies(signed, cert):
    result = verify_pdf(signed.content, trusted_certificates=[cert.cert_path], expected_sha256=signed.sha256)
    assert result.ok, str(result)
    assert result.messages[0] == "Le document est intact depuis sa signature."
    [report] = result.signatures
    assert report.intact and report.covers_whole_file and report.trusted


def stamp_text(data: bytes) -> str:
    """The stamp's text, from the /ActualText of its lines (a wrapped line continues the one above)."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    sig = reader.embedded_signatures[0]
    appearance = sig.sig_field["/Kids"][0] if "/Kids" in sig.sig_field else sig.sig_field
    stream = appearance["/AP"]["/N"]
    raw = stream.data
    for xobject in stream["/Resources"].get("/XObject", {}).values():
        raw += xobject.get_object().data
    lines = []
    for literal, hex_text in re.findall(rb"/ActualText (?:\(((?:\\.|[^\\)])*)\)|<([0-9A-Fa-f]+)>)", raw):
        if hex_text:
            lines.append(bytes.fromhex(hex_text.decode()).decode("utf-16-be").lstrip("\ufeff"))
        else:
            unescaped = re.sub(
                rb"\\([0-7]{3}|.)", lambda m: bytes([int(m[1], 8)]) if m[1].isdigit() else m[1], literal
            )
            lines.append(unescaped.decode("latin-1"))  # PDFDocEncoding, for these characters
    return re.sub(r"\s+", " ", " ".join(lines))


def test_visible_block_lists_signatories(signed):
    text = stamp_text(signed.content)
    assert "Fatou Diallo, Présidente (Association Lire et Écrire Ensemble), le 02/09/2025" in text
    assert "M. Jean Martin, Adjoint au maire (Commune de Villeurbanne), le 03/09/2025 à 10:05" in text


@pytest.mark.parametrize("where", ["start", "middle", "signature", "padding", "end"])
def test_one_changed_byte_fails_verification(signed, cert, where):
    data = signed.content
    start, end = contents_range(data)
    position = {
        "start": 10,
        "middle": len(data) // 3,
        "signature": start + 41,
        "padding": end - 3,
        "end": len(data) - 1,
    }[where]
    result = verify_pdf(flip(data, position), trusted_certificates=[cert.cert_path])
    assert not result.ok
    assert result.messages


# Each example verifies the whole PDF (some 0.4 s); the named positions above cover the structure.
@examples(10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_any_changed_byte_fails_verification(signed, fraction):
    position = int(fraction * len(signed.content))
    assert not verify_pdf(flip(signed.content, position)).ok


def test_appended_bytes_fail_verification(signed):
    result = verify_pdf(signed.content + b"%% ajout\n")
    assert not result.ok
    assert any("ajoutées" in m or "endommagé" in m for m in result.messages)


def test_recorded_hash_mismatch_fails(signed):
    result = verify_pdf(signed.content, expected_sha256="0" * 64)
    assert not result.ok
    assert "empreinte SHA-256" in result.messages[0]


def test_unknown_certificate_is_not_trusted(signed, tmp_path):
    other = create_dev_certificate(tmp_path, key_size=2048)
    result = verify_pdf(signed.content, trusted_certificates=[other.cert_path])
    assert not result.ok
    assert any("n'est pas celui de la plateforme" in m for m in result.messages)


def test_unsigned_and_non_pdf_inputs_get_french_messages():
    unsigned = generate_pdf("partenariat_ecole", make_content()).content
    assert verify_pdf(unsigned).messages == ["Le document ne comporte aucune signature électronique."]
    assert verify_pdf(b"bonjour").messages == ["Le fichier n'est pas un document PDF."]
    assert not verify_pdf(b"%PDF-1.7\n garbage").ok


def test_sign_with_pem_key_and_added_page(cert):
    pdf = generate_pdf("mise_a_disposition", make_content()).content
    signed = sign_pdf(pdf, SIGNATORIES[:1], key_path=cert.key_path, cert_path=cert.cert_path)
    result = verify_pdf(signed.content, trusted_certificates=[cert.cert_path])
    assert result.ok, str(result)
    pages = len(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Kids"])
    assert len(PdfFileReader(io.BytesIO(signed.content), strict=False).root["/Pages"]["/Kids"]) == pages + 1


def test_signing_errors_are_french(cert):
    pdf = generate_pdf("mise_a_disposition", make_content()).content
    with pytest.raises(SignatureError, match="non configuré"):
        sign_pdf(pdf, SIGNATORIES)
    with pytest.raises(SignatureError, match="Aucun signataire"):
        sign_pdf(pdf, [], pkcs12_path=cert.pkcs12_path, pkcs12_password=cert.pkcs12_password)
    with pytest.raises(SignatureError, match="n'a pas pu être chargé"):
        sign_pdf(pdf, SIGNATORIES, pkcs12_path=cert.pkcs12_path, pkcs12_password="mauvais")
    with pytest.raises(SignatureError, match="pas un PDF"):
        sign_pdf(
            b"pas un pdf", SIGNATORIES, pkcs12_path=cert.pkcs12_path, pkcs12_password=cert.pkcs12_password
        )


@pytest.mark.poppler
@pytest.mark.parametrize("framed", [True, False], ids=["cadre", "page ajoutée"])
def test_the_sealed_pdf_stays_archival_and_its_stamp_prints_any_name(cert, tmp_path, framed):
    """The stamp's font is embedded, so a Vietnamese name prints whole (Courier gave "Nguy?n")."""
    rendered = generate_pdf("partenariat_generique", make_content())
    signatories = [Signatory("Nguyễn Thị Ánh", "Présidente", "Association Sông Hồng", dt.date(2025, 9, 2))]
    signed = sign_pdf(
        rendered.content,
        signatories,
        pkcs12_path=cert.pkcs12_path,
        pkcs12_password=cert.pkcs12_password,
        box=rendered.signature_box if framed else None,
    )
    assert verify_pdf(signed.content, trusted_certificates=[cert.cert_path]).ok
    path = tmp_path / "signee.pdf"
    path.write_bytes(signed.content)

    assert "Nguyễn Thị Ánh, Présidente (Association Sông Hồng), le 02/09/2025" in pdftotext(path)
    fonts = embedded_fonts(path)
    assert [font for font, embedded in fonts if not embedded] == []
    assert any("DejaVuSans" in font for font, _ in fonts)  # the stamp's own font
    info = pdfinfo(path)
    assert (info["Tagged"], info["PDF subtype"]) == ("yes", "PDF/A-3b")
    assert xmp_identification(signed.content) == {
        "pdfaid:part": "3",
        "pdfaid:conformance": "B",
        "pdfuaid:part": "1",
    }

    reader = PdfReader(io.BytesIO(signed.content))
    # PDF/A: the Info's entries equal their XMP analogues; pyHanko alone would make them differ.
    assert reader.metadata["/Producer"] == reader.xmp_metadata.pdf_producer
    # PDF/UA: the widget is a /Form element of the structure tree, with a description.
    widget = next(
        a.get_object() for page in reader.pages for a in page.get("/Annots", []) if a.get_object().get("/T")
    )
    assert widget["/TU"] == "Sceau électronique de la convention par la plateforme Ancrage"
    parents = reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    element = parents[parents.index(widget["/StructParent"]) + 1].get_object()
    assert element["/S"] == "/Form" and "Nguyễn Thị Ánh" in element["/Alt"]


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("- Nguyễn Thị Ánh, Présidente", [("ltr", "- Nguyễn Thị Ánh, Présidente")]),
        (
            "- محمد الأمين, Maire (Ville)",
            [("ltr", "- "), ("rtl", "محمد الأمين"), ("ltr", ", Maire (Ville)")],
        ),
        ("דוד כהן", [("rtl", "דוד כהן")]),
        ("", [("ltr", "")]),
    ],
)
def test_a_right_to_left_name_is_its_own_run_inside_a_french_line(text, runs):
    assert direction_runs(text) == runs


@given(st.text(alphabet=st.sampled_from("ab 1,(-éễ" + "دمحم" + "דוד")))
@examples(50)
def testdirection_runs_cut_a_line_without_losing_or_moving_a_character(text):
    runs = direction_runs(text)
    assert "".join(run for _, run in runs) == text
    # Neighbouring runs differ in direction.
    assert all(a[0] != b[0] for a, b in zip(runs, runs[1:], strict=False))
