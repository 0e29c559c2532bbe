"""Checks on an uploaded file before any parser opens it.

Pure module: no Django. Importers call ``check_upload`` first, with the file's bytes and the
kinds they accept. It refuses, with a French message located on the file:

- a file larger than the size limit;
- a file whose content is not of an accepted kind (the extension alone is not trusted);
- for XLSX and DOCX (zip archives): too many entries, a total uncompressed size or a compression
  ratio that betrays a zip bomb, encrypted entries, and entry names that would escape a folder;
- XML parts that declare a DTD or entities (billion laughs, external entities), detected with
  defusedxml while streaming each part, without building its tree.

Zip sizes are read from the archive's directory; Python's zipfile never inflates an entry beyond
its declared size, so the declared sizes bound what a parser can be made to inflate.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from ancrage.core.importing import ImportIssue, ImportRejected

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_size: int = 20 * MIB  # the file as uploaded
    max_uncompressed: int = 200 * MIB  # all entries of a zip, inflated
    max_ratio: int = 100  # inflated / compressed, per entry and overall
    max_entries: int = 10_000


DEFAULT_LIMITS = Limits()

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and .doc)
SQLITE_MAGIC = b"SQLite format 3\x00"  # a GeoPackage is a SQLite database
SHP_MAGIC = b"\x00\x00\x27\x0a"  # a shapefile's .shp (file code 9994)
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"  # how IGN ships its outlines
PDF_MAGIC = b"%PDF-"
KIND_LABELS = {
    "csv": "CSV",
    "json": "JSON",
    "xlsx": "classeur Excel (.xlsx)",
    "xls": "classeur Excel 97-2003 (.xls)",
    "docx": "document Word (.docx)",
    "zip": "archive .zip",
    "gpkg": "GeoPackage (.gpkg)",
    "shp": "shapefile (.shp)",
    "7z": "archive .7z",
    "pdf": "document PDF",
}
XML_SUFFIXES = (".xml", ".rels", ".vml")
_CHUNK = 64 * 1024


def _reject(message: str, filename: str | None) -> ImportRejected:
    return ImportRejected([ImportIssue(message, file=filename)])


def _human(size: int) -> str:
    if size >= MIB:
        return f"{size / MIB:.0f} Mo"
    return f"{max(1, size // 1024)} Ko"


def sniff_kind(data: bytes) -> str:
    """What the bytes are: "xlsx", "docx", "zip" (another archive), "xls", "gpkg", "shp", "7z",
    "pdf", "json" or "csv" (text)."""
    if data.startswith(ZIP_MAGIC):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except Exception:  # any damage: check_zip says what is wrong with it
            return "zip"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "word/document.xml" in names:
            return "docx"
        return "zip"
    if data.startswith(OLE_MAGIC):
        return "xls"
    if data.startswith(SQLITE_MAGIC):
        return "gpkg"
    if data.startswith(SHP_MAGIC):
        return "shp"
    if data.startswith(SEVEN_ZIP_MAGIC):
        return "7z"
    if data.startswith(PDF_MAGIC):
        return "pdf"
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "json"
    return "csv"


def check_upload(
    data: bytes,
    *,
    filename: str | None = None,
    accept: set[str] | frozenset[str] = frozenset({"csv"}),
    limits: Limits = DEFAULT_LIMITS,
    size: int | None = None,
) -> str:
    """Check ``data`` before parsing it; return its kind, or raise ``ImportRejected``.

    ``size``: the file's size when ``data`` is only its head (a large CSV read from disk by
    blocks). The kind of a text file is read from its head; an archive needs its whole bytes.
    """
    size = len(data) if size is None else size
    if size > limits.max_size:
        raise _reject(
            f"le fichier pèse {_human(size)}, au-delà de la limite de {_human(limits.max_size)}.",
            filename,
        )
    if not size:
        raise _reject("le fichier est vide.", filename)
    kind = sniff_kind(data)
    if kind not in accept:
        expected = ", ".join(KIND_LABELS.get(k, k) for k in sorted(accept))
        found = KIND_LABELS.get(kind, "archive zip" if kind == "zip" else kind)
        raise _reject(f"le contenu du fichier n’est pas du type attendu ({expected}) : {found}.", filename)
    if kind in {"xlsx", "docx", "zip"}:
        if len(data) != size:
            raise ValueError("An archive is checked on its whole bytes, not on its head.")
        check_zip(data, filename=filename, limits=limits)
    return kind


def _unsafe_name(name: str) -> bool:
    if "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in posixpath.normpath(name).split("/")


def check_zip(data: bytes, *, filename: str | None = None, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse zip bombs, traversal paths, encrypted entries and XML with DTDs or entities."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    # A damaged archive fails in many ways (zlib, struct, zipfile, …): all mean "unreadable".
    except Exception as error:
        raise _reject("le fichier est endommagé ou n’est pas une archive lisible.", filename) from error
    if len(entries) > limits.max_entries:
        raise _reject(
            f"l’archive contient {len(entries)} éléments, au-delà de la limite de {limits.max_entries}.",
            filename,
        )
    total = 0
    compressed = 0
    for entry in entries:
        if _unsafe_name(entry.filename):
            raise _reject(f"l’archive contient un chemin interdit : « {entry.filename[:100]} ».", filename)
        if entry.flag_bits & 0x1:
            raise _reject("l’archive est chiffrée : enregistrez le fichier sans mot de passe.", filename)
        total += entry.file_size
        compressed += entry.compress_size
        if total > limits.max_uncompressed:
            raise _reject(
                f"décompressé, le fichier dépasserait {_human(limits.max_uncompressed)} : il est refusé.",
                filename,
            )
        if entry.file_size > MIB and entry.file_size > limits.max_ratio * max(entry.compress_size, 1):
            raise _reject(
                "le fichier est anormalement compressé (possible « bombe zip ») : il est refusé.", filename
            )
    if total > MIB and total > limits.max_ratio * max(compressed, 1):
        raise _reject(
            "le fichier est anormalement compressé (possible « bombe zip ») : il est refusé.", filename
        )
    for entry in entries:
        if entry.filename.lower().endswith(XML_SUFFIXES):
            _check_xml(archive, entry, filename)


class _Discard:
    """An ElementTree target that keeps nothing: the part is checked, not loaded."""

    def start(self, tag, attrs):
        pass

    def end(self, tag):
        pass

    def data(self, text):
        pass

    def close(self):
        return None


def _check_xml(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, filename: str | None) -> None:
    parser = DefusedXMLParser(target=_Discard(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(_CHUNK):
                parser.feed(chunk)
        parser.close()
    except DefusedXmlException as error:
        raise _reject(
            f"la partie « {entry.filename} » déclare des entités XML (DTD), refusées par sécurité.", filename
        ) from error
    except Exception as error:  # damaged XML (ParseError) or a damaged deflate stream alike
        raise _reject(f"la partie « {entry.filename} » est endommagée.", filename) from error
