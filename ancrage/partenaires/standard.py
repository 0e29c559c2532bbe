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
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any

from ancrage.core import csv_safe
from ancrage.core.importing import ImportIssue, ImportRejected
from ancrage.partenaires import enums_standard
from ancrage.partenaires.identifiers import (
    InvalidIdentifier,
    normalise,
    pivot_kind,
    validate_code_insee,
    validate_siret,
)

SCHEMA: dict[str, Any] = json.loads(enums_standard.SCHEMA_PATH.read_text(encoding="utf-8"))
STANDARD_VERSION = SCHEMA["version"]
FIELDS: tuple[str, ...] = tuple(f["name"] for f in SCHEMA["fields"])
REQUIRED_FIELDS: tuple[str, ...] = tuple(
    f["name"] for f in SCHEMA["fields"] if f["constraints"].get("required")
)
FIELD_TITLES: dict[str, str] = {f["name"]: f["title"] for f in SCHEMA["fields"]}

MULTI_VALUED = frozenset(
    {
        "typologie",
        "courriels",
        "site_web",
        "itinerance",
        "services",
        "publics_specifiquement_adresses",
        "prise_en_charge_specifique",
        "frais_a_charge",
        "dispositif_programmes_nationaux",
        "formations_labels",
        "autres_formations_labels",
        "modalites_acces",
        "modalites_accompagnement",
    }
)
SEPARATOR = "|"
_READ_SEPARATORS = re.compile(r"[|;]")

# The Cartographie nationale writes these when it does not know a value; they carry nothing.
UNKNOWN_PIVOT = "00000000000000"
PLACEHOLDER_DATE = date(1970, 1, 1)
RESUME_MAX_LENGTH = next(
    f["constraints"]["maxLength"] for f in SCHEMA["fields"] if f["name"] == "presentation_resume"
)

# schema.json's pattern for formations_labels lacks the space that enums.json has in this one
# label; writing the schema's spelling is the only way for a place holding it to validate.
_SCHEMA_SPELLING = {"Étapes numériques (La Poste)": "Étapes numériques(La Poste)"}

# Keys of the Cartographie's JSON from before version 1 of the standard, with their v1 column.
LEGACY_RENAMES = {
    "courriel": "courriels",
    "labels_autres": "autres_formations_labels",
    "accessibilite": "fiche_acces_libre",
    "conditions_acces": "frais_a_charge",
}
# labels_nationaux (v0) mixed national programmes and labels; each goes to its v1 column.
LEGACY_NATIONAL_LABELS = {
    "cnfs": ("dispositif_programmes_nationaux", "Conseillers numériques"),
    "conseillersnumeriques": ("dispositif_programmes_nationaux", "Conseillers numériques"),
    "franceservices": ("dispositif_programmes_nationaux", "France Services"),
    "aidantsconnect": ("dispositif_programmes_nationaux", "Aidants Connect"),
    "lacroixrouge": ("dispositif_programmes_nationaux", "La Croix Rouge"),
    "pointnumeriquecaf": ("dispositif_programmes_nationaux", "Point d'accès numérique CAF"),
    "promeneursdunet": ("dispositif_programmes_nationaux", "Promeneurs du net"),
    "grandesecolesdunumerique": ("dispositif_programmes_nationaux", "Grande école du numérique"),
    "fabriquesdeterritoire": ("formations_labels", "Fabriques de Territoire"),
    "sudlabs": ("formations_labels", "SUD LABS (PACA)"),
}
# publics_accueillis (v0) said who is welcome; v1's publics_specifiquement_adresses says who the
# place is *restricted to*. Mapping one onto the other would turn open places into closed ones,
# so the old value is kept aside (Lieu.legacy) and reported.
NOT_CARRIED_LEGACY_KEYS = frozenset({"publics_accueillis"})
_KNOWN_KEYS = frozenset(FIELDS) | set(LEGACY_RENAMES) | {"labels_nationaux"} | NOT_CARRIED_LEGACY_KEYS


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


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class _Record:
    """Issues of one record, located: a CSV line and column, or the n-th object of a JSON array."""

    def __init__(self, file: str | None, line: int | None, number: int | None, ident: str):
        self.file, self.line, self.number, self.ident = file, line, number, ident
        self.rejections: list[ImportIssue] = []
        self.warnings: list[ImportIssue] = []
        self.legacy: list[tuple[str, str]] = []

    def _issue(self, message: str, column: str | None) -> ImportIssue:
        if self.number is not None:
            who = f"lieu n° {self.number}" + (f" (id « {self.ident} »)" if self.ident else "")
            message = f"{who[0].upper()}{who[1:]} : {message}"
        return ImportIssue(message, file=self.file, line=self.line, column=column)

    def reject(self, message: str, column: str | None = None) -> None:
        self.rejections.append(self._issue(message, column))

    def warn(self, message: str, column: str | None = None) -> None:
        self.warnings.append(self._issue(message, column))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return "" if isinstance(value, float) and not math.isfinite(value) else str(value)
    if not isinstance(value, str):
        raise TypeError
    # JSON escapes can smuggle lone surrogates in; they cannot be written back as UTF-8.
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = _CONTROL.sub("", value).replace("\u00a0", " ")
    # A cell escaped by a spreadsheet export ("'=…", see csv_safe) reads back as it was.
    if value.startswith(csv_safe.ESCAPE) and csv_safe.is_dangerous(value[1:]):
        value = value[1:]
    return value.strip()


