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

import asyncio
import binascii
import contextlib
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
    level: str = "B-B"  # PAdES baseline level reached: B-B, B-T or B-LT


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
    timestamp_url: str = "",
    timestamp_timeout: int = 10,
    verification_url: str = "",
) -> SignedPdf:
    """Seal ``pdf`` with the platform certificate and a visible stamp listing every signatory.

    Give either ``pkcs12_path`` (+ ``pkcs12_password``) or ``key_path`` and
    ``cert_path`` (PEM or DER). ``box`` is ``(page index, (x1, y1, x2, y2))``
    in PDF points, as returned by
    :func:`ancrage.conventions.documents.generate_pdf`: the stamp goes there.

    A last page « Signatures » is always added: a table of every signatory (nom, qualité,
    organisation, date et heure), the seal's certificate and the timestamp authority; without
    ``box`` the stamp is drawn on that page too. The signatories are also embedded as a JSON file
    (``signataires.json``, a PDF/A-3 associated file) that :func:`verify_pdf` reads back from the
    sealed revision.

    Profile: PAdES B-B without ``timestamp_url``. With it, the signature carries an RFC 3161
    timestamp from that authority (B-T), and the certificates (and the CRL/OCSP answers their
    issuers publish, if any) of the seal and of the timestamp are then written to the document's
    DSS in a last incremental update (B-LT); the level reached is in ``SignedPdf.level``.

    The signature certifies the document (DocMDP "no changes"), so any later
    edit, even an incremental one, is reported by :func:`verify_pdf` and by
    PDF readers (adding validation data to the DSS is the one update PAdES allows).
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

    seal = seal_certificate_summary(signer.signing_cert.dump())
    document_sha256 = hashlib.sha256(pdf).hexdigest()
    try:
        last_page, free_top = _append_signatures_page(
            writer,
            signatories,
            seal=seal,
            timestamp_url=timestamp_url,
            document_sha256=document_sha256,
            verification_url=verification_url,
        )
        _embed_record(
            writer,
            signatories,
            seal=seal,
            timestamp_url=timestamp_url,
            document_sha256=document_sha256,
        )
    except Exception as exc:
        raise SignatureError(f"La page des signatures n'a pas pu être ajoutée : {exc}") from exc
    if box is None:
        page_index = last_page
        rect = (56, max(56, free_top - 150), 539, free_top)
    else:
        page_index, rect = box

    detail = " Détail : page « Signatures »." if box is not None else ""
    paragraphs = [
        "Convention signée électroniquement via la plateforme Ancrage "
        f"par {_count(len(signatories))}.{detail}",
        *(_signatory_line(s, compact=len(signatories) > 5) for s in signatories),
        f"Scellée par : {_subject_cn(signer)}" + (" ; horodatage RFC 3161." if timestamp_url else "."),
    ]
    size, leading, lines = _fit_stamp(
        [_stamp_text(p) for p in paragraphs], width=rect[2] - rect[0] - 24, height=rect[3] - rect[1] - 16
    )
    style = TextStampStyle(
        stamp_text="%(text)s",
        border_width=1,
        timestamp_format="%d/%m/%Y %H:%M UTC",
        text_box_style=TextBoxStyle(font=_stamp_font(size), font_size=size, leading=leading),
    )
    text_params = {"text": "\n".join(lines)}
    timestamper = None
    validation_context = None
    if timestamp_url:
        from pyhanko.sign.timestamps import HTTPTimeStamper

        timestamper = HTTPTimeStamper(timestamp_url, timeout=timestamp_timeout)
        try:
            # pyHanko's own first request, cached: it gives the TSA's certificates.
            token = asyncio.run(timestamper.async_dummy_response("sha256"))
        except Exception as exc:
            raise SignatureError(
                "Le service d'horodatage (ANCRAGE_TSA_URL) n'a pas répondu : la convention n'est pas "
                "scellée. Réessayez plus tard ou prévenez l'exploitant."
            ) from exc
        validation_context = _collection_context(signer, list(token["content"]["certificates"] or []))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=reason,
        location=location or None,
        name=PLATFORM_NAME,
        embed_validation_info=validation_context is not None,
        validation_context=validation_context,
    )
    pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=style, timestamper=timestamper)
    try:
        fields.append_signature_field(
            writer,
            fields.SigFieldSpec(
                sig_field_name=FIELD_NAME, on_page=page_index, box=rect, readable_field_name=STAMP_LABEL
            ),
        )
        _tag_signature_widget(writer, page_index, "\n".join(_stamp_text(p) for p in paragraphs))
        _align_info_with_xmp(writer)
        output = pdf_signer.sign_pdf(writer, appearance_text_params=text_params)
    except Exception as exc:
        if timestamp_url and _is_timestamp_failure(exc):
            raise SignatureError(
                "Le service d'horodatage (ANCRAGE_TSA_URL) n'a pas répondu : la convention n'est pas "
                "scellée. Réessayez plus tard ou prévenez l'exploitant."
            ) from exc
        raise SignatureError(f"La signature du PDF a échoué : {exc}") from exc
    data = output.getvalue()
    level = "B-B"
    if timestamp_url:
        level = "B-LT" if _has_dss(data) else "B-T"
    return SignedPdf(data, hashlib.sha256(data).hexdigest(), level)


def _is_timestamp_failure(exc: BaseException) -> bool:
    from pyhanko.sign.timestamps import TimestampRequestError

    seen = exc
    while seen is not None:
        if isinstance(seen, TimestampRequestError | OSError | TimeoutError):
            return True
        if type(seen).__module__.startswith("aiohttp"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _collection_context(signer, tsa_certificates):
    """What pyHanko needs to collect the validation data of the seal and of its timestamp (B-LT).

    This is collection, not a trust decision: the roots are the top of the chains the document
    carries (the seal's, the timestamp's), and pyHanko fetches the CRL/OCSP their issuers publish.
    A self-signed certificate is its own root: there is nothing to fetch, its certificate alone is
    embedded. Trust is decided at verification, against the platform's certificate.
    """
    from pyhanko_certvalidator import ValidationContext

    roots = []
    others = []
    for chain in ([signer.signing_cert, *list(signer.cert_registry)], [c.chosen for c in tsa_certificates]):
        issued = {c.issuer.dump() for c in chain if not c.self_signed}
        subjects = {c.subject.dump() for c in chain}
        for cert in chain:
            others.append(cert)
            # The top of what the chain carries: self-signed, or whose issuer is not in it.
            if cert.self_signed or (cert.issuer.dump() not in subjects and cert.subject.dump() not in issued):
                roots.append(cert)
    return ValidationContext(
        trust_roots=roots, other_certs=others, allow_fetching=True, revocation_mode="soft-fail"
    )


def _has_dss(data: bytes) -> bool:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        return "/DSS" in PdfFileReader(io.BytesIO(data), strict=False).root
    except Exception:
        return False


def _count(n: int) -> str:
    return "1 signataire" if n == 1 else f"{n} signataires"


@functools.cache
def _measuring_engine(size: int):
    """A font engine to measure text at ``size``, on a writer of its own (parsing the font is slow)."""
    from pyhanko.pdf_utils.writer import PdfFileWriter

    return _stamp_font(size).create_font_engine(PdfFileWriter())


def _fit_stamp(paragraphs: list[str], *, width: float, height: float) -> tuple[int, int, list[str]]:
    """The stamp's lines, each paragraph wrapped to ``width``, at the largest size that fits ``height``.

    The frame the document keeps is 110 pt high: 2 signatories fit at 10 pt, 8 at 7 pt. Past the
    smallest size pyHanko shrinks the whole text to fit (its default layout).
    """
    lines: list[str] = []
    for size, leading in STAMP_SIZES:
        engine = _measuring_engine(size)
        lines = []
        for paragraph in paragraphs:
            first, *rest = _wrap(engine, paragraph, width, size)
            lines += [first, *(f"   {line}" for line in rest)]
        if len(lines) * leading <= height:
            return size, leading, lines
    return size, leading, lines


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


def _signatory_line(signatory: Signatory, *, compact: bool = False) -> str:
    when = _date_heure(signatory.signed_on)
    if compact:
        return f"- {signatory.name} ({signatory.organisation}), le {when}"
    return f"- {signatory.name}, {signatory.role} ({signatory.organisation}), le {when}"


# The stamp's font: DejaVu Sans, shipped in the repository (ancrage/core/data/fonts, with its
# licence and SOURCE.md) and embedded as a subset by pyHanko's OpenType engine (fontTools,
# HarfBuzz), so that the stamp prints any name the font covers (Latin with every diacritic, Greek,
# Cyrillic, Arabic, Hebrew; not CJK) and the sealed PDF keeps every font embedded, as PDF/A wants.
# pyHanko's default, Courier in WinAnsi, is neither embedded nor able to write "Nguyễn".
STAMP_FONT_SIZE = 10
STAMP_LEADING = 13  # room for the accents of capitals (É, Ấ) under the line above
# (font size, leading) tried in turn for the stamp, the largest whose wrapped lines fit its frame
STAMP_SIZES = ((STAMP_FONT_SIZE, STAMP_LEADING), (9, 12), (8, 10), (7, 9), (6, 8))


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


@dataclass(frozen=True)
class CertificateSummary:
    subject: str
    issuer: str
    serial: str
    sha256: str
    not_before: dt.datetime
    not_after: dt.datetime
    self_signed: bool


def seal_certificate_summary(der: bytes) -> CertificateSummary:
    cert = x509.load_der_x509_certificate(der)

    def common_name(name: x509.Name) -> str:
        found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(found[0].value) if found else name.rfc4514_string()

    return CertificateSummary(
        subject=common_name(cert.subject),
        issuer=common_name(cert.issuer),
        serial=format(cert.serial_number, "X"),
        sha256=cert.fingerprint(hashes.SHA256()).hex().upper(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        self_signed=cert.issuer == cert.subject,
    )


RECORD_NAME = "signataires.json"
RECORD_FORMAT = "ancrage-signataires/1"


def _when_iso(value: dt.date | dt.datetime) -> str:
    return value.isoformat()


def _embed_record(writer, signatories, *, seal: CertificateSummary, timestamp_url: str, document_sha256: str):
    """``signataires.json``, a PDF/A-3 associated file of the catalog (/AF, /AFRelationship /Data).

    It is written in the revision the seal signs, so it is as tamper-evident as the page. pyHanko's
    ``embed_file`` would raise the document to PDF 2.0 for an /AF entry; PDF/A-3 wants 1.x, so the
    /AF array is written here.
    """
    import json

    from pyhanko.pdf_utils import embed, generic

    record = {
        "format": RECORD_FORMAT,
        "plateforme": PLATFORM_NAME,
        "document_sha256": document_sha256,
        "signataires": [
            {
                "nom": _stamp_text(s.name),
                "qualite": _stamp_text(s.role),
                "organisation": _stamp_text(s.organisation),
                "signe_le": _when_iso(s.signed_on),
            }
            for s in signatories
        ],
        "sceau": {"certificat": seal.subject, "empreinte_sha256": seal.sha256},
        "horodatage": {"autorite": timestamp_url} if timestamp_url else None,
    }
    data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
    now = dt.datetime.now(dt.UTC)
    stream = embed.EmbeddedFileObject.from_file_data(
        writer,
        data,
        mime_type="application/json",
        params=embed.EmbeddedFileParams(creation_date=now, modification_date=now),
    )
    spec = embed.FileSpec(
        file_spec_string=RECORD_NAME,
        file_name=RECORD_NAME,
        embedded_data=stream,
        description="Signataires de la convention, lisibles par une machine",
    )
    embed.embed_file(writer, spec)  # leaves the version at 1.7
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec_ref = names.raw_get(len(names) - 1)
    spec_ref.get_object()[generic.pdf_name("/AFRelationship")] = generic.pdf_name("/Data")
    writer.mark_update(spec_ref)
    root = writer.root
    if "/AF" in root:
        root["/AF"].append(spec_ref)
        if isinstance(root.raw_get("/AF"), generic.IndirectObject):
            writer.mark_update(root.raw_get("/AF"))
    else:
        root[generic.pdf_name("/AF")] = generic.ArrayObject([spec_ref])
    writer.update_root()


def read_record(reader, embedded_signature) -> dict | None:
    """The ``signataires.json`` of the revision ``embedded_signature`` signs, or None."""
    import json

    try:
        root = reader.get_historical_root(embedded_signature.signed_revision)
        names = root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names), 2):
            if str(names[i]) == RECORD_NAME:
                data = names[i + 1]["/EF"]["/F"].data
                record = json.loads(data.decode("utf-8"))
                return record if isinstance(record, dict) and record.get("format") == RECORD_FORMAT else None
    except Exception:
        return None
    return None


PAGE_WIDTH, PAGE_HEIGHT = 595, 842
MARGIN = 56
TABLE_SIZE, TABLE_LEADING = 9, 11.5
COLUMNS = (("Nom", 130), ("Qualité", 110), ("Organisation", 145), ("Date et heure", 98))


def _date_heure(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y à %H:%M")
    return value.strftime("%d/%m/%Y")


def _wrap(engine, text: str, width: float, size: float = TABLE_SIZE) -> list[str]:
    """``text`` cut at spaces into lines no wider than ``width`` points (a word too long is cut)."""

    def fits(candidate: str) -> bool:
        # pyHanko's x_advance is in ems
        return engine.shape(candidate, with_actual_text=False).x_advance * size <= width

    lines: list[str] = []
    current = ""
    # A word breaks after its hyphens too ("Martin-" / "Delacroix"): tokens ending in "-" join
    # the next one without a space.
    tokens = [t for word in text.split() for t in re.findall(r"[^-]+-+|[^-]+$|-+", word)]
    for token_index, word in enumerate(tokens):
        previous = tokens[token_index - 1] if token_index else ""
        glue = "" if previous.endswith("-") and previous.strip("-") else " "
        candidate = f"{current}{glue}{word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while not fits(current) and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and not fits(current[:cut]):
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    lines.append(current)
    return lines


class _TaggedPage:
    """A page's content stream with marked content, and its structure elements (PDF/UA)."""

    def __init__(self, writer, tagged: bool):
        self.writer = writer
        self.tagged = tagged
        self.ops: list[bytes] = []
        self.mcids: list = []  # the structure element of each MCID, filled by the caller
        self.elements: list[tuple[str, list, dict]] = []

    def text(self, font: str, size: float, x: float, y: float, shaped: bytes) -> bytes:
        return b"BT /%s %s Tf %s %s Td " % (font.encode(), _num(size), _num(x), _num(y)) + shaped + b" ET"

    def content(self, ops: bytes) -> int:
        mcid = len(self.mcids)
        self.mcids.append(None)
        self.ops.append(b"/Span <</MCID %d>> BDC " % mcid + ops + b" EMC")
        return mcid

    def artifact(self, ops: bytes) -> None:
        self.ops.append(b"/Artifact BMC " + ops + b" EMC")


