"""The developers' docs name files that exist: a rename that forgets the docs fails here."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    ROOT / "docs" / "architecture.md",
    ROOT / "docs" / "glossaire.md",
    *sorted((ROOT / "docs" / "recipes").glob("*.md")),
]
# A path of the repository between backticks: `ancrage/www/scoped.py`, `tests/security/`.
CITED_PATH = re.compile(r"`((?:ancrage|tests|docs|bench|scripts|requirements|\.ci)/[^`\s]*)`")
PLACEHOLDER = re.compile(r"[<>*…{}]")


def cited_paths(text: str) -> set[str]:
    return {path for path in CITED_PATH.findall(text) if not PLACEHOLDER.search(path)}


def test_every_path_the_docs_cite_exists():
    missing = [
        f"{doc.relative_to(ROOT)}: {path}"
        for doc in DOCS
        for path in sorted(cited_paths(doc.read_text(encoding="utf-8")))
        if not (ROOT / path.split("::")[0].rstrip("/")).exists()  # a test's node id names its file
    ]
    assert not missing, "These docs cite paths that do not exist (renamed?):\n" + "\n".join(missing)


def test_the_docs_cite_paths_at_all():
    # The pattern must keep finding what it checks: a doc that cites nothing passes vacuously.
    assert len(cited_paths((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))) > 10


def test_every_recipe_is_in_the_index():
    index = (ROOT / "docs" / "recipes" / "README.md").read_text(encoding="utf-8")
    recipes = [p.name for p in (ROOT / "docs" / "recipes").glob("*.md") if p.name != "README.md"]
    assert recipes
    assert not [name for name in recipes if f"({name})" not in index], "list every recipe in its README"


TRACKER_CITATION = re.compile(r"\bissues? (?:n[°o] ?)?\d+\b|\bissue #\d+", re.IGNORECASE)


def test_no_source_cites_an_outside_tracker():
    """Code says why in its own words: "issue 8" means nothing in a user's clone."""
    sources = [
        path
        for folder in ("ancrage", "tests", "bench", "scripts", ".ci")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".html", ".txt", ".toml", ""} and path.is_file()
    ]
    sources += [ROOT / "Makefile", ROOT / "pyproject.toml"]
    assert len(sources) > 100
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        if path.name != "test_docs.py"
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="ignore").splitlines(), 1)
        if TRACKER_CITATION.search(line)
    ]
    assert not cited, "Cite the reason, not a tracker's issue:\n" + "\n".join(cited)
