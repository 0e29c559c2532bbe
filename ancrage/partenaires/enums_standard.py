"""Enumerations of the national standard for lieux de médiation numérique, with French labels.

Source: ``ancrage/partenaires/data/enums.json`` (see the SOURCE.md beside it), extracted from the
npm package @gouvfr-anct/lieux-de-mediation-numerique 2.3.0 (ANCT, MIT licence), and the
typology labels of La Coop de la médiation numérique. The file is read once, at import; nothing
here is typed by hand, so a new version of the standard is a copy of that file.

Each enumeration is a tuple of ``(value, label)`` pairs, ready for Django ``choices``. For every
enumeration but the typology, the value written in the standard's CSV *is* the French label.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from types import MappingProxyType

DATA_DIR = Path(__file__).resolve().parent / "data"
ENUMS_PATH = DATA_DIR / "enums.json"
SCHEMA_PATH = DATA_DIR / "schema.json"

_RAW = json.loads(ENUMS_PATH.read_text(encoding="utf-8"))


def _values(name: str) -> tuple[tuple[str, str], ...]:
    return tuple((item["value"], item["value"]) for item in _RAW[name])


SERVICES = _values("Service")
PUBLICS_SPECIFIQUEMENT_ADRESSES = _values("PublicSpecifiquementAdresse")
PRISES_EN_CHARGE_SPECIFIQUES = _values("PriseEnChargeSpecifique")
MODALITES_ACCES = _values("ModaliteAcces")
MODALITES_ACCOMPAGNEMENT = _values("ModaliteAccompagnement")
FRAIS_A_CHARGE = _values("Frais")
ITINERANCES = _values("Itinerance")
DISPOSITIFS_PROGRAMMES_NATIONAUX = _values("DispositifProgrammeNational")
FORMATIONS_LABELS = _values("FormationLabel")

_TYPOLOGY_LABELS = {item["code"]: item["label"] for item in _RAW["TypologieLabels"]}
# The 92 data·inclusion structure codes, in the order of the standard, with La Coop's labels.
TYPOLOGIES = tuple(
    (item["value"], _TYPOLOGY_LABELS.get(item["value"], item["value"])) for item in _RAW["Typologie"]
)
TYPOLOGY_LABELS = MappingProxyType(dict(TYPOLOGIES))

# Standard CSV column -> its enumeration, for the multi-valued columns whose values are restricted.
ENUM_COLUMNS = MappingProxyType(
    {
        "services": SERVICES,
        "publics_specifiquement_adresses": PUBLICS_SPECIFIQUEMENT_ADRESSES,
        "prise_en_charge_specifique": PRISES_EN_CHARGE_SPECIFIQUES,
        "frais_a_charge": FRAIS_A_CHARGE,
        "itinerance": ITINERANCES,
        "dispositif_programmes_nationaux": DISPOSITIFS_PROGRAMMES_NATIONAUX,
        "formations_labels": FORMATIONS_LABELS,
        "modalites_acces": MODALITES_ACCES,
        "modalites_accompagnement": MODALITES_ACCOMPAGNEMENT,
        "typologie": TYPOLOGIES,
    }
)


def typology_label(code: str) -> str:
    """French label of a typology code ("CCAS" -> "Centres communaux d’action sociale (CCAS)")."""
    return TYPOLOGY_LABELS.get(code, code)


def match_key(text: str) -> str:
    """A loose key to recognise a value typed with other accents, case, spaces or apostrophes."""
    text = text.replace("’", "'").replace("\u00a0", " ")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    return "".join(char for char in text.casefold() if char.isalnum())


def lookup(column: str, text: str) -> str | None:
    """The canonical value of ``text`` in the enumeration of ``column``, or None if it has none."""
    table = _LOOKUP.get(column)
    if table is None:
        raise KeyError(column)
    return table.get(match_key(text))


def _build_lookup() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for column, pairs in ENUM_COLUMNS.items():
        table = {match_key(value): value for value, _label in pairs}
        if column == "typologie":
            table.update({match_key(label): value for value, label in pairs})
        tables[column] = table
    return tables


_LOOKUP = _build_lookup()