def _split(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        parts: list[str] = []
        for item in value:
            parts.extend(_split(item))
        return parts
    return [part.strip() for part in _READ_SEPARATORS.split(_text(value)) if part.strip()]


def _shown(value: Any, limit: int = 60) -> str:
    """A value quoted in a message, cut short: a message must stay readable."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


_PHONE_PATTERN = re.compile(
    next(f for f in SCHEMA["fields"] if f["name"] == "telephone")["constraints"]["pattern"]
)
_PIVOT_PATTERN = re.compile(
    next(f for f in SCHEMA["fields"] if f["name"] == "pivot")["constraints"]["pattern"]
)


def normalise_telephone(value: str) -> str | None:
    """The number in the standard's format (+33 without the leading 0), or None if it cannot be."""
    digits = re.sub(r"[\s.\-/()]", "", value)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"0\d{9}", digits):
        digits = "+33" + digits[1:]
    if digits.startswith("+330"):
        digits = "+33" + digits[4:]
    return digits if _PHONE_PATTERN.fullmatch(digits) else None


def _parse_date(text: str) -> date | None:
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", text)
    if match:
        year, month, day = (int(part) for part in match.groups())
    else:
        match = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", text)
        if not match:
            return None
        day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _parse_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer too large for a float
            return None
    elif not isinstance(value, str):
        return None
    else:
        text = _text(value).replace(",", ".")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
            return None
        number = float(text)
    return number if math.isfinite(number) else None


def _postal_prefix(code: str) -> str:
    return code[:3] if code.startswith("97") or code.startswith("98") else code[:2]


def _insee_prefix(code: str) -> str:
    if code.startswith("2A") or code.startswith("2B"):
        return "20"
    return _postal_prefix(code)


def _dispatch(
    key: str, value: Any, values: dict[str, Any], multi: dict[str, list[str]], rec: _Record
) -> None:
    """Put one key of a record in its v1 column, translating the keys of older versions."""
    if key in NOT_CARRIED_LEGACY_KEYS:
        text = "|".join(_split(value))
        if text:
            rec.legacy.append((key, text))
            rec.warn(
                f"la clé ancienne « {key} » ({_shown(text)}) n'a pas d'équivalent dans la version "
                f"{STANDARD_VERSION} du standard : elle est gardée en note, pas importée.",
                column=key,
            )
        return
    if key == "labels_nationaux":
        for label in _split(value):
            target = LEGACY_NATIONAL_LABELS.get(enums_standard.match_key(label))
            if target:
                multi[target[0]].append(target[1])
            else:
                multi["autres_formations_labels"].append(label)
        return
    column = LEGACY_RENAMES.get(key, key)
    if column in MULTI_VALUED:
        multi[column].extend(_split(value))
    elif column in FIELDS and (column not in values or values[column] in ("", None)):
        # When a v1 key and its older name are both there, the first non-empty one wins.
        values[column] = value


