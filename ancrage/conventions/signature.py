"""PAdES seal of a signed convention, and its verification.

Level of the signature under eIDAS (regulation (EU) 910/2014) — say it plainly
to users, never more:

* Each party's consent is collected by Ancrage's signature circuit (who, when,
  from where, hash of the document), which is a *simple electronic signature*
  (art. 3.10).
* The final PDF is then sealed with **the platform's certificate**, not with a
  certificate of each signatory. With a self-signed development certificate
  this seal only proves integrity. With a certificate issued to the operator
  by a certification authority, the seal can reach the *advanced* level
  (art. 26 / 36: uniquely linked to and under the sole control of the
  operator, and detects any later change).
* It is **never a qualified electronic signature or seal**: that needs a
  qualified certificate on a qualified signature creation device (QSCD),
  which Ancrage does not use.

The visible stamp lists each signatory, their role and the date of their
signature as recorded by the circuit; it is a readable summary, the
cryptographic seal is the PAdES signature itself (profile B-B: no trusted
timestamp, since that needs a timestamping authority the platform may not
have).
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PLATFORM_NAME = "Ancrage"
FIELD_NAME = "SceauAncrage"


class SignatureError(Exception):
    """Signing failed; the message is French and shown to the user."""


@dataclass(frozen=True)
class Signatory:
    name: str
    role: str  # qualité, e.g. "Maire", "Présidente"
    organisation: str
    signed_on: dt.date | dt.datetime


@dataclass(frozen=True)
class SignedPdf:
    content: bytes
    sha256: str


@dataclass(frozen=True)
class DevCertificate:
    key_path: Path
    cert_path: Path
    pkcs12_path: Path
    pkcs12_password: str


# --- Development certificate ----------------------------------------------


def create_dev_certificate(
    directory: str | os.PathLike,
    *,
    common_name: str = "Ancrage – certificat de développement",
    organisation: str = "Ancrage (développement)",
    password: str = "ancrage-dev",
    valid_days: int = 825,
    key_size: int = 3072,
) -> DevCertificate:
    """Create a self-signed sealing certificate for development and tests.

    Writes ``ancrage-dev.key.pem``, ``ancrage-dev.cert.pem`` and
    ``ancrage-dev.p12`` in ``directory``. The key PEM is unencrypted (the
    directory is meant to be private to the developer); the PKCS#12 file is
    protected by ``password``. Never use this certificate in production: it
    proves integrity, not who sealed the document.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            # non_repudiation (contentCommitment) is what PDF validators expect of a signing key.
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    paths = DevCertificate(
        key_path=directory / "ancrage-dev.key.pem",
        cert_path=directory / "ancrage-dev.cert.pem",
        pkcs12_path=directory / "ancrage-dev.p12",
        pkcs12_password=password,
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(paths.key_path, key_pem)
    paths.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    p12 = pkcs12.serialize_key_and_certificates(
        b"ancrage-dev",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(password.encode()),
    )
    _write_private(paths.pkcs12_path, p12)
    return paths


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


# --- Signing ----------------------------------------------------------------


def sign_pdf(
    pdf: bytes,
    signatories: Sequence[Signatory],
    *,
    pkcs12_path: str | os.PathLike | None = None,
    pkcs12_password: str | None = None,
    key_path: str | os.PathLike | None = None,
    cert_path: str | os.PathLike | None = None,
    key_password: str | None = None,
    box: tuple[int, tuple[int, int, int, int]] | None = None,
    reason: str = "Convention signée par l'ensemble des parties",
    location: str = "",
) -> SignedPdf:
    """Seal ``pdf`` with the platform certificate (PAdES B-B) and a visible stamp.

    Give either ``pkcs12_path`` (+ ``pkcs12_password``) or ``key_path`` and
    ``cert_path`` (PEM or DER). ``box`` is ``(page index, (x1, y1, x2, y2))``
    in PDF points, as returned by
    :func:`ancrage.conventions.documents.generate_pdf`; without it, a page is
    added at the end of the document to carry the stamp.

    The signature certifies the document (DocMDP "no changes"), so any later
    edit, even an incremental one, is reported by :func:`verify_pdf` and by
    PDF readers.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    if not signatories:
        raise SignatureError("Aucun signataire : la convention ne peut pas être scellée.")
    signer = _load_signer(pkcs12_path, pkcs12_password, key_path, cert_path, key_password)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except Exception as exc:
        raise SignatureError("Le fichier à signer n'est pas un PDF lisible.") from exc

    if box is None:
        page_index = _append_signature_page(writer)
        rect = (56, 480, 539, 760)
    else:
        page_index, rect = box

    style = TextStampStyle(
        stamp_text="%(intro)s\n%(lines)s\n%(seal)s",
        border_width=1,
        timestamp_format="%d/%m/%Y %H:%M UTC",
        text_box_style=TextBoxStyle(font=_stamp_font(), font_size=STAMP_FONT_SIZE, leading=STAMP_LEADING),
    )
    text_params = {
        "intro": _stamp_text("Convention signée électroniquement via la plateforme Ancrage."),
        "lines": "\n".join(_stamp_text(_signatory_line(s)) for s in signatories),
        "seal": _stamp_text(f"Scellée par : {_subject_cn(signer)}"),
    }
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=reason,
        location=location or None,
        name=PLATFORM_NAME,
    )
    pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=style)
    try:
        fields.append_signature_field(
            writer,
            fields.SigFieldSpec(
                sig_field_name=FIELD_NAME, on_page=page_index, box=rect, readable_field_name=STAMP_LABEL
            ),
        )
        _tag_signature_widget(writer, page_index, "\n".join(text_params.values()))
        _align_info_with_xmp(writer)
        output = pdf_signer.sign_pdf(writer, appearance_text_params=text_params)
    except Exception as exc:
        raise SignatureError(f"La signature du PDF a échoué : {exc}") from exc
    data = output.getvalue()
    return SignedPdf(data, hashlib.sha256(data).hexdigest())


def _load_signer(pkcs12_path, pkcs12_password, key_path, cert_path, key_password):
    from pyhanko.sign import signers

    try:
        if pkcs12_path:
            signer = signers.SimpleSigner.load_pkcs12(
                str(pkcs12_path), passphrase=pkcs12_password.encode() if pkcs12_password else None
            )
        elif key_path and cert_path:
            signer = signers.SimpleSigner.load(
                str(key_path),
                str(cert_path),
                key_passphrase=key_password.encode() if key_password else None,
            )
        else:
            raise SignatureError(
                "Certificat de la plateforme non configuré : indiquez un fichier PKCS#12, "
                "ou une clé et un certificat au format PEM."
            )
    except SignatureError:
        raise
    except Exception as exc:
        raise SignatureError("Le certificat de la plateforme n'a pas pu être chargé.") from exc
    if signer is None:  # pyHanko returns None (and logs) on a wrong password or an unreadable file
        raise SignatureError(
            "Le certificat de la plateforme n'a pas pu être "
            "chargé (fichier illisible ou mot de passe erroné)."
        )
    return signer


def _subject_cn(signer) -> str:
    try:
        return signer.signing_cert.subject.native.get("common_name") or PLATFORM_NAME
    except Exception:
        return PLATFORM_NAME


def _signatory_line(signatory: Signatory) -> str:
    day = signatory.signed_on
    if isinstance(day, dt.datetime):
        when = day.strftime("%d/%m/%Y à %H:%M")
    else:
        when = day.strftime("%d/%m/%Y")
    return f"- {signatory.name}, {signatory.role} ({signatory.organisation}), le {when}"


# The stamp's font: DejaVu Sans, shipped in the repository (ancrage/core/data/fonts, with its
# licence and SOURCE.md) and embedded as a subset by pyHanko's OpenType engine (fontTools,
# HarfBuzz), so that the stamp prints any name the font covers (Latin with every diacritic, Greek,
# Cyrillic, Arabic, Hebrew; not CJK) and the sealed PDF keeps every font embedded, as PDF/A wants.
# pyHanko's default, Courier in WinAnsi, is neither embedded nor able to write "Nguyễn".
STAMP_FONT_SIZE = 10
STAMP_LEADING = 13  # room for the accents of capitals (É, Ấ) under the line above


def _stamp_font(size: int = STAMP_FONT_SIZE):
    """pyHanko's OpenType engine over the shipped font, read once per process.

    pyHanko's own ``GlyphAccumulatorFactory`` opens the file at each stamp and never closes it.
    """
    from pyhanko.pdf_utils.font.api import FontEngineFactory, ShapeResult
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

    class BidiRuns(GlyphAccumulator):
        """Shape each direction's run of a line on its own, laid out left to right.

        pyHanko shapes a line as one run, and HarfBuzz does not reorder: an Arabic or Hebrew name
        would turn the whole line right to left ("5202/90/20 el"), or its own letters around. The
        stamp's lines are French (left to right); a run of right-to-left letters is shaped right
        to left, in its place. The /ActualText keeps the line's logical text for copy and search.
        """

        def shape(self, txt: str, with_actual_text: bool = True):
            runs = direction_runs(txt)
            if len(runs) == 1:
                self.writing_direction = runs[0][0]
                return super().shape(txt, with_actual_text)
            ops, x_advance = [], 0.0
            for direction, run in runs:
                self.writing_direction = direction
                shaped = super().shape(run, with_actual_text=False)
                ops.append(shaped.graphics_ops)
                x_advance += shaped.x_advance
            graphics = b" ".join(ops)
            if with_actual_text:
                properties = io.BytesIO()
                self.marked_content_property_list(txt).write_to_stream(properties)
                graphics = b"/Span " + properties.getvalue() + b" BDC " + graphics + b" EMC"
            return ShapeResult(graphics_ops=graphics, x_advance=x_advance, y_advance=0)

    class EmbeddedSans(FontEngineFactory):
        def create_font_engine(self, writer, obj_stream=None):
            if obj_stream is None and writer.stream_xrefs:
                obj_stream = writer.prepare_object_stream()
            return BidiRuns(
                writer=writer,
                font_handle=io.BytesIO(_stamp_font_bytes()),
                font_size=size,
                bcp47_lang_code="fr",
                obj_stream=obj_stream,
            )

    return EmbeddedSans()


def direction_runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into ("ltr" | "rtl", run) pieces, in logical order.

    A letter of a right-to-left script (Unicode bidi class R or AL) is right to left; any other
    letter or digit left to right; spaces and punctuation go right to left only between two
    right-to-left characters. Enough for a name inside a French line, not the full bidi algorithm.
    """
    strong = []
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        strong.append("rtl" if kind in ("R", "AL") else "ltr" if kind in ("L", "EN", "AN") else None)
    directions = []
    for i, direction in enumerate(strong):
        if direction is None:
            before = next((d for d in reversed(strong[:i]) if d), "ltr")
            after = next((d for d in strong[i + 1 :] if d), "ltr")
            direction = "rtl" if before == after == "rtl" else "ltr"
        directions.append(direction)
    runs: list[tuple[str, str]] = []
    for ch, direction in zip(text, directions, strict=True):
        if runs and runs[-1][0] == direction:
            runs[-1] = (direction, runs[-1][1] + ch)
        else:
            runs.append((direction, ch))
    return runs or [("ltr", text)]


@functools.cache
def _stamp_font_bytes() -> bytes:
    from ancrage.core.pdf import SANS_FONT

    return SANS_FONT.read_bytes()


def _stamp_text(text: str) -> str:
    # NFC: a name typed with combining accents shapes as the font's precomposed glyphs.
    return unicodedata.normalize("NFC", text)


STAMP_LABEL = "Sceau électronique de la convention par la plateforme Ancrage"


def _tag_signature_widget(writer, page_index: int, text: str) -> None:
    """Put the stamp's widget into the structure tree of a tagged PDF, as PDF/UA asks.

    A /Form element under the document's root element holds the widget (an object
    reference), with the stamp's text as its alternate description; the widget's
    /StructParent leads back to it through the parent tree. An untagged PDF is left as it is.
    """
    from pyhanko.pdf_utils import generic

    name = generic.pdf_name
    root = writer.root
    if "/StructTreeRoot" not in root:
        return
    tree_ref = root.raw_get("/StructTreeRoot")
    tree = tree_ref.get_object()
    page_ref = writer.find_page_for_modification(page_index)[0]
    annots = page_ref.get_object()["/Annots"]
    widget_ref = next(annots.raw_get(i) for i in range(len(annots)) if annots[i].get("/T") == FIELD_NAME)
    parent_tree_ref = tree.raw_get("/ParentTree")
    parent_tree = parent_tree_ref.get_object()
    if "/Nums" not in parent_tree:  # a parent tree split into /Kids: not what Ancrage writes
        return
    nums = parent_tree["/Nums"]
    keys = [int(nums.raw_get(i)) for i in range(0, len(nums), 2)]
    key = max([*keys, int(tree.get("/ParentTreeNextKey", 0)) - 1]) + 1
    document_ref = tree.raw_get("/K")
    if isinstance(document_ref, generic.ArrayObject):
        document_ref = document_ref.raw_get(0)
    if not isinstance(document_ref, generic.IndirectObject):
        return
    form = generic.DictionaryObject(
        {
            name("/Type"): name("/StructElem"),
            name("/S"): name("/Form"),
            name("/P"): document_ref,
            name("/Pg"): page_ref,
            name("/Alt"): generic.TextStringObject(text),
            name("/K"): generic.DictionaryObject(
                {name("/Type"): name("/OBJR"), name("/Obj"): widget_ref, name("/Pg"): page_ref}
            ),
        }
    )
    form_ref = writer.add_object(form)
    document = document_ref.get_object()
    kids = document.get("/K")
    if isinstance(kids, generic.ArrayObject):
        kids.append(form_ref)
    else:
        document[name("/K")] = generic.ArrayObject([kids, form_ref] if kids is not None else [form_ref])
    nums.extend([generic.NumberObject(key), form_ref])
    tree[name("/ParentTreeNextKey")] = generic.NumberObject(key + 1)
    widget_ref.get_object()[name("/StructParent")] = generic.NumberObject(key)
    for ref in (document_ref, parent_tree_ref, tree_ref, widget_ref):
        if isinstance(ref, generic.IndirectObject):
            writer.mark_update(ref)


_PDFA_ID = re.compile(rb'pdfaid:(part|conformance)(?:="|>)([0-9A-Za-z])')


def _align_info_with_xmp(writer) -> None:
    """Keep the document information dictionary equal to the XMP, as PDF/A requires.

    pyHanko sets the XMP's pdf:Producer to itself alone but appends itself to the Info's
    /Producer ("WeasyPrint 70.0; pyHanko 0.38.0"): the Info's is set to pyHanko's beforehand, so
    both read the same. The Info also gets the ``GTS_PDFA1Version`` poppler's ``pdfinfo`` reads,
    from the XMP's ``pdfaid`` (a PDF from LibreOffice declares PDF/A in the XMP only).
    """
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR

    root = writer.root
    if "/Metadata" not in root:
        return  # no XMP: pyHanko updates the Info alone
    try:
        info = generic.DictionaryObject(writer.trailer["/Info"])
    except KeyError:
        info = generic.DictionaryObject()
    info[generic.pdf_name("/Producer")] = generic.TextStringObject(VENDOR)
    found = dict(_PDFA_ID.findall(root["/Metadata"].data))
    if b"part" in found and b"conformance" in found:
        conformance = f"PDF/A-{found[b'part'].decode()}{found[b'conformance'].decode().lower()}"
        info[generic.pdf_name("/GTS_PDFA1Version")] = generic.TextStringObject(conformance)
    writer.set_info(info)


def _append_signature_page(writer) -> int:
    """A last page titled "Signatures électroniques", for a PDF with no frame for the stamp.

    The title is drawn with the stamp's embedded font, and marked as an artifact: the page's
    content is then nothing the structure tree of a tagged PDF has to account for.
    """
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PageObject

    engine = _stamp_font(14).create_font_engine(writer)
    title = engine.shape("Signatures électroniques", with_actual_text=False)
    ops = b"/Artifact BMC BT /F1 14 Tf 56 790 Td " + title.graphics_ops + b" ET EMC"
    stream = writer.add_object(generic.StreamObject(stream_data=ops))
    resources = generic.DictionaryObject(
        {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): engine.as_resource()})}
    )
    page = PageObject(contents=stream, media_box=(0, 0, 595, 842), resources=resources)
    page[generic.pdf_name("/Tabs")] = generic.pdf_name("/S")  # annotations in structure order (PDF/UA)
    writer.insert_page(page)
    return int(writer.root["/Pages"]["/Count"]) - 1


