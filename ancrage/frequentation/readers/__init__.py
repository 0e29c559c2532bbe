"""Read attendance (fréquentation) files into normalised records.

Pure module: no Django. Three sources, one module each:

* Ancrage's own usagers file (one row per person, see ``docs/formats/usagers.md``):
  :mod:`.usagers` (the columns, the fields, the per-row reference reader) and :mod:`.stream`
  (the streamed, vectorised reader, over the columnar records of :mod:`.columns`);
* the XLSX activity export of La Coop de la médiation numérique (one row per accompaniment,
  sectors are communes, see ``design/COOP_EXPORT.md``): :mod:`.coop`;
* aggregated counts ``code_secteur;dimension;categorie;usagers``: :mod:`.agrege`.

:mod:`.labels` (label matching, age bands), :mod:`.records` (what the readers return) and
:mod:`.csvtext` (the CSV table) are shared. This package's namespace is the readers' public
interface: callers use ``readers.read_usagers``, ``readers.Frequentation``…

Each reader returns a :class:`Frequentation` with every record, or raises
:class:`ImportRejected` with every problem found (French, located): nothing is half-read.
"""

from __future__ import annotations

from ancrage.frequentation.readers.agrege import AGREGE_COLUMNS, CATEGORY_CODES, read_aggregated
from ancrage.frequentation.readers.columns import Coded, UsagerChunk, UsagerColumns, hash_bytes
from ancrage.frequentation.readers.coop import (
    COOP_COLUMNS,
    COOP_REQUIRED,
    COOP_SEXE,
    COOP_STATUT,
    NON_COMMUNIQUE,
    read_coop_export,
)
from ancrage.frequentation.readers.csvtext import csv_table
from ancrage.frequentation.readers.labels import (
    COOP_TRANCHES_AGE,
    MAX_AGE,
    AgeBand,
    band_label,
    fold_label,
    parse_age_band,
)
from ancrage.frequentation.readers.records import (
    Accompagnement,
    CompteAgrege,
    Frequentation,
    Progress,
    Usager,
)
from ancrage.frequentation.readers.stream import (
    CHUNK_BYTES,
    HEAD_BYTES,
    UsagersStream,
    read_usagers,
    scan_usagers,
)
from ancrage.frequentation.readers.usagers import (
    NON_PLACES,
    SITUATIONS,
    TEMPLATE_PATH,
    USAGERS_COLUMNS,
    USAGERS_REQUIRED,
    read_usagers_exact,
)
from ancrage.territoire.insee import Source

__all__ = [
    "AGREGE_COLUMNS",
    "CATEGORY_CODES",
    "CHUNK_BYTES",
    "COOP_COLUMNS",
    "COOP_REQUIRED",
    "COOP_SEXE",
    "COOP_STATUT",
    "COOP_TRANCHES_AGE",
    "HEAD_BYTES",
    "MAX_AGE",
    "NON_COMMUNIQUE",
    "NON_PLACES",
    "SITUATIONS",
    "TEMPLATE_PATH",
    "USAGERS_COLUMNS",
    "USAGERS_REQUIRED",
    "Accompagnement",
    "AgeBand",
    "Coded",
    "CompteAgrege",
    "Frequentation",
    "Progress",
    "Usager",
    "UsagerChunk",
    "UsagerColumns",
    "UsagersStream",
    "band_label",
    "csv_table",
    "fold_label",
    "hash_bytes",
    "parse_age_band",
    "read_aggregated",
    "read_coop_export",
    "read_frequentation",
    "read_usagers",
    "read_usagers_exact",
    "scan_usagers",
]


def read_frequentation(
    source: Source, filename: str | None = None, *, format: str = "ancrage", **options
) -> Frequentation:
    """Dispatch on ``format``: ``ancrage`` (usagers CSV), ``coop`` (La Coop XLSX) or ``agrege``."""
    readers = {"ancrage": read_usagers, "coop": read_coop_export, "agrege": read_aggregated}
    if format not in readers:
        raise ValueError(f"Format de fréquentation inconnu : {format!r}.")
    return readers[format](source, filename, **options)
