"""Places of a file that are probably the same organisation.

Pure module: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ancrage.partenaires import enums_standard
from ancrage.partenaires.standard.schema import Lieu

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