# --- Verification -------------------------------------------------------------


@dataclass
class SignatureReport:
    field_name: str
    signer: str
    signing_time: dt.datetime | None
    intact: bool
    covers_whole_file: bool
    trusted: bool
    certified_unchanged: bool


@dataclass
class VerificationResult:
    ok: bool
    sha256: str
    messages: list[str] = field(default_factory=list)  # French, for the user
    signatures: list[SignatureReport] = field(default_factory=list)

    def __str__(self) -> str:
        verdict = "VALIDE" if self.ok else "NON VALIDE"
        return "\n".join([f"Résultat : {verdict}", f"Empreinte SHA-256 : {self.sha256}", *self.messages])


def verify_pdf(
    data: bytes,
    *,
    trusted_certificates: Sequence[str | os.PathLike | bytes] = (),
    expected_sha256: str | None = None,
) -> VerificationResult:
    """Check the seal of a signed convention; never raises on bad input.

    The result is ``ok`` when every signature is intact, the last one covers
    the whole file, the certified document has not been changed since, and
    the bytes of the signature container are exactly those written at signing
    time (so that no byte of the file can change unnoticed). When
    ``trusted_certificates`` (PEM/DER paths or bytes, e.g. the platform's
    certificate) are given, the signer must also chain to one of them. When
    ``expected_sha256`` (the hash recorded at signing) is given, the file must
    match it exactly.
    """
    digest = hashlib.sha256(data).hexdigest()
    result = VerificationResult(ok=False, sha256=digest)
    if expected_sha256 is not None and expected_sha256.lower() != digest:
        result.messages.append(
            "L'empreinte SHA-256 du fichier ne correspond pas à celle enregistrée lors de la signature : "
            "ce fichier n'est pas le document signé."
        )
        return result
    try:
        return _verify(data, result, trusted_certificates)
    except Exception:
        # A malformed or tampered file can make the PDF parser or the CMS
        # decoder fail anywhere; for the user this is one verdict.
        result.ok = False
        result.signatures.clear()
        result.messages = [
            "Le fichier est endommagé ou a été modifié : sa signature électronique ne peut pas être vérifiée."
        ]
        return result