def _num(value: float) -> bytes:
    return (f"{value:.2f}".rstrip("0").rstrip(".") or "0").encode()


def _draw_table(page: _TaggedPage, body, rows: list[list[str]], y: float, shaped):
    """The signatories' table from ``y`` down: a shaded header row, ruled cells, wrapped text.

    Returns each row's (cell kind, MCIDs per cell), and the height under the table.
    """
    widths = [w for _, w in COLUMNS]
    table_rows = []
    rules = []
    top = y + TABLE_LEADING - 2
    rules.append(top)
    for index, row in enumerate(rows):
        cells = [_wrap(body, _stamp_text(value), width - 8) for value, width in zip(row, widths, strict=True)]
        height = max(len(c) for c in cells) * TABLE_LEADING + 4
        if index == 0:
            page.artifact(
                b"0.93 g %s %s %s %s re f 0 g"
                % (_num(MARGIN), _num(top - height), _num(sum(widths)), _num(height))
            )
        x = MARGIN
        ids_of_row = []
        for lines, width in zip(cells, widths, strict=True):
            ids = []
            line_y = y - 1
            for line in lines:
                ids.append(page.content(page.text("F2", TABLE_SIZE, x + 4, line_y, shaped(body, line))))
                line_y -= TABLE_LEADING
            ids_of_row.append(ids)
            x += width
        table_rows.append(("TH" if index == 0 else "TD", ids_of_row))
        y -= height
        top -= height
        rules.append(top)
    left, right = MARGIN, MARGIN + sum(widths)
    lines_ops = [b"0.6 w 0.33 G"]
    for rule in rules:
        lines_ops.append(b"%s %s m %s %s l S" % (_num(left), _num(rule), _num(right), _num(rule)))
    x = left
    for width in (0, *widths):
        x += width
        lines_ops.append(b"%s %s m %s %s l S" % (_num(x), _num(rules[0]), _num(x), _num(rules[-1])))
    page.artifact(b" ".join(lines_ops))
    return table_rows, y - 14


