"""Places that are probably the same organisation, and the plan of a directory import.

Pure module: no Django.

The standard lets several places share one pivot (a SIRET, a RNA): a Chambre d'agriculture has one
SIRET and an office in four communes. A place is therefore identified by its pivot *and* where it
is: ``place_key`` is (pivot, commune, address), or (name, commune, address) when the pivot is
unknown. ``DirectoryIndex`` holds every known place in dicts keyed by those keys, so that finding
what a new place matches costs the same whatever the size of the directory: an import is linear in
the file.

What is certain is done; what is doubtful is shown, never decided silently:

- same ``id`` of the standard, or same key as an entry of the directory: the entry is updated;
- same name at the same address, one of the two without a pivot: the same place too;
- same key as a place higher in the file: the two are merged (the first keeps its values, the
  second fills what it lacks);
- same pivot in the same commune at a close but different address, or same name in the same
  commune under another pivot (or none): the pair goes to a review list (``Match.kind ==
  "douteux"``) and the user chooses (leave out, import as a distinct place, or merge);
- same pivot in another commune, or at an address that is not close: a distinct place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from difflib import SequenceMatcher
from typing import Any

from ancrage.partenaires import enums_standard
from ancrage.partenaires.standard.schema import Lieu

# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    reason: str
    indexes: tuple[int, ...]


def name_commune_key(nom: str, commune: str) -> str:
    return f"{enums_standard.match_key(nom)}@{enums_standard.match_key(commune)}"


# The abbreviations of street types found in the Cartographie's files, and their full word.
_STREET_WORDS = {
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "boul": "boulevard",
    "bvd": "boulevard",
    "r": "rue",
    "pl": "place",
    "imp": "impasse",
    "ch": "chemin",
    "chem": "chemin",
    "all": "allee",
    "rte": "route",
    "fg": "faubourg",
    "fbg": "faubourg",
    "sq": "square",
    "st": "saint",
    "ste": "sainte",
    "res": "residence",
    "qu": "quai",
}
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    text = text.replace("’", "'").replace("\u00a0", " ")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    return _WORD.findall(text)


def address_key(adresse: str, code_postal: str = "", commune: str = "") -> str:
    """The address without case, accents, punctuation, abbreviations, nor the postal code and
    commune some files repeat at its end ("9 boulevard Léon Blum 16800 SOYAUX")."""
    words = [_STREET_WORDS.get(word, word) for word in _words(adresse)]
    tail = _words(commune)
    if tail and words[-len(tail) :] == tail:
        words = words[: -len(tail)]
    if code_postal and words and words[-1] == code_postal:
        words = words[:-1]
    return " ".join(words)


def commune_key(commune: str) -> str:
    return enums_standard.match_key(commune)


def place_key(*, pivot: str, nom: str, commune: str, adresse: str, code_postal: str = "") -> tuple:
    """What identifies a place: its pivot and its address in its commune (its name when the pivot
    is unknown)."""
    where = (commune_key(commune), address_key(adresse, code_postal, commune))
    return ("pivot", pivot, *where) if pivot else ("nom", enums_standard.match_key(nom), *where)


def _house_number(key: str) -> str:
    first = key.split(" ", 1)[0] if key else ""
    return first if first.isdigit() else ""


def addresses_close(a: str, b: str) -> bool:
    """Two address keys that may be one address typed twice ("73 impasse Joseph Niepce" and
    "73 rue Joseph Niepce", "7 boulevard Léon Blum" and "9 boulevard Léon Blum")."""
    if not a or not b or a == b:
        return True
    # SequenceMatcher's ratio depends on the order of its two texts: sorted, closeness is symmetric.
    first, second = sorted((a, b))
    ratio = SequenceMatcher(None, first, second, autojunk=False).ratio()
    same_number = _house_number(a) and _house_number(a) == _house_number(b)
    return ratio >= 0.8 or bool(same_number and ratio >= 0.6)


def find_duplicates(lieux: Sequence[Lieu]) -> list[Duplicate]:
    """Groups of places of one file that are probably the same organisation: same pivot at the
    same address, or same name in the same commune."""
    groups: list[Duplicate] = []
    for reason, key in (
        (
            "même SIRET à la même adresse",
            lambda lieu: lieu.siret and place_key(**_key_fields(lieu)),
        ),
        ("même nom dans la même commune", lambda lieu: name_commune_key(lieu.nom, lieu.commune)),
    ):
        by_key: dict[Any, list[int]] = {}
        for index, lieu in enumerate(lieux):
            value = key(lieu)
            if value and value != "@":
                by_key.setdefault(value, []).append(index)
        groups.extend(Duplicate(reason, tuple(indexes)) for indexes in by_key.values() if len(indexes) > 1)
    return groups


def _key_fields(lieu: Lieu) -> dict[str, str]:
    return {
        "pivot": lieu.pivot,
        "nom": lieu.nom,
        "commune": lieu.commune,
        "adresse": lieu.adresse,
        "code_postal": lieu.code_postal,
    }


# --------------------------------------------------------------------------------------------
# The index of a directory, and what each place of a file matches in it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """A place already known: an entry of the directory (``ref`` its primary key) or a place
    higher in the file (``ref`` None, ``lieu`` set)."""

    nom: str
    commune: str
    adresse: str
    code_postal: str
    pivot: str
    identifiant: str = ""
    ref: Any = None
    lieu: Lieu | None = None

    @property
    def in_file(self) -> bool:
        return self.lieu is not None


@dataclass(frozen=True)
class Match:
    """What one place of the file is to the places already known.

    ``kind``: "nouveau" (nothing matches), "maj" (an entry of the directory: update it), "fusion"
    (a place higher in the file: merge into it), "douteux" (a doubtful pair, ``reason`` says why).
    """

    kind: str
    other: Known | None = None
    reason: str = ""


@dataclass
class DirectoryIndex:
    """Every known place, in dicts: each lookup costs the same whatever their number."""

    by_ident: dict[str, Known] = field(default_factory=dict)
    by_key: dict[tuple, Known] = field(default_factory=dict)
    by_pivot_commune: dict[tuple[str, str], list[Known]] = field(default_factory=dict)
    by_name_commune: dict[str, list[Known]] = field(default_factory=dict)

    def add(self, known: Known) -> None:
        if known.identifiant and not known.in_file:
            self.by_ident.setdefault(known.identifiant, known)
        key = place_key(
            pivot=known.pivot,
            nom=known.nom,
            commune=known.commune,
            adresse=known.adresse,
            code_postal=known.code_postal,
        )
        self.by_key.setdefault(key, known)
        if known.pivot:
            self.by_pivot_commune.setdefault((known.pivot, commune_key(known.commune)), []).append(known)
        name = name_commune_key(known.nom, known.commune)
        if name.split("@")[0]:
            self.by_name_commune.setdefault(name, []).append(known)

    def match(self, lieu: Lieu) -> Match:
        if lieu.id and lieu.id in self.by_ident:
            return Match("maj", self.by_ident[lieu.id], "même identifiant dans le standard")
        exact = self.by_key.get(place_key(**_key_fields(lieu)))
        if exact is not None:
            if exact.in_file:
                return Match("fusion", exact, _same_place_reason(lieu))
            return Match("maj", exact, _same_place_reason(lieu))
        address = address_key(lieu.adresse, lieu.code_postal, lieu.commune)
        name = enums_standard.match_key(lieu.nom)
        if lieu.pivot:
            for other in self.by_pivot_commune.get((lieu.pivot, commune_key(lieu.commune)), ()):
                other_address = address_key(other.adresse, other.code_postal, other.commune)
                if addresses_close(address, other_address):
                    return Match("douteux", other, "même pivot, dans la même commune, à une adresse voisine")
                if enums_standard.match_key(other.nom) == name:
                    return Match("douteux", other, "même pivot et même nom dans la même commune")
        same_name = self.by_name_commune.get(name_commune_key(lieu.nom, lieu.commune), ())
        for other in same_name:
            other_address = address_key(other.adresse, other.code_postal, other.commune)
            if not (lieu.pivot and other.pivot) and address == other_address:
                # One of them has no pivot (unknown, or refused for a wrong key): same name at the
                # same address is the same place, and the pivot of one completes the other.
                kind = "fusion" if other.in_file else "maj"
                return Match(kind, other, "même nom à la même adresse, l’un sans pivot")
        for other in same_name:
            if other.pivot != lieu.pivot:
                return Match("douteux", other, "même nom dans la même commune, sous un autre pivot")
            if not lieu.pivot:
                return Match(
                    "douteux", other, "même nom dans la même commune, sans pivot, à une autre adresse"
                )
        return Match("nouveau")


def _same_place_reason(lieu: Lieu) -> str:
    return "même pivot à la même adresse" if lieu.pivot else "même nom à la même adresse"


def merge_lieux(first: Lieu, second: Lieu) -> Lieu:
    """``first`` completed by ``second``: empty values filled, lists joined (first's order)."""
    changes: dict[str, Any] = {}
    for item in dataclass_fields(Lieu):
        mine, theirs = getattr(first, item.name), getattr(second, item.name)
        if isinstance(mine, tuple):
            joined = tuple(dict.fromkeys((*mine, *theirs)))
            if joined != mine:
                changes[item.name] = joined
        elif mine in ("", None) and theirs not in ("", None):
            changes[item.name] = theirs
    return replace(first, **changes) if changes else first
