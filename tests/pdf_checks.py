"""What poppler's tools and the XMP packet say of a PDF, for the tests marked ``poppler``."""

import io
import re
import subprocess
from pathlib import Path

from pypdf import PdfReader


def _run(*command) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout


def pdfinfo(path: Path) -> dict[str, str]:
    """``pdfinfo``'s fields ("Tagged", "PDF subtype", "Title"…), without the subtype's details."""
    fields = {}
    for line in _run("pdfinfo", str(path)).splitlines():
        if line.startswith(" ") or ":" not in line:
            continue  # the indented lines detail the subtype (its standard, its title)
        key, value = line.split(":", 1)
        fields[key.strip()] = value.strip()
    return fields


def embedded_fonts(path: Path) -> list[tuple[str, bool]]:
    """Each font ``pdffonts`` lists, with its "emb" column."""
    rows = _run("pdffonts", str(path)).splitlines()[2:]  # below the header and its rule
    # A font's name is as long as it is, and its type may hold spaces ("CID TrueType"): read the
    # five last columns (emb, sub, uni, object number, generation) from the right.
    return [(row.split()[0], row.split()[-5] == "yes") for row in rows]


def pdftotext(path: Path) -> str:
    return _run("pdftotext", "-enc", "UTF-8", str(path), "-")


_XMP_ID = re.compile(r'(?<!/)(pdfu?a?id:(?:part|conformance))(?:="([^"]*)"|>([^<]*)<)')


def xmp_identification(pdf: bytes) -> dict[str, str]:
    """The PDF/A and PDF/UA identification of the XMP packet (pdfaid:part, pdfuaid:part…)."""
    metadata = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object().get_data()
    return {key: attr or text for key, attr, text in _XMP_ID.findall(metadata.decode("utf-8"))}


def figures_without_alt(pdf: bytes) -> list[str]:
    """The /Figure elements of the structure tree with no alternate text (PDF/UA wants one each)."""
    from pypdf.generic import ArrayObject, DictionaryObject

    missing = []
    pending = [PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/StructTreeRoot"]]
    while pending:
        node = pending.pop().get_object()
        if isinstance(node, ArrayObject):
            pending.extend(node)
        elif isinstance(node, DictionaryObject):
            if node.get("/S") == "/Figure" and not node.get("/Alt"):
                missing.append(str(node.get("/A", "")))
            if "/K" in node:
                pending.append(node["/K"])
    return missing
