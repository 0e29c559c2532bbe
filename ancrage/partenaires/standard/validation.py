"""Validation of a CSV against a Frictionless table schema (the standard's, by default).

Pure module: no Django.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ancrage.core.importing import ImportIssue, ImportRejected
from ancrage.core.wording import nombre
from ancrage.partenaires.standard.schema import SCHEMA, decode

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
    issues = _header_issues(header, names, file)

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
            issues.append(
                ImportIssue(f"{nombre(len(cells) - len(names), 'cellule')} en trop.", file=file, line=line)
            )
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
            issues.extend(_constraint_issues(name, cell, value, constraints, patterns, line, file))
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


def _header_issues(header: Sequence[str], names: Sequence[str], file: str | None) -> list[ImportIssue]:
    """Columns missing, misnamed or in excess in the header."""
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
    return issues


def _constraint_issues(
    name: str,
    cell: str,
    value: Any,
    constraints: Mapping[str, Any],
    patterns: Mapping[str, re.Pattern],
    line: int,
    file: str | None,
) -> list[ImportIssue]:
    """A cell's value against its column's pattern, enumeration, lengths and bounds."""
    issues: list[ImportIssue] = []
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
            ImportIssue(f"« {cell} » n'est pas une valeur permise.", file=file, line=line, column=name)
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
    return issues


def validate_csv(
    data: bytes | str, *, schema: Mapping[str, Any] = SCHEMA, file: str | None = None
) -> list[ImportIssue]:
    """Every way a CSV fails the table schema, located; an empty list means it validates."""
    try:
        text = decode(data, file)
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