def _append_signatures_page(
    writer,
    signatories,
    *,
    seal: CertificateSummary,
    timestamp_url: str,
    document_sha256: str,
    verification_url: str,
) -> tuple[int, float]:
    """A last page « Signatures »: the table of every signatory, the seal and the timestamp.

    Drawn with the stamp's embedded font. In a tagged PDF its text is in the structure tree (a
    /Sect with an /H1, /P paragraphs and a /Table of /TR, /TH and /TD), its rules are artifacts.
    Returns the page's index and the height (points from the bottom) under which the page is free.
    """
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PageObject

    title_engine = _stamp_font(16).create_font_engine(writer)
    body = _stamp_font(TABLE_SIZE).create_font_engine(writer)
    tree = _structure(writer)
    page = _TaggedPage(writer, tree is not None)
    # (structure type, MCIDs, attributes) in reading order; table rows grouped below.
    blocks: list = []

    def shaped(engine, text):
        return engine.shape(_stamp_text(text), with_actual_text=False).graphics_ops

    y = PAGE_HEIGHT - MARGIN - 10
    mcid = page.content(page.text("F1", 16, MARGIN, y, shaped(title_engine, "Signatures")))
    blocks.append(("H1", [mcid], {}))
    y -= 24

    def paragraph(text: str, gap: float = 4):
        nonlocal y
        ids = []
        for line in _wrap(body, _stamp_text(text), PAGE_WIDTH - 2 * MARGIN):
            ids.append(page.content(page.text("F2", TABLE_SIZE, MARGIN, y, shaped(body, line))))
            y -= TABLE_LEADING
        blocks.append(("P", ids, {}))
        y -= gap

    paragraph(
        f"Cette convention a été signée électroniquement par {_count(len(signatories))}, dans la plateforme "
        "Ancrage, puis scellée par la plateforme. Chaque signature est une signature électronique simple "
        "au sens du règlement eIDAS."
    )
    y -= 6
    rows = [[c for c, _ in COLUMNS]] + [
        [s.name, s.role, s.organisation, _date_heure(s.signed_on)] for s in signatories
    ]
    table_rows, y = _draw_table(page, body, rows, y, shaped)
    blocks.append(("Table", table_rows, {}))

    validity = f"valable du {seal.not_before:%d/%m/%Y} au {seal.not_after:%d/%m/%Y}"
    paragraph(
        f"Sceau de la plateforme : certificat « {seal.subject} », émis par « {seal.issuer} »"
        + (
            " (certificat auto-signé : il prouve l'intégrité du document, pas son origine)"
            if seal.self_signed
            else ""
        )
        + f", numéro de série {seal.serial}, {validity}. Empreinte SHA-256 du certificat : {seal.sha256}."
    )
    if timestamp_url:
        paragraph(
            f"Horodatage : jeton RFC 3161 de l'autorité d'horodatage {timestamp_url}, demandé au scellement. "
            "L'heure qu'il certifie est dans la signature et s'affiche à la vérification."
        )
    else:
        paragraph(
            "Horodatage : aucun. La date du sceau est celle de l'horloge de la plateforme (profil PAdES B-B)."
        )
    paragraph(f"Empreinte SHA-256 du document validé par les parties, avant ce sceau : {document_sha256}.")
    if verification_url:
        paragraph(f"Vérifier ce document : {verification_url}")
    else:
        paragraph(
            "Vérifier ce document : page publique « Vérifier une convention signée » (/verifier/) d'Ancrage, "
            "ou commande « ancrage verifier »."
        )

    stream = writer.add_object(generic.StreamObject(stream_data=b"\n".join(page.ops)))
    resources = generic.DictionaryObject(
        {
            generic.pdf_name("/Font"): generic.DictionaryObject(
                {
                    generic.pdf_name("/F1"): title_engine.as_resource(),
                    generic.pdf_name("/F2"): body.as_resource(),
                }
            )
        }
    )
    new_page = PageObject(contents=stream, media_box=(0, 0, PAGE_WIDTH, PAGE_HEIGHT), resources=resources)
    new_page[generic.pdf_name("/Tabs")] = generic.pdf_name("/S")  # annotations in structure order (PDF/UA)
    writer.insert_page(new_page)
    index = int(writer.root["/Pages"]["/Count"]) - 1
    if tree is not None:
        _tag_page(writer, tree, index, blocks, len(page.mcids))
    return index, y