def _parse_record(raw: Mapping[str, Any], rec: _Record) -> Lieu | None:
    values: dict[str, Any] = {}
    multi: dict[str, list[str]] = {name: [] for name in MULTI_VALUED}

    for key, value in raw.items():
        try:
            _dispatch(key, value, values, multi, rec)
        except TypeError:
            rec.warn("valeur illisible (ni texte, ni nombre, ni liste) : ignorée.", column=key)

    def text(column: str) -> str:
        try:
            return _text(values.get(column))
        except TypeError:
            rec.warn("valeur illisible (ni texte ni nombre) : ignorée.", column=column)
            return ""

    kept: dict[str, Any] = {}
    for column in ("id", "nom", "commune", "adresse", "code_postal"):
        kept[column] = text(column)
        if not kept[column]:
            rec.reject(
                f"la colonne obligatoire « {column} » ({FIELD_TITLES[column]}) est vide.", column=column
            )
    if rec.ident == "" and kept["id"]:
        rec.ident = kept["id"]

    code_postal = kept["code_postal"].replace(" ", "")
    if re.fullmatch(r"\d{4}", code_postal):
        code_postal = "0" + code_postal  # a spreadsheet dropped the leading zero
    if code_postal and not re.fullmatch(r"\d{5}", code_postal):
        rec.reject(
            f"le code postal « {_shown(kept['code_postal'])} » doit compter 5 chiffres.", column="code_postal"
        )
    kept["code_postal"] = code_postal

    pivot = normalise(text("pivot"))
    kept["pivot"] = ""
    if not pivot or set(pivot) == {"0"}:
        rec.warn(
            "pas de SIRET ni de RNA (pivot inconnu) : le lieu est importé sans identifiant.", column="pivot"
        )
    elif not _PIVOT_PATTERN.fullmatch(pivot):
        rec.legacy.append(("pivot", pivot))
        rec.warn(
            f"le pivot « {_shown(pivot)} » n'est ni un SIRET, ni un RNA, ni un RIDET : il est ignoré.",
            "pivot",
        )
    elif len(pivot) == 14 and pivot.isdigit():
        try:
            kept["pivot"] = validate_siret(pivot)
        except InvalidIdentifier as error:
            rec.legacy.append(("pivot", pivot))
            rec.warn(f"{error} Il est ignoré.", column="pivot")
    else:
        kept["pivot"] = pivot

    code_insee = text("code_insee")
    kept["code_insee"] = ""
    if code_insee:
        try:
            kept["code_insee"] = validate_code_insee(code_insee)
        except InvalidIdentifier as error:
            rec.warn(f"{error} Il est ignoré.", column="code_insee")
        else:
            if code_postal and _insee_prefix(kept["code_insee"]) != _postal_prefix(code_postal):
                rec.warn(
                    f"le code INSEE « {kept['code_insee']} » et le code postal « {code_postal} » ne "
                    "désignent pas le même département : à vérifier.",
                    column="code_insee",
                )

    for column in ("latitude", "longitude"):
        raw_number = values.get(column)
        kept[column] = None
        if raw_number in (None, ""):
            continue
        number = _parse_number(raw_number)
        limit = 90 if column == "latitude" else 180
        if number is None or not -limit <= number <= limit:
            rec.warn(
                f"la {column} « {_shown(raw_number)} » n'est pas un nombre "
                f"entre -{limit} et {limit} : ignorée.",
                column,
            )
        else:
            kept[column] = number

    telephone = text("telephone")
    kept["telephone"] = ""
    if telephone:
        normalised = normalise_telephone(telephone)
        if normalised is None:
            rec.legacy.append(("telephone", telephone))
            rec.warn(
                f"le numéro de téléphone « {_shown(telephone)} » n'est pas au format international "
                "(+33 puis 9 chiffres) : ignoré.",
                column="telephone",
            )
        else:
            kept["telephone"] = normalised

    for column in ("complement_adresse", "horaires", "presentation_detail", "source", "structure_parente"):
        kept[column] = text(column)
    for column in ("fiche_acces_libre", "prise_rdv"):
        kept[column] = text(column)

    resume = text("presentation_resume")
    if len(resume) > RESUME_MAX_LENGTH:
        if not kept["presentation_detail"]:
            kept["presentation_detail"] = resume
        elif resume not in kept["presentation_detail"]:
            kept["presentation_detail"] = f"{resume}\n\n{kept['presentation_detail']}"
        resume = resume[: RESUME_MAX_LENGTH - 1].rstrip() + "…"
        rec.warn(
            f"le résumé dépasse {RESUME_MAX_LENGTH} caractères : il est raccourci, et le texte entier "
            "est gardé dans la présentation détaillée.",
            column="presentation_resume",
        )
    kept["presentation_resume"] = resume

    raw_date = text("date_maj")
    parsed = _parse_date(raw_date) if raw_date else None
    kept["date_maj"] = None
    if not raw_date:
        rec.warn("la date de mise à jour est vide.", column="date_maj")
    elif parsed is None:
        rec.warn(
            f"la date de mise à jour « {_shown(raw_date)} » n'est pas une date (AAAA-MM-JJ) : ignorée.",
            "date_maj",
        )
    elif parsed <= PLACEHOLDER_DATE:
        rec.warn(
            f"la date de mise à jour « {_shown(raw_date)} » est une date bouche-trou : elle est ignorée.",
            "date_maj",
        )
    else:
        kept["date_maj"] = parsed

    for column in ("courriels", "site_web", "autres_formations_labels"):
        kept[column] = _unique(multi[column])
    for column in enums_standard.ENUM_COLUMNS:
        canonical = []
        for value in multi[column]:
            found = enums_standard.lookup(column, value)
            if found is None:
                rec.legacy.append((column, value))
                what = "code de typologie" if column == "typologie" else "valeur"
                rec.warn(f"{what} inconnue du standard « {_shown(value)} » : ignorée.", column=column)
            else:
                canonical.append(found)
        kept[column] = _unique(canonical)

    if rec.rejections:
        return None
    return Lieu(**kept, legacy=tuple(rec.legacy))


