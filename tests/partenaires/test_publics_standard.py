"""The table from the standard's vocabulary to Ancrage's publics and thematics."""

import re
from pathlib import Path

from ancrage.diagnostic.cibles import FAMILLES
from ancrage.partenaires import enums_standard
from ancrage.partenaires.publics import PUBLIC_KEYS, STANDARD_TABLE, from_standard, public_label

DOC = Path(__file__).resolve().parents[2] / "docs" / "partenaires.md"


def test_every_value_of_the_three_enumerations_is_in_the_table_and_nothing_else():
    for column in STANDARD_TABLE:
        assert set(STANDARD_TABLE[column]) == {value for value, _ in enums_standard.ENUM_COLUMNS[column]}, (
            column
        )
    for column in STANDARD_TABLE.values():
        for publics, familles in column.values():
            assert set(publics) <= set(PUBLIC_KEYS)
            assert set(familles) <= set(FAMILLES)


def test_from_standard_says_where_each_public_and_family_came_from():
    publics, familles, origin = from_standard(
        publics_specifiquement_adresses=["Jeunes", "Valeur inconnue"],
        services=["Insertion professionnelle via le numérique"],
    )
    assert publics == {"age:15-29", "activite:chomeur"}
    assert familles == {"insertion et emploi", "développement économique"}
    assert origin["age:15-29"] == "Jeunes"
    assert origin["activite:chomeur"] == "Insertion professionnelle via le numérique"
    assert from_standard() == (frozenset(), frozenset(), {})


def test_the_user_documentation_shows_the_same_table():
    text = DOC.read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\| (publics|prise en charge|services) \| (.+?) \| (.*?) \| (.*?) \|$", line)
        if match:
            rows[match.group(2)] = (match.group(3), match.group(4))
    for column in STANDARD_TABLE.values():
        for value, (publics, familles) in column.items():
            assert value in rows, value
            doc_publics, doc_familles = rows[value]
            assert doc_publics == (", ".join(public_label(key) for key in publics) or "—"), value
            assert doc_familles == (", ".join(familles) or "—"), value