def _structure(writer):
    """(tree, tree_ref, parent tree's /Nums, its ref, document element ref), or None if untagged."""
    from pyhanko.pdf_utils import generic

    root = writer.root
    if "/StructTreeRoot" not in root:
        return None
    tree_ref = root.raw_get("/StructTreeRoot")
    tree = tree_ref.get_object()
    parent_tree_ref = tree.raw_get("/ParentTree")
    parent_tree = parent_tree_ref.get_object()
    if "/Nums" not in parent_tree:  # a parent tree split into /Kids: not what Ancrage writes
        return None
    document_ref = tree.raw_get("/K")
    if isinstance(document_ref, generic.ArrayObject):
        document_ref = document_ref.raw_get(0)
    if not isinstance(document_ref, generic.IndirectObject):
        return None
    return tree, tree_ref, parent_tree["/Nums"], parent_tree_ref, document_ref


def _next_parent_key(tree, nums) -> int:
    keys = [int(nums.raw_get(i)) for i in range(0, len(nums), 2)]
    return max([*keys, int(tree.get("/ParentTreeNextKey", 0)) - 1]) + 1


def _tag_page(writer, structure, page_index: int, blocks, mcid_count: int) -> None:
    from pyhanko.pdf_utils import generic

    name = generic.pdf_name
    tree, tree_ref, nums, parent_tree_ref, document_ref = structure
    page_ref = writer.find_page_for_modification(page_index)[0]
    by_mcid: list = [None] * mcid_count

    def element(kind: str, parent, kids=None, mcids=(), attributes=None):
        elem = generic.DictionaryObject(
            {
                name("/Type"): name("/StructElem"),
                name("/S"): name(f"/{kind}"),
                name("/P"): parent,
                name("/Pg"): page_ref,
            }
        )
        if attributes:
            elem[name("/A")] = attributes
        ref = writer.add_object(elem)
        if mcids:
            elem[name("/K")] = generic.ArrayObject(generic.NumberObject(m) for m in mcids)
            for m in mcids:
                by_mcid[m] = ref
        elif kids is not None:
            elem[name("/K")] = generic.ArrayObject(kids)
        return ref

    section = writer.add_object(
        generic.DictionaryObject(
            {name("/Type"): name("/StructElem"), name("/S"): name("/Sect"), name("/P"): document_ref}
        )
    )
    section_kids = []
    for kind, content, _attrs in blocks:
        if kind != "Table":
            section_kids.append(element(kind, section, mcids=content))
            continue
        table = writer.add_object(
            generic.DictionaryObject(
                {name("/Type"): name("/StructElem"), name("/S"): name("/Table"), name("/P"): section}
            )
        )
        row_refs = []
        for cell_kind, cells in content:
            row = writer.add_object(
                generic.DictionaryObject(
                    {name("/Type"): name("/StructElem"), name("/S"): name("/TR"), name("/P"): table}
                )
            )
            scope = (
                generic.DictionaryObject({name("/O"): name("/Table"), name("/Scope"): name("/Column")})
                if cell_kind == "TH"
                else None
            )
            cell_refs = [element(cell_kind, row, mcids=ids, attributes=scope) for ids in cells]
            row.get_object()[name("/K")] = generic.ArrayObject(cell_refs)
            row_refs.append(row)
        table.get_object()[name("/K")] = generic.ArrayObject(row_refs)
        section_kids.append(table)
    section.get_object()[name("/K")] = generic.ArrayObject(section_kids)

    document = document_ref.get_object()
    kids = document.get("/K")
    if isinstance(kids, generic.ArrayObject):
        kids.append(section)
    else:
        document[name("/K")] = generic.ArrayObject([kids, section] if kids is not None else [section])
    key = _next_parent_key(tree, nums)
    nums.extend([generic.NumberObject(key), writer.add_object(generic.ArrayObject(by_mcid))])
    tree[name("/ParentTreeNextKey")] = generic.NumberObject(key + 1)
    page_ref.get_object()[name("/StructParents")] = generic.NumberObject(key)
    for ref in (document_ref, parent_tree_ref, tree_ref, page_ref):
        if isinstance(ref, generic.IndirectObject):
            writer.mark_update(ref)