def _decode(data: bytes | str, file: str | None) -> str:
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


def _finish(
    result: ImportResult, rows: Iterator[tuple[Mapping[str, Any], _Record]], file: str | None
) -> ImportResult:
    seen_ids: dict[str, str] = {}
    for raw, rec in rows:
        result.records_read += 1
        # A record already rejected for its shape is not also reported for its empty columns.
        lieu = None if rec.rejections else _parse_record(raw, rec)
        where = f"ligne {rec.line}" if rec.line is not None else f"lieu n° {rec.number}"
        if lieu is not None and lieu.id in seen_ids:
            rec.reject(
                f"l'identifiant « {lieu.id} » est déjà celui de la {seen_ids[lieu.id]} : lieu ignoré.", "id"
            )
            lieu = None
        result.rejected.extend(rec.rejections)
        result.warnings.extend(rec.warnings)
        if lieu is not None:
            seen_ids[lieu.id] = where if rec.line is not None else f"fiche du {where}"
            result.lieux.append(lieu)
    for duplicate in find_duplicates(result.lieux):
        names = ", ".join(f"« {result.lieux[i].nom} » (id {result.lieux[i].id})" for i in duplicate.indexes)
        result.warnings.append(
            ImportIssue(f"doublon probable ({duplicate.reason}) : {names}. Tous sont importés.", file=file)
        )
    return result


def read_csv(data: bytes | str, *, file: str | None = None) -> ImportResult:
    """Read a CSV in the standard. Raises ``ImportRejected`` only if the file cannot be read at all."""
    text = _decode(data, file)
    if not text.strip():
        raise ImportRejected([ImportIssue("le fichier est vide.", file=file)])
    first_line = text.split("\n", 1)[0]
    # A French spreadsheet saves CSV with ";" between columns; the standard uses ",".
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as error:
        raise ImportRejected(
            [ImportIssue(f"l'en-tête n'est pas du CSV lisible ({error}).", file=file, line=1)]
        ) from None
    columns = [label.strip().lower() for label in header]
    missing = [name for name in REQUIRED_FIELDS if name not in columns and name not in ("pivot", "date_maj")]
    if missing:
        raise ImportRejected(
            [
                ImportIssue(
                    f"colonne obligatoire absente de l'en-tête : « {name} » ({FIELD_TITLES[name]}).",
                    file=file,
                    line=1,
                )
                for name in missing
            ]
        )
    result = ImportResult()
    for position, name in enumerate(columns, start=1):
        if name and name not in _KNOWN_KEYS:
            result.warnings.append(
                ImportIssue(
                    f"colonne « {header[position - 1]} » inconnue du standard : ignorée.", file=file, line=1
                )
            )

    def rows() -> Iterator[tuple[Mapping[str, Any], _Record]]:
        line = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise ImportRejected(
                    [ImportIssue(f"CSV illisible à partir d'ici ({error}).", file=file, line=line)]
                ) from None
            rec = _Record(file, line, None, "")
            line = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                rec.reject(f"{len(cells)} cellules au lieu de {len(columns)} (une par colonne de l'en-tête).")
                yield {}, rec
                continue
            yield {name: cell for name, cell in zip(columns, cells, strict=True) if name}, rec

    return _finish(result, rows(), file)


def read_cartographie_json(data: bytes | str, *, file: str | None = None) -> ImportResult:
    """Read a JSON array of places as the Cartographie nationale publishes them."""
    text = _decode(data, file)
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as error:
        line = getattr(error, "lineno", None)
        raise ImportRejected(
            [ImportIssue("le fichier n'est pas du JSON lisible.", file=file, line=line)]
        ) from None
    if not isinstance(payload, list):
        raise ImportRejected(
            [ImportIssue("le fichier JSON doit contenir une liste de lieux ([ {…}, {…} ]).", file=file)]
        )

    unknown_keys: set[str] = set()

    def rows() -> Iterator[tuple[Mapping[str, Any], _Record]]:
        for number, item in enumerate(payload, start=1):
            ident = ""
            if isinstance(item, dict):
                raw_id = item.get("id")
                ident = raw_id.strip() if isinstance(raw_id, str) else ""
            rec = _Record(file, None, number, ident)
            if not isinstance(item, dict):
                rec.reject("ce n'est pas une fiche de lieu (un objet JSON { … }).")
                yield {}, rec
                continue
            for key in item:
                if key not in _KNOWN_KEYS and key not in unknown_keys:
                    unknown_keys.add(key)
                    rec.warn(
                        f"clé « {_shown(key)} » inconnue du standard : ignorée (signalé une seule fois).", key
                    )
            yield {str(key): value for key, value in item.items()}, rec

    return _finish(ImportResult(), rows(), file)


# --------------------------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    reason: str
    indexes: tuple[int, ...]


def name_commune_key(nom: str, commune: str) -> str:
    return f"{enums_standard.match_key(nom)}@{enums_standard.match_key(commune)}"


def find_duplicates(lieux: Sequence[Lieu]) -> list[Duplicate]:
    """Groups of places that are probably the same organisation: same SIRET, or same name and commune."""
    groups: list[Duplicate] = []
    for reason, key in (
        ("même SIRET", lambda lieu: lieu.siret),
        ("même nom dans la même commune", lambda lieu: name_commune_key(lieu.nom, lieu.commune)),
    ):
        by_key: dict[str, list[int]] = {}
        for index, lieu in enumerate(lieux):
            value = key(lieu)
            if value and value != "@":
                by_key.setdefault(value, []).append(index)
        groups.extend(Duplicate(reason, tuple(indexes)) for indexes in by_key.values() if len(indexes) > 1)
    return groups


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _format_number(value: float | None) -> str:
    # repr is the shortest text that reads back to the same float: the round trip is exact.
    return "" if value is None else repr(float(value))


def lieu_to_row(lieu: Lieu) -> dict[str, str]:
    """The standard's 32 columns for one place, as text."""
    row: dict[str, str] = {}
    for name in FIELDS:
        value = getattr(lieu, name)
        if name in MULTI_VALUED:
            if name == "formations_labels":
                value = [_SCHEMA_SPELLING.get(item, item) for item in value]
            row[name] = SEPARATOR.join(item.replace(SEPARATOR, "/") for item in value)
        elif name in ("latitude", "longitude"):
            row[name] = _format_number(value)
        elif name == "date_maj":
            row[name] = (value or PLACEHOLDER_DATE).isoformat()
        elif name == "pivot":
            row[name] = value or UNKNOWN_PIVOT
        else:
            row[name] = value
    return row


def write_csv(lieux: Iterable[Lieu]) -> str:
    """The places as a CSV of the standard; raises ``StandardExportError`` if it would not validate."""
    rows = [lieu_to_row(lieu) for lieu in lieux]
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    content = out.getvalue()
    issues = validate_csv(content, file="export")
    if issues:
        raise StandardExportError(issues)
    return content


