"""How a person reads a sector: by its name (IRIS name and commune, commune, or quartier); its code
follows in small type where it helps.

Pure module: no Django. Every page, PDF and export labels a sector with :func:`libelle_secteur`,
from the names the territory's reference gives (``territoire.Secteur.nom``: « Rennes – Le Blosne
Est », the commune's name from the COG, a quartier's own name). The pages write the code after the
name in a ``<span class="ancrage-code">`` (template filter ``secteur``), the PDFs and exports in
their own column.
"""

import re
from collections.abc import Iterable, Mapping

#: What the sectors of a diagnostic are, as the pages say it (« secteurs : IRIS »).
NIVEAU_LABELS = {"iris": "IRIS", "commune": "communes", "quartier": "quartiers"}
#: The name insee.py gives an IRIS of a file without IRIS names: « Rennes (IRIS 0101) ».
_NUMBERED_IRIS = re.compile(r"^(?P<commune>.+?) \(IRIS \d{4}\)$")
IRIS_CODE = re.compile(r"^(?:\d{2}|2[AB])\d{7}$")
COMMUNE_CODE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")


def libelle_secteur(code: str | None, nom: str | None = None) -> str:
    """The sector's name as a person reads it; its code when it has no name.

    INSEE's « Commune - Nom de l'IRIS » is written with an en dash: « Rennes – Le Blosne Est ».
    """
    code = (code or "").strip()
    nom = (nom or "").strip()
    if not nom or nom == code:
        return code
    return nom.replace(" - ", " – ")


def has_name(code: str | None, nom: str | None) -> bool:
    """Whether the label of the sector says more than its code (then the code goes in small type)."""
    return libelle_secteur(code, nom) != (code or "").strip()


def commune_of_nom(nom: str) -> str:
    """The commune's part of an IRIS name: « Rennes – Le Blosne Est », « Rennes (IRIS 0101) » → « Rennes »."""
    nom = nom.strip()
    numbered = _NUMBERED_IRIS.match(nom)
    if numbered:
        return numbered["commune"]
    for dash in (" - ", " – "):
        if dash in nom:
            return nom.split(dash, 1)[0]
    return nom


def niveau_label(niveau: str | None) -> str:
    return NIVEAU_LABELS.get(niveau or "", niveau or "")


def noms_secteurs(secteurs: Iterable[Mapping]) -> dict[str, str]:
    """Code → label of the sectors of a diagnostic's result (``resultat["secteurs"]``)."""
    return {s["code"]: libelle_secteur(s["code"], s.get("nom")) for s in secteurs}


def libelles(codes: Iterable[str], noms: Mapping[str, str]) -> list[str]:
    """The labels of ``codes``, in their order (a code without a name stays a code)."""
    return [libelle_secteur(code, noms.get(code)) for code in codes]


class OptionLabel(str):
    """A form choice's label: « name (code) » as text, the code in small type as HTML.

    A ``str`` (forms, tests and exports read « Rennes – Le Blosne Est (352381103) »); its
    ``__html__`` is what a template writes, the code in a ``<span class="ancrage-code">``.
    """

    def __new__(cls, nom: str, code: str):
        label = super().__new__(cls, f"{nom} ({code})")
        label.nom, label.code = nom, code
        return label

    def __reduce__(self):  # copied with the form's fields
        return (OptionLabel, (self.nom, self.code))

    def __deepcopy__(self, memo):
        return self

    def __html__(self) -> str:
        # One inline box: DSFR's checkbox label is a flex container, which would split the code off.
        return f'<span>{_escape(self.nom)} <span class="ancrage-code">({_escape(self.code)})</span></span>'


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )
