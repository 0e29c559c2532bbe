"""Located import errors, shared by every importer.

Pure module: no Django. Every importer reads a whole file, collects every problem with its
place (file, sheet, line, column) and either returns clean records or raises
``ImportRejected`` with all the problems, so that nothing is ever half-imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImportIssue:
    """One problem found in an imported file, with its place, in French."""

    message: str
    file: str | None = None
    sheet: str | None = None
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        place = []
        if self.file:
            place.append(f"Fichier « {self.file} »")
        if self.sheet:
            place.append(f"feuille « {self.sheet} »")
        if self.line is not None:
            place.append(f"ligne {self.line}")
        if self.column:
            place.append(f"colonne {self.column}")
        return f"{', '.join(place)} : {self.message}" if place else self.message


@dataclass
class ImportRejected(Exception):
    """The file cannot be imported. ``issues`` lists every problem found, in reading order."""

    issues: list[ImportIssue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    def summary(self, limit: int = 20) -> str:
        lines = [str(issue) for issue in self.issues[:limit]]
        if len(self.issues) > limit:
            lines.append(f"… et {len(self.issues) - limit} autres erreurs.")
        return "\n".join(lines)


class IssueCollector:
    """Collects issues while reading a file, then raises them all at once."""

    def __init__(self, file: str | None = None, sheet: str | None = None, max_issues: int = 1000):
        self.file = file
        self.sheet = sheet
        self.max_issues = max_issues
        self.issues: list[ImportIssue] = []

    def add(self, message: str, *, line: int | None = None, column: str | None = None, sheet=None) -> None:
        if len(self.issues) < self.max_issues:
            self.issues.append(
                ImportIssue(message, file=self.file, sheet=sheet or self.sheet, line=line, column=column)
            )

    def __bool__(self) -> bool:
        return bool(self.issues)

    def raise_if_any(self) -> None:
        if self.issues:
            raise ImportRejected(list(self.issues))