def write_csv_bytes(lieux: Iterable[Lieu], *, bom: bool = False, escape_formulas: bool = False) -> bytes:
    """UTF-8 bytes; ``bom=True`` for spreadsheets that need it to recognise UTF-8.

    ``escape_formulas``: for a file meant to be opened in a spreadsheet (the download of the web
    page), cells that a spreadsheet would run as a formula are escaped (``csv_safe``); the file is
    validated before, and Ancrage's reader removes the escape when it reads the file back.
    """
    content = write_csv(lieux)
    if escape_formulas:
        rows = list(csv.reader(io.StringIO(content, newline="")))
        out = io.StringIO(newline="")
        csv_safe.SafeWriter(out, lineterminator="\r\n").writerows(rows)
        content = out.getvalue()
    return ("\ufeff" if bom else "").encode("utf-8") + content.encode("utf-8")


def write_cartographie_json(lieux: Iterable[Lieu]) -> str:
    """A JSON array in the Cartographie's shape: standard keys, empty values left out."""
    items = []
    for lieu in lieux:
        row = lieu_to_row(lieu)
        item: dict[str, Any] = {}
        for name in FIELDS:
            if name in ("latitude", "longitude"):
                if getattr(lieu, name) is not None:
                    item[name] = getattr(lieu, name)
            elif row[name]:
                item[name] = row[name]
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2)


def lieu_from_values(**values: Any) -> Lieu:
    """Build a ``Lieu`` from loose values (lists, None) as a form or a model gives them."""
    clean: dict[str, Any] = {}
    names = {f.name for f in fields(Lieu)}
    for name, value in values.items():
        if name not in names:
            raise TypeError(f"Lieu has no field {name!r}")
        if name in MULTI_VALUED or name == "legacy":
            clean[name] = tuple(value or ())
        elif name in ("latitude", "longitude", "date_maj"):
            clean[name] = value
        else:
            clean[name] = "" if value is None else str(value).strip()
    return replace(Lieu(id="", nom="", commune="", code_postal="", adresse=""), **clean)


# --------------------------------------------------------------------------------------------
# Validation against the Frictionless table schema
# --------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|NaN|INF|-INF")
_INTEGER = re.compile(r"[+-]?\d+")
_TRUE_VALUES = {"true", "True", "TRUE", "1"}
_FALSE_VALUES = {"false", "False", "FALSE", "0"}


def _cast(field_spec: Mapping[str, Any], cell: str) -> tuple[bool, Any]:
    kind = field_spec.get("type", "string")
    if kind == "string":
        return True, cell
    if kind == "number":
        return (True, float(cell)) if _NUMBER.fullmatch(cell) else (False, None)
    if kind == "integer":
        return (True, int(cell)) if _INTEGER.fullmatch(cell) else (False, None)
    if kind == "boolean":
        true_values = set(field_spec.get("trueValues", _TRUE_VALUES))
        false_values = set(field_spec.get("falseValues", _FALSE_VALUES))
        if cell in true_values:
            return True, True
        return (True, False) if cell in false_values else (False, None)
    if kind == "date":
        if field_spec.get("format", "default") != "default" or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell):
            return False, None
        try:
            return True, date.fromisoformat(cell)
        except ValueError:
            return False, None
    if kind == "datetime":
        try:
            return True, datetime.fromisoformat(cell.replace("Z", "+00:00"))
        except ValueError:
            return False, None
    return True, cell  # types this schema does not use are not checked


_TYPE_NAMES = {
    "number": "un nombre",
    "integer": "un entier",
    "boolean": "un booléen",
    "date": "une date AAAA-MM-JJ",
}