# --- Verification -------------------------------------------------------------


@dataclass
class TimestampReport:
    time: dt.datetime
    authority: str  # the TSA certificate's subject
    intact: bool  # the token is cryptographically sound and matches the signature
    trusted: bool  # the TSA's certificate chains to one of ``trusted_tsa_certificates``


@dataclass
class SignatureReport:
    field_name: str
    signer: str
    signing_time: dt.datetime | None
    intact: bool
    covers_whole_file: bool
    trusted: bool
    certified_unchanged: bool
    timestamp: TimestampReport | None = None
    validation_data: bool = False  # a DSS with the certificates (B-LT)
    certificate: CertificateSummary | None = None

    @property
    def level(self) -> str:
        if self.timestamp is None:
            return "B-B"
        return "B-LT" if self.validation_data else "B-T"


@dataclass
class VerificationResult:
    ok: bool
    sha256: str
    messages: list[str] = field(default_factory=list)  # French, for the user
    signatures: list[SignatureReport] = field(default_factory=list)
    # The signatories recorded in the sealed revision (signataires.json), when the seal is intact.
    record: dict | None = None

    def __str__(self) -> str:
        verdict = "VALIDE" if self.ok else "NON VALIDE"
        return "\n".join([f"Résultat : {verdict}", f"Empreinte SHA-256 : {self.sha256}", *self.messages])


