"""The seal of a convention signed by every party: its stamp and last page list each signatory,
its record reads back, and with a timestamping authority it is PAdES B-T (then B-LT).

One sealed PDF per profile for the module (sealing takes about a second).
"""

import datetime as dt
import io
import re
import subprocess

import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from hypothesis import given
from hypothesis import strategies as st
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from ancrage.conventions.documents import generate_pdf
from ancrage.conventions.signature import (
    Signatory,
    SignatureError,
    create_dev_certificate,
    read_record,
    sign_pdf,
    verify_pdf,
)
from tests.conventions.conftest import make_content
from tests.conventions.tsa import TSA_NAME, local_tsa
from tests.pdf_checks import embedded_fonts, pdfinfo, pdftotext
from tests.properties import examples

FOUR = [
    Signatory(
        "Mme Claire Dubois-Le Goff de la Villemarqué",
        "Responsable de l'EPN",
        "Espace numérique des Glycines",
        dt.datetime(2026, 11, 28, 9, 15),
    ),
    Signatory(
        "Nguyễn Thị Ánh",
        "Présidente",
        "Association Sông Hồng pour l'inclusion numérique des habitants du quartier",
        dt.datetime(2026, 11, 29, 14, 2),
    ),
    Signatory(
        "M. Jean-Baptiste Martin-Delacroix-Fontaine",
        "Adjoint au maire délégué au numérique et à l'inclusion",
        "Commune de Villeurbanne",
        dt.datetime(2026, 11, 30, 10, 5),
    ),
    Signatory("Loïc Tanguy", "Vice-président", "Rennes Métropole", dt.date(2026, 12, 1)),
]


def load(pem_bytes: bytes):
    return asn1_x509.Certificate.load(pem.unarmor(pem_bytes)[2])


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return create_dev_certificate(tmp_path_factory.mktemp("cert"), key_size=2048)


@pytest.fixture(scope="module")
def rendered():
    return generate_pdf("partenariat_generique", make_content())


@pytest.fixture(scope="module")
def sealed(cert, rendered):
    """B-B: no timestamping authority."""
    return sign_pdf(
        rendered.content,
        FOUR,
        pkcs12_path=cert.pkcs12_path,
        pkcs12_password=cert.pkcs12_password,
        box=rendered.signature_box,
    )


@pytest.fixture(scope="module")
def timestamped(cert, rendered):
    with local_tsa() as tsa:
        signed = sign_pdf(
            rendered.content,
            FOUR,
            pkcs12_path=cert.pkcs12_path,
            pkcs12_password=cert.pkcs12_password,
            box=rendered.signature_box,
            timestamp_url=tsa.url,
        )
        assert tsa.requests, "the local TSA was asked"
    return signed, tsa


def test_without_a_tsa_the_seal_stays_b_b(sealed, cert):
    assert sealed.level == "B-B"
    reader = PdfFileReader(io.BytesIO(sealed.content), strict=False)
    assert "/DSS" not in reader.root
    result = verify_pdf(sealed.content, trusted_certificates=[cert.cert_path])
    assert result.ok, str(result)
    [seal] = result.signatures
    assert seal.timestamp is None and seal.level == "B-B"


def test_the_record_lists_every_signatory_from_the_sealed_revision(sealed, cert, rendered):
    result = verify_pdf(sealed.content, trusted_certificates=[cert.cert_path])
    record = result.record
    assert [s["nom"] for s in record["signataires"]] == [s.name for s in FOUR]
    assert record["signataires"][1] == {
        "nom": "Nguyễn Thị Ánh",
        "qualite": "Présidente",
        "organisation": "Association Sông Hồng pour l'inclusion numérique des habitants du quartier",
        "signe_le": "2026-11-29T14:02:00",
    }
    assert record["document_sha256"] == rendered.sha256
    assert record["horodatage"] is None
    # A record appended after the seal is not the sealed one: the page reads the signed revision.
    reader = PdfFileReader(io.BytesIO(sealed.content), strict=False)
    assert read_record(reader, reader.embedded_signatures[0]) == record


def test_a_tampered_seal_shows_no_signatories(sealed, cert):
    data = bytearray(sealed.content)
    data[len(data) // 2] ^= 0x01
    result = verify_pdf(bytes(data), trusted_certificates=[cert.cert_path])
    assert not result.ok and result.record is None


@pytest.mark.poppler
def test_stamp_and_last_page_list_the_four_signatories(sealed, tmp_path, rendered):
    path = tmp_path / "signee.pdf"
    path.write_bytes(sealed.content)
    pages = [" ".join(page.split()) for page in pdftotext(path).split("\f") if page.strip()]
    stamp_page, last = pages[-2], pages[-1]
    assert last.startswith("Signatures")
    for signatory in FOUR:
        # the stamp (a wrapped line goes on under the one above) …
        assert f"{signatory.name}, {signatory.role} ({signatory.organisation})" in stamp_page
        # … and the last page's table, a cell's text wrapped within its column
        for word in re.split(r"[\s-]+", f"{signatory.name} {signatory.organisation}"):
            assert word in last
    assert "Nguyễn Thị Ánh" in last
    assert "28/11/2026 à 09:15" in last and "01/12/2026" in last
    assert "Horodatage : aucun" in last
    assert rendered.sha256 in last
    info = pdfinfo(path)
    assert (info["Tagged"], info["PDF subtype"]) == ("yes", "PDF/A-3b")
    assert [font for font, embedded in embedded_fonts(path) if not embedded] == []


def test_the_last_page_is_tagged_as_a_table(sealed):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(sealed.content))
    last = reader.pages[-1]
    parents = reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    elements = [e.get_object() for e in parents[parents.index(last["/StructParents"]) + 1].get_object()]
    assert elements[0]["/S"] == "/H1"
    kinds = {e["/S"] for e in elements}
    assert {"/TH", "/TD", "/P"} <= kinds
    row = next(e["/P"].get_object() for e in elements if e["/S"] == "/TD")
    table = row["/P"].get_object()
    assert row["/S"] == "/TR" and table["/S"] == "/Table"
    assert len(table["/K"]) == 1 + len(FOUR)  # the header row, then one row per signatory
    assert all(len(r.get_object()["/K"]) == 4 for r in table["/K"])


