"""The national standard's columns, as its table schema (``data/schema.json``) states them, and
the place (:class:`Lieu`) that reading gives and writing takes.

Pure module: no Django.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ancrage.core.importing import ImportIssue, ImportRejected
from ancrage.partenaires import enums_standard
from ancrage.partenaires.identifiers import pivot_kind

SCHEMA: dict[str, Any] = json.loads(enums_standard.SCHEMA_PATH.read_text(encoding="utf-8"))
STANDARD_VERSION = SCHEMA["version"]
FIELDS: tuple[str, ...] = tuple(f["name"] for f in SCHEMA["fields"])
REQUIRED_FIELDS: tuple[str, ...] = tuple(
    f["name"] for f in SCHEMA["fields"] if f["constraints"].get("required")
)
FIELD_TITLES: dict[str, str] = {f["name"]: f["title"] for f in SCHEMA["fields"]}

# The multi-valued columns: every enumerated one (the schema's pattern repeats its values around
# "|"; typologie's description and example say so), and three of free text: the schema says so of
# courriels and site_web, and the Cartographie's data and the ANCT library hold
# autres_formations_labels as a list.
FREE_LIST_COLUMNS: tuple[str, ...] = ("courriels", "site_web", "autres_formations_labels")
MULTI_VALUED = frozenset(enums_standard.ENUM_COLUMNS) | frozenset(FREE_LIST_COLUMNS)
#: The same, in the schema's order.
MULTI_VALUED_COLUMNS: tuple[str, ...] = tuple(name for name in FIELDS if name in MULTI_VALUED)
SEPARATOR = "|"

# The Cartographie nationale writes these when it does not know a value; they carry nothing.
UNKNOWN_PIVOT = "00000000000000"
PLACEHOLDER_DATE = date(1970, 1, 1)
RESUME_MAX_LENGTH = next(
    f["constraints"]["maxLength"] for f in SCHEMA["fields"] if f["name"] == "presentation_resume"
)


@dataclass(frozen=True)
class Lieu:
    """One place (a partner or the EPN itself) as the standard describes it, normalised.

    Text is stripped, multi-valued cells are tuples of canonical values, unknown values are
    empty (``""``, ``None`` or ``()``). ``legacy`` keeps, as ``(key, value)`` pairs, what the
    file held that version 1.0.2 of the standard cannot carry, so the user can still read it.
    """

    id: str
    nom: str
    commune: str
    code_postal: str
    adresse: str
    pivot: str = ""
    code_insee: str = ""
    complement_adresse: str = ""
    latitude: float | None = None
    longitude: float | None = None
    typologie: tuple[str, ...] = ()
    telephone: str = ""
    courriels: tuple[str, ...] = ()
    site_web: tuple[str, ...] = ()
    horaires: str = ""
    presentation_resume: str = ""
    presentation_detail: str = ""
    source: str = ""
    itinerance: tuple[str, ...] = ()
    structure_parente: str = ""
    date_maj: date | None = None
    services: tuple[str, ...] = ()
    publics_specifiquement_adresses: tuple[str, ...] = ()
    prise_en_charge_specifique: tuple[str, ...] = ()
    frais_a_charge: tuple[str, ...] = ()
    dispositif_programmes_nationaux: tuple[str, ...] = ()
    formations_labels: tuple[str, ...] = ()
    autres_formations_labels: tuple[str, ...] = ()
    modalites_acces: tuple[str, ...] = ()
    modalites_accompagnement: tuple[str, ...] = ()
    fiche_acces_libre: str = ""
    prise_rdv: str = ""
    legacy: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def siret(self) -> str:
        return self.pivot if pivot_kind(self.pivot) == "siret" else ""

    @property
    def rna(self) -> str:
        return self.pivot if pivot_kind(self.pivot) == "rna" else ""

    def standard_values(self) -> dict[str, Any]:
        """Everything the standard can carry, keyed by column (what a round trip must keep)."""
        values = asdict(self)
        values.pop("legacy")
        return values


@dataclass
class ImportResult:
    lieux: list[Lieu] = field(default_factory=list)
    rejected: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    records_read: int = 0

    @property
    def issues(self) -> list[ImportIssue]:
        return self.rejected + self.warnings


class StandardExportError(ValueError):
    """Places that cannot be written in the standard; ``issues`` says which and why, in French."""

    def __init__(self, issues: list[ImportIssue]):
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues[:20]))


def decode(data: bytes | str, file: str | None) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected(
            [
                ImportIssue(
                    f"le fichier n'est pas encodé en UTF-8 (octet illisible à la position {error.start}). "
                    "Enregistrez-le en « CSV UTF-8 » ou en JSON UTF-8 puis réessayez.",
                    file=file,
                )
            ]
        ) from None