def validate_rows(
    header: Sequence[str],
    rows: Iterable[tuple[int, Sequence[str]]],
    *,
    schema: Mapping[str, Any] = SCHEMA,
    file: str | None = None,
) -> list[ImportIssue]:
    """Check a header and ``(line, cells)`` rows against a Frictionless table schema."""
    specs = list(schema["fields"])
    names = [spec["name"] for spec in specs]
    missing_values = set(schema.get("missingValues", [""]))
    issues: list[ImportIssue] = []
    for position, name in enumerate(names):
        if position >= len(header):
            issues.append(ImportIssue(f"colonne « {name} » absente de l'en-tête.", file=file, line=1))
        elif header[position] != name:
            issues.append(
                ImportIssue(
                    f"la colonne n° {position + 1} s'appelle « {header[position]} » au lieu de « {name} ».",
                    file=file,
                    line=1,
                )
            )
    for extra in header[len(names) :]:
        issues.append(ImportIssue(f"colonne « {extra} » en trop.", file=file, line=1))

    primary = schema.get("primaryKey")
    primary_key = [primary] if isinstance(primary, str) else list(primary or [])
    patterns = {
        spec["name"]: re.compile(spec["constraints"]["pattern"])
        for spec in specs
        if "pattern" in spec.get("constraints", {})
    }
    seen: dict[str, dict[Any, int]] = {spec["name"]: {} for spec in specs}
    for line, cells in rows:
        if not any(cell not in missing_values for cell in cells):
            issues.append(ImportIssue("ligne vide.", file=file, line=line))
            continue
        if len(cells) > len(names):
            issues.append(ImportIssue(f"{len(cells) - len(names)} cellule(s) en trop.", file=file, line=line))
        for position, spec in enumerate(specs):
            name = spec["name"]
            constraints = spec.get("constraints", {})
            if position >= len(cells):
                issues.append(ImportIssue("cellule manquante.", file=file, line=line, column=name))
                continue
            cell = cells[position]
            if cell in missing_values:
                if constraints.get("required") or name in primary_key:
                    issues.append(
                        ImportIssue("valeur obligatoire manquante.", file=file, line=line, column=name)
                    )
                continue
            ok, value = _cast(spec, cell)
            if not ok:
                kind = _TYPE_NAMES.get(spec.get("type", ""), spec.get("type", ""))
                issues.append(ImportIssue(f"« {cell} » n'est pas {kind}.", file=file, line=line, column=name))
                continue
            if name in patterns and not patterns[name].fullmatch(cell):
                issues.append(
                    ImportIssue(
                        f"« {cell} » ne respecte pas le format attendu par le standard.",
                        file=file,
                        line=line,
                        column=name,
                    )
                )
            if "enum" in constraints and value not in constraints["enum"]:
                issues.append(
                    ImportIssue(
                        f"« {cell} » n'est pas une valeur permise.", file=file, line=line, column=name
                    )
                )
            if "maxLength" in constraints and len(cell) > constraints["maxLength"]:
                issues.append(
                    ImportIssue(
                        f"{len(cell)} caractères, pour {constraints['maxLength']} au plus.",
                        file=file,
                        line=line,
                        column=name,
                    )
                )
            if "minLength" in constraints and len(cell) < constraints["minLength"]:
                issues.append(
                    ImportIssue(
                        f"{len(cell)} caractères, pour {constraints['minLength']} au moins.",
                        file=file,
                        line=line,
                        column=name,
                    )
                )
            if "minimum" in constraints and value < constraints["minimum"]:
                issues.append(ImportIssue(f"« {cell} » est trop petit.", file=file, line=line, column=name))
            if "maximum" in constraints and value > constraints["maximum"]:
                issues.append(ImportIssue(f"« {cell} » est trop grand.", file=file, line=line, column=name))
            if constraints.get("unique") or primary_key == [name]:
                if value in seen[name]:
                    issues.append(
                        ImportIssue(
                            f"« {cell} » est déjà utilisé à la ligne {seen[name][value]} "
                            "(valeur unique attendue).",
                            file=file,
                            line=line,
                            column=name,
                        )
                    )
                else:
                    seen[name][value] = line
    return issues


def validate_csv(
    data: bytes | str, *, schema: Mapping[str, Any] = SCHEMA, file: str | None = None
) -> list[ImportIssue]:
    """Every way a CSV fails the table schema, located; an empty list means it validates."""
    try:
        text = _decode(data, file)
    except ImportRejected as rejected:
        return rejected.issues
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return [ImportIssue("le fichier est vide.", file=file)]

        def rows() -> Iterator[tuple[int, Sequence[str]]]:
            line = reader.line_num + 1
            for cells in reader:
                yield line, cells
                line = reader.line_num + 1

        return validate_rows(header, rows(), schema=schema, file=file)
    except csv.Error as error:
        return [ImportIssue(f"CSV illisible ({error}).", file=file, line=reader.line_num)]