def verify_pdf(
    data: bytes,
    *,
    trusted_certificates: Sequence[str | os.PathLike | bytes] = (),
    trusted_tsa_certificates: Sequence[str | os.PathLike | bytes] = (),
    expected_sha256: str | None = None,
) -> VerificationResult:
    """Check the seal of a signed convention; never raises on bad input.

    The result is ``ok`` when every signature is intact, the last one covers
    the whole file (or only validation data was added after it, as PAdES B-LT
    does), the certified document has not been changed since, and
    the bytes of the signature container are exactly those written at signing
    time (so that no byte of the file can change unnoticed). When
    ``trusted_certificates`` (PEM/DER paths or bytes, e.g. the platform's
    certificate) are given, the signer must also chain to one of them. When
    ``expected_sha256`` (the hash recorded at signing) is given, the file must
    match it exactly. A timestamp is reported (time, authority, soundness); it is
    ``trusted`` only against ``trusted_tsa_certificates``.
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
        return _verify(data, result, trusted_certificates, trusted_tsa_certificates)
    except Exception:
        # A malformed or tampered file can make the PDF parser or the CMS
        # decoder fail anywhere; for the user this is one verdict.
        result.ok = False
        result.signatures.clear()
        result.record = None
        result.messages = [
            "Le fichier est endommagé ou a été modifié : sa signature électronique ne peut pas être vérifiée."
        ]
        return result


@contextlib.contextmanager
def _quiet_pyhanko():
    """pyHanko logs a traceback for every certificate it cannot chain; the result says it already."""
    import logging

    loggers = [logging.getLogger(n) for n in ("pyhanko", "pyhanko_certvalidator")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _common_name(cert) -> str:
    return cert.subject.native.get("common_name") or cert.subject.human_friendly


def _timestamp_report(ts, with_roots: bool) -> TimestampReport | None:
    if ts is None:
        return None
    return TimestampReport(
        time=ts.timestamp,
        authority=_common_name(ts.signing_cert) if ts.signing_cert else "inconnue",
        intact=bool(ts.intact and ts.valid),
        trusted=bool(ts.trusted) if with_roots else False,
    )


def _only_whitespace_after_last_eof(data: bytes) -> bool:
    end = data.rfind(b"%%EOF")
    return end >= 0 and not data[end + 5 :].strip()


MAX_REVISIONS = 20


def _too_many_revisions(reader, result: VerificationResult) -> bool:
    """pyHanko's analysis of what changed runs over every revision: bound its cost. A sealed
    convention has 2 or 3 (the document, the seal, the validation data)."""
    revisions = reader.xrefs.total_revisions
    if revisions <= MAX_REVISIONS:
        return False
    result.messages.append(
        f"Le document a été modifié {revisions - 1} fois après sa création : "
        "ce n'est pas une convention scellée par Ancrage, il n'est pas vérifié."
    )
    return True


def _verify(data: bytes, result: VerificationResult, trusted_certificates, trusted_tsa) -> VerificationResult:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    if not data.startswith(b"%PDF-"):
        result.messages.append("Le fichier n'est pas un document PDF.")
        return result
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    if _too_many_revisions(reader, result):
        return result
    embedded = reader.embedded_signatures
    if not embedded:
        result.messages.append("Le document ne comporte aucune signature électronique.")
        return result

    roots = [_load_certificate(c) for c in trusted_certificates]
    tsa_roots = [_load_certificate(c) for c in trusted_tsa]
    has_dss = "/DSS" in reader.root
    all_ok = True
    for index, sig in enumerate(embedded):
        is_last = index == len(embedded) - 1
        # Always explicit: an implicit context would fall back to the OS TLS trust
        # list, which says nothing about a document seal (and is deprecated in pyHanko).
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        ts_context = ValidationContext(trust_roots=tsa_roots, allow_fetching=False)
        with _quiet_pyhanko():
            status = validate_pdf_signature(
                sig, signer_validation_context=context, ts_validation_context=ts_context
            )
        canonical = _contents_are_canonical(data, sig)
        intact = bool(status.intact and status.valid and canonical)
        # After a B-LT seal, the file ends with a revision that only adds validation data (DSS).
        covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
            status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and status.modification_level is not None
            and status.modification_level <= ModificationLevel.LTA_UPDATES
            and _only_whitespace_after_last_eof(data)
        )
        unchanged = status.docmdp_ok is not False
        trusted = bool(status.trusted) if roots else False
        signer = status.signing_cert.subject.human_friendly if status.signing_cert else "inconnu"
        timestamp = _timestamp_report(status.timestamp_validity, bool(tsa_roots))
        report = SignatureReport(
            field_name=sig.field_name,
            signer=signer,
            signing_time=status.signer_reported_dt,
            intact=intact,
            covers_whole_file=covers,
            trusted=trusted,
            certified_unchanged=unchanged,
            timestamp=timestamp,
            validation_data=has_dss and is_last,
            certificate=seal_certificate_summary(status.signing_cert.dump()) if status.signing_cert else None,
        )
        result.signatures.append(report)
        if intact:
            result.messages.append(f"Signature « {sig.field_name} » ({signer}) : intègre.")
        else:
            all_ok = False
            result.messages.append(
                f"Signature « {sig.field_name} » : le contenu signé a été modifié, "
                "la signature n'est plus valide."
            )
        if timestamp is not None and not timestamp.intact:
            all_ok = False
            result.messages.append(
                "L'horodatage de la signature est altéré ou ne correspond pas à la signature."
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
        if is_last and intact and sig.field_name == FIELD_NAME:
            result.record = read_record(reader, sig)
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
