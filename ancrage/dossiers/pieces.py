"""Checks on a dossier's attachment before it is stored.

Pure module: no Django. The kinds a collectivité expects in a dossier (PDF, images, office
documents) are recognised by their first bytes, never by the extension the browser sends; office
documents are zip archives and go through ``safe_files.check_zip`` (zip bombs, traversal, DTDs).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass

from ancrage.core.importing import ImportRejected
from ancrage.core.safe_files import MIB, check_zip

MAX_SIZE = 10 * MIB
MAX_PIECES = 20

KINDS = {
    "pdf": ("application/pdf", "document PDF"),
    "png": ("image/png", "image PNG"),
    "jpeg": ("image/jpeg", "image JPEG"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document Word"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "classeur Excel"),
    "odt": ("application/vnd.oasis.opendocument.text", "document OpenDocument (texte)"),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", "classeur OpenDocument"),
}
ACCEPTED_LABEL = "PDF, PNG, JPEG, Word (.docx), Excel (.xlsx), OpenDocument (.odt, .ods)"


class PieceRefused(ValueError):
    """The message is in French and names the file."""


@dataclass(frozen=True)
class CheckedPiece:
    kind: str
    content_type: str
    size: int
    sha256: str


def _zip_kind(data: bytes) -> str | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "mimetype" in names:
            mimetype = archive.read("mimetype")[:100]
            if mimetype == KINDS["odt"][0].encode():
                return "odt"
            if mimetype == KINDS["ods"][0].encode():
                return "ods"
    except Exception:  # a damaged archive is simply not an accepted kind
        return None
    return None


def sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    return None


def safe_name(filename: str) -> str:
    """The file's own name, without any folder, control character or quote, at most 200 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name.strip()[-200:] or "piece-jointe"


def check_piece(data: bytes, filename: str, *, max_size: int = MAX_SIZE) -> CheckedPiece:
    if not data:
        raise PieceRefused(f"« {filename} » : le fichier est vide.")
    if len(data) > max_size:
        raise PieceRefused(
            f"« {filename} » pèse {len(data) / MIB:.1f} Mo, au-delà de la limite de {max_size // MIB} Mo."
        )
    kind = sniff(data)
    if kind is None:
        raise PieceRefused(
            f"« {filename} » : type de fichier non accepté. Types acceptés : {ACCEPTED_LABEL}."
        )
    if data.startswith(b"PK\x03\x04"):
        try:
            check_zip(data, filename=filename)
        except ImportRejected as error:
            raise PieceRefused(f"« {filename} » : {error.issues[0].message}") from error
    return CheckedPiece(kind, KINDS[kind][0], len(data), hashlib.sha256(data).hexdigest())
