"""Reading the standard's CSV and the Cartographie's JSON: every place checked, every issue located.

Pure module: no Django.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from ancrage.core import csv_safe
from ancrage.core.importing import ImportIssue, ImportRejected
from ancrage.partenaires import enums_standard
from ancrage.partenaires.identifiers import InvalidIdentifier, normalise, validate_code_insee, validate_siret
from ancrage.partenaires.standard.duplicates import find_duplicates
from ancrage.partenaires.standard.schema import (
    FIELD_TITLES,
    FIELDS,
    FREE_LIST_COLUMNS,
    MULTI_VALUED,
    PLACEHOLDER_DATE,
    REQUIRED_FIELDS,
    RESUME_MAX_LENGTH,
    SCHEMA,
    STANDARD_VERSION,
    ImportResult,
    Lieu,
    decode,
)

_READ_SEPARATORS = re.compile(r"[|;]")

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
# data·inclusion's structures (gip-inclusion/data-inclusion-schema, versions 0.x and 1.x), as it
# publishes them in JSON and CSV: the same names as the standard for most keys (the standard
# grew from it), and these for the others. ``siret`` then ``rna`` give the pivot (the first one
# not empty wins, as for the older names above).
DATA_INCLUSION_RENAMES = {
    "siret": "pivot",
    "rna": "pivot",
    "description": "presentation_detail",
    "horaires_ouverture": "horaires",
    "horaires_accueil": "horaires",
    "accessibilite_lieu": "fiche_acces_libre",
}
# data·inclusion keys the standard has no column for: kept aside with the place (Lieu.legacy),
# reported once per file.
DATA_INCLUSION_ASIDE = frozenset({"lien_source", "antenne", "thematiques", "reseaux_porteurs"})
_KNOWN_KEYS = (
    frozenset(FIELDS)
    | set(LEGACY_RENAMES)
    | {"labels_nationaux"}
    | NOT_CARRIED_LEGACY_KEYS
    | set(DATA_INCLUSION_RENAMES)
    | DATA_INCLUSION_ASIDE
)


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
    if key in DATA_INCLUSION_ASIDE:
        text = "|".join(_split(value))
        if text:
            rec.legacy.append((key, text))
        return
    if key == "labels_nationaux":
        for label in _split(value):
            target = LEGACY_NATIONAL_LABELS.get(enums_standard.match_key(label))
            if target:
                multi[target[0]].append(target[1])
            else:
                multi["autres_formations_labels"].append(label)
        return
    column = LEGACY_RENAMES.get(key) or DATA_INCLUSION_RENAMES.get(key, key)
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

    # Each step checks its columns and puts their kept value in ``kept``, in this order (the order
    # of the issues).
    kept: dict[str, Any] = {}
    _required_columns(kept, text, rec)
    _pivot(kept, text, rec)
    _code_insee(kept, text, rec)
    _coordinates(kept, values, rec)
    _telephone(kept, text, rec)
    for column in ("complement_adresse", "horaires", "presentation_detail", "source", "structure_parente"):
        kept[column] = text(column)
    for column in ("fiche_acces_libre", "prise_rdv"):
        kept[column] = text(column)
    _resume(kept, text, rec)
    _date_maj(kept, text, rec)
    _lists(kept, multi, rec)
    if rec.rejections:
        return None
    return Lieu(**kept, legacy=tuple(rec.legacy))


def _required_columns(kept: dict[str, Any], text: Callable[[str], str], rec: _Record) -> None:
    """The required text columns (a place without one is rejected), and the postal code."""
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


def _pivot(kept: dict[str, Any], text: Callable[[str], str], rec: _Record) -> None:
    """The SIRET, RNA or RIDET, if the pivot is one."""
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


def _code_insee(kept: dict[str, Any], text: Callable[[str], str], rec: _Record) -> None:
    """The commune's INSEE code, checked against the postal code's département."""
    code_postal = kept["code_postal"]
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


def _coordinates(kept: dict[str, Any], values: dict[str, Any], rec: _Record) -> None:
    """Latitude and longitude, as numbers within their range."""
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


def _telephone(kept: dict[str, Any], text: Callable[[str], str], rec: _Record) -> None:
    """The phone number, in the standard's international format."""
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


def _resume(kept: dict[str, Any], text: Callable[[str], str], rec: _Record) -> None:
    """The short presentation, cut to its maximum length (the whole text goes to the detailed one)."""
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


def _date_maj(kept: dict[str, Any], text: Callable[[str], str], rec: _Record) -> None:
    """The date of the last update, unless it is empty, unreadable or a placeholder."""
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


def _lists(kept: dict[str, Any], multi: dict[str, list[str]], rec: _Record) -> None:
    """The multi-valued columns: free lists as given, enumerated ones as canonical values."""
    for column in FREE_LIST_COLUMNS:
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


def _finish(
    result: ImportResult, rows: Iterator[tuple[Mapping[str, Any], _Record]], file: str | None
) -> ImportResult:
    seen_ids: dict[str, str] = {}
    aside: set[str] = set()
    for raw, rec in rows:
        result.records_read += 1
        aside.update(key for key in raw if key in DATA_INCLUSION_ASIDE and raw[key] not in ("", None, []))
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
    if aside:
        result.warnings.append(
            ImportIssue(
                f"colonnes de data·inclusion sans équivalent dans le standard ({', '.join(sorted(aside))}) : "
                "gardées en note avec chaque lieu, pas importées.",
                file=file,
            )
        )
    for duplicate in find_duplicates(result.lieux):
        names = ", ".join(f"« {result.lieux[i].nom} » (id {result.lieux[i].id})" for i in duplicate.indexes)
        result.warnings.append(
            ImportIssue(
                f"doublon probable ({duplicate.reason}) : {names}. L’analyse de l’import dit "
                "lesquels sont fusionnés et lesquels sont à vérifier.",
                file=file,
            )
        )
    return result


def read_csv(data: bytes | str, *, file: str | None = None) -> ImportResult:
    """Read a CSV in the standard. Raises ``ImportRejected`` only if the file cannot be read at all."""
    text = decode(data, file)
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
    text = decode(data, file)
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
