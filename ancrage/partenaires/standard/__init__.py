"""Read and write the national standard for lieux de médiation numérique (version 1.0.2).

Pure module: no Django. Two inputs and two outputs:

- the standard's CSV (``read_csv`` / ``write_csv``): ``|`` between the values of a multi-valued
  cell (``;``, the 0.x separator, is accepted on read), UTF-8 with or without BOM;
- the JSON arrays the Cartographie nationale publishes (``read_cartographie_json`` /
  ``write_cartographie_json``): one object per place, empty keys left out, some keys from
  older versions of the standard.

Reading never stops at the first problem. A file that cannot be read at all (not UTF-8, not
JSON, no header, a required column missing) raises ``ImportRejected``. Otherwise every place
is checked: places that cannot be kept are listed in ``ImportResult.rejected``, places kept
after a correction in ``ImportResult.warnings``, each issue located and written in French.

``validate_csv`` checks any CSV against the Frictionless table schema shipped in
``data/schema.json`` (types, required, unique, patterns, lengths, enums). ``write_csv`` runs it
on its own output, so an export that would not validate is never produced.

One module per part: :mod:`.schema` (the columns, :class:`Lieu`), :mod:`.reading`,
:mod:`.duplicates` (the keys of a place, the index a directory import matches against),
:mod:`.writing` and :mod:`.validation`. This package's namespace is their
public interface (``standard.read_csv``, ``standard.Lieu``…).
"""

from __future__ import annotations

from ancrage.partenaires.standard.duplicates import (
    DirectoryIndex,
    Duplicate,
    Known,
    Match,
    address_key,
    addresses_close,
    commune_key,
    find_duplicates,
    merge_lieux,
    name_commune_key,
    place_key,
)
from ancrage.partenaires.standard.reading import (
    LEGACY_NATIONAL_LABELS,
    LEGACY_RENAMES,
    NOT_CARRIED_LEGACY_KEYS,
    normalise_telephone,
    read_cartographie_json,
    read_csv,
)
from ancrage.partenaires.standard.schema import (
    FIELD_TITLES,
    FIELDS,
    FREE_LIST_COLUMNS,
    MULTI_VALUED,
    MULTI_VALUED_COLUMNS,
    PLACEHOLDER_DATE,
    REQUIRED_FIELDS,
    RESUME_MAX_LENGTH,
    SCHEMA,
    SEPARATOR,
    STANDARD_VERSION,
    UNKNOWN_PIVOT,
    ImportResult,
    Lieu,
    StandardExportError,
)
from ancrage.partenaires.standard.validation import validate_csv, validate_rows
from ancrage.partenaires.standard.writing import (
    cartographie_item,
    lieu_from_values,
    lieu_to_row,
    write_cartographie_json,
    write_csv,
    write_csv_bytes,
)

__all__ = [
    "FIELDS",
    "FIELD_TITLES",
    "FREE_LIST_COLUMNS",
    "LEGACY_NATIONAL_LABELS",
    "LEGACY_RENAMES",
    "MULTI_VALUED",
    "MULTI_VALUED_COLUMNS",
    "NOT_CARRIED_LEGACY_KEYS",
    "PLACEHOLDER_DATE",
    "REQUIRED_FIELDS",
    "RESUME_MAX_LENGTH",
    "SCHEMA",
    "SEPARATOR",
    "STANDARD_VERSION",
    "UNKNOWN_PIVOT",
    "DirectoryIndex",
    "Duplicate",
    "Known",
    "Match",
    "address_key",
    "addresses_close",
    "cartographie_item",
    "commune_key",
    "ImportResult",
    "Lieu",
    "StandardExportError",
    "find_duplicates",
    "lieu_from_values",
    "lieu_to_row",
    "merge_lieux",
    "name_commune_key",
    "normalise_telephone",
    "place_key",
    "read_cartographie_json",
    "read_csv",
    "validate_csv",
    "validate_rows",
    "write_cartographie_json",
    "write_csv",
    "write_csv_bytes",
]