def _verify(data: bytes, result: VerificationResult, trusted_certificates) -> VerificationResult:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    if not data.startswith(b"%PDF-"):
        result.messages.append("Le fichier n'est pas un document PDF.")
        return result
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    embedded = reader.embedded_signatures
    if not embedded:
        result.messages.append("Le document ne comporte aucune signature électronique.")
        return result

    roots = [_load_certificate(c) for c in trusted_certificates]
    # Always explicit: an implicit context would fall back to the OS TLS trust
    # list, which says nothing about a document seal (and is deprecated in pyHanko).
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    all_ok = True
    for index, sig in enumerate(embedded):
        is_last = index == len(embedded) - 1
        status = validate_pdf_signature(sig, signer_validation_context=context)
        canonical = _contents_are_canonical(data, sig)
        intact = bool(status.intact and status.valid and canonical)
        covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        unchanged = status.docmdp_ok is not False
        trusted = bool(status.trusted) if roots else False
        signer = status.signing_cert.subject.human_friendly if status.signing_cert else "inconnu"
        result.signatures.append(
            SignatureReport(
                field_name=sig.field_name,
                signer=signer,
                signing_time=status.signer_reported_dt,
                intact=intact,
                covers_whole_file=covers,
                trusted=trusted,
                certified_unchanged=unchanged,
            )
        )
        if intact:
            result.messages.append(f"Signature « {sig.field_name} » ({signer}) : intègre.")
        else:
            all_ok = False
            result.messages.append(
                f"Signature « {sig.field_name} » : le contenu signé a été modifié, "
                "la signature n'est plus valide."
            )
        if is_last and not covers:
            all_ok = False
            result.messages.append(
                "Des données ont été ajoutées au fichier après la dernière signature : "
                "ce n'est plus le document tel qu'il a été signé."
            )
        if not unchanged:
            all_ok = False
            result.messages.append("Le document certifié a été modifié après sa certification.")
        if roots:
            if trusted:
                result.messages.append("Le certificat de scellement est celui de la plateforme (reconnu).")
            else:
                all_ok = False
                result.messages.append(
                    "Le certificat de scellement n'est pas celui de la plateforme : l'origine du document "
                    "n'est pas garantie."
                )
    if not roots:
        result.messages.append(
            "Origine non vérifiée : aucun certificat de confiance n'a été fourni "
            "pour contrôler l'émetteur du sceau."
        )
    result.ok = all_ok
    if all_ok:
        result.messages.insert(0, "Le document est intact depuis sa signature.")
    return result