def test_with_a_local_tsa_pyhanko_reports_a_timestamp_on_the_seal(timestamped, cert):
    signed, tsa = timestamped
    reader = PdfFileReader(io.BytesIO(signed.content), strict=False)
    [sig] = reader.embedded_signatures
    status = validate_pdf_signature(
        sig,
        signer_validation_context=ValidationContext(trust_roots=[load(cert.cert_path.read_bytes())]),
        ts_validation_context=ValidationContext(trust_roots=[load(tsa.cert_pem)]),
    )
    assert status.bottom_line
    ts = status.timestamp_validity
    assert ts is not None and ts.intact and ts.valid and ts.trusted
    assert ts.signing_cert.subject.native["common_name"] == TSA_NAME
    assert abs(ts.timestamp - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_with_a_tsa_the_validation_data_is_embedded_b_lt(timestamped, cert):
    """A self-signed seal and TSA have no CRL or OCSP to fetch: the DSS holds their certificates."""
    signed, tsa = timestamped
    assert signed.level == "B-LT"
    reader = PdfFileReader(io.BytesIO(signed.content), strict=False)
    dss = reader.root["/DSS"]
    certs = [bytes(c.get_object().data) for c in dss["/Certs"]]
    assert load(cert.cert_path.read_bytes()).dump() in certs
    assert load(tsa.cert_pem).dump() in certs
    # The DSS is the one update after the seal; the verification accepts it, as PAdES does.
    result = verify_pdf(
        signed.content, trusted_certificates=[cert.cert_path], trusted_tsa_certificates=[tsa.cert_pem]
    )
    assert result.ok, str(result)
    [seal] = result.signatures
    assert seal.level == "B-LT" and seal.timestamp.intact and seal.timestamp.trusted
    assert seal.timestamp.authority.endswith(TSA_NAME) or TSA_NAME in seal.timestamp.authority
    assert result.record["horodatage"] == {"autorite": tsa.url}
    # An appended byte still fails, DSS or not.
    assert not verify_pdf(signed.content + b"%", trusted_certificates=[cert.cert_path]).ok


def test_an_unreachable_tsa_stops_the_seal_with_a_french_message(cert, rendered):
    with pytest.raises(SignatureError, match="horodatage"):
        sign_pdf(
            rendered.content,
            FOUR[:1],
            pkcs12_path=cert.pkcs12_path,
            pkcs12_password=cert.pkcs12_password,
            timestamp_url="http://127.0.0.1:9/",  # the discard port: nothing listens
            timestamp_timeout=2,
        )


@pytest.mark.poppler
@pytest.mark.parametrize("profile", ["B-B", "B-LT"])
def test_pdfsig_validates_the_seal(sealed, timestamped, tmp_path, profile):
    """poppler's pdfsig checks the signature's cryptography and digest over its byte ranges.

    The certificate is the self-signed development one, which pdfsig's (NSS) trust store does not
    hold: it reports the certificate as not trusted ("Unknown issue…" or "not trusted"), which says
    nothing about the document. With B-LT, the DSS revision follows the signature, so pdfsig says
    "Not total document signed": it does not know PAdES' validation-data updates (pyHanko and
    verify_pdf check that this update adds only validation data).
    """
    data = sealed.content if profile == "B-B" else timestamped[0].content
    path = tmp_path / "signee.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Signer Certificate Common Name: Ancrage – certificat de développement" in out
    if profile == "B-B":
        assert "Total document signed" in out and "Not total document signed" not in out
    else:
        assert "Not total document signed" in out
    tampered = bytearray(data)
    tampered[len(tampered) // 3] ^= 0x01
    path.write_bytes(bytes(tampered))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert "Signature is Valid" not in out


NAME_CHARS = "abcdefghijklmnopqrstuvwxyzÉéèàçễịÁ'- " + "ĐđƯơ"


@examples(25)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=NAME_CHARS, min_size=1, max_size=60),
            st.text(alphabet=NAME_CHARS, min_size=1, max_size=90),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_the_stamp_wraps_every_signatory_within_its_frame_without_losing_a_word(people):
    """Up to 8 signatories in the document's 110 pt frame: each line fits, no word is lost."""
    from ancrage.conventions.signature import STAMP_SIZES, _fit_stamp, _measuring_engine

    paragraphs = [f"- {name}, Présidente ({organisation}), le 02/09/2025" for name, organisation in people]
    width, height = 483 - 24, 110 - 16
    size, leading, lines = _fit_stamp(paragraphs, width=width, height=height)
    engine = _measuring_engine(size)
    for line in lines:
        assert (
            engine.shape(line, with_actual_text=False).x_advance * size <= width + 0.01
            or len(line.strip()) == 1
        )
    joined = re.sub(r"\s+", "", "".join(lines))
    assert joined == re.sub(r"\s+", "", "".join(paragraphs))
    if size > STAMP_SIZES[-1][0]:
        assert len(lines) * leading <= height


def test_a_file_of_many_revisions_is_not_analysed(sealed):
    """pyHanko's change analysis runs over each revision: a file of hundreds is refused at once."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    data = sealed.content
    for index in range(21):
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        writer.add_object(generic.NumberObject(index))
        writer.update_root()
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    result = verify_pdf(data)
    assert not result.ok and "fois après sa création" in result.messages[0]