def _contents_are_canonical(data: bytes, sig) -> bool:
    """The /Contents hex string is the one byte region a PDF signature does not hash.

    A DER decoder ignores the zero padding after the CMS object and hex
    digits are case-insensitive, so a byte could change there unnoticed.
    Require the exact form pyHanko writes: upper-case hex, DER object, zeros.
    """
    start = int(sig.byte_range[0]) + int(sig.byte_range[1])
    end = int(sig.byte_range[2])
    region = data[start:end]
    if len(region) < 2 or region[:1] != b"<" or region[-1:] != b">":
        return False
    hex_digits = region[1:-1]
    try:
        raw = binascii.unhexlify(hex_digits)
    except (binascii.Error, ValueError):
        return False
    if binascii.hexlify(raw).upper() != hex_digits:
        return False
    length = _der_total_length(raw)
    if length is None or any(raw[length:]):
        return False
    return _cms_is_canonical(raw[:length])


def _cms_is_canonical(der: bytes) -> bool:
    """Parts of the CMS envelope are not covered by the signature (the
    digestAlgorithms set, the certificate bag); require that they are
    consistent and that the whole object is strict DER, so a change there is
    caught as well."""
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(der, strict=True)
        signed_data = info["content"]
        _ = info.native  # forces parsing of every nested value
        signer_infos = signed_data["signer_infos"]
        algorithms = {si["digest_algorithm"].dump() for si in signer_infos}
        declared = [algo.dump() for algo in signed_data["digest_algorithms"]]
        if set(declared) != algorithms or len(declared) != len(algorithms):
            return False
        # Versions are fixed by RFC 5652 (5.1, 5.3) from the rest of the object.
        v3 = False
        for si in signer_infos:
            by_issuer = si["sid"].name == "issuer_and_serial_number"
            if si["version"].native != ("v1" if by_issuer else "v3"):
                return False
            v3 = v3 or not by_issuer
            if by_issuer and not _sid_matches_a_certificate(si["sid"].chosen, signed_data):
                return False
        for cert in signed_data["certificates"] or []:
            if cert.name != "certificate":
                return False
        expected = "v3" if v3 or signed_data["encap_content_info"]["content_type"].native != "data" else "v1"
        if signed_data["version"].native != expected:
            return False
        return cms.ContentInfo.load(der).dump(force=True) == der
    except Exception:
        return False


def _sid_matches_a_certificate(sid, signed_data) -> bool:
    # The signer identifier is not signed; it must name an embedded certificate byte for byte.
    for cert in signed_data["certificates"] or []:
        tbs = cert.chosen["tbs_certificate"]
        if (
            tbs["issuer"].dump() == sid["issuer"].dump()
            and tbs["serial_number"].native == sid["serial_number"].native
        ):
            return True
    return False


def _der_total_length(raw: bytes) -> int | None:
    if len(raw) < 2 or raw[0] != 0x30:
        return None
    first = raw[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(raw) < 2 + count:
        return None
    return 2 + count + int.from_bytes(raw[2 : 2 + count], "big")


def _load_certificate(source):
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)
