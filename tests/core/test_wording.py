"""French wording (ancrage.core.wording): plurals, elision, agreement, on the demo's names."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.core import wording
from tests.properties import examples

# The organisations of the demo (ancrage/demo/loader.py), and the names of the issue.
DEMO_NAMES = {
    "EPN du Blosne (démo)": "de l’EPN du Blosne (démo)",
    "Espace numérique de Vitré (démo)": "d’Espace numérique de Vitré (démo)",
    "Centre social Ty-Blosne (démo)": "du Centre social Ty-Blosne (démo)",
    "CCAS de Rennes (démo)": "du CCAS de Rennes (démo)",
    "Mission locale du bassin rennais (démo)": "de la Mission locale du bassin rennais (démo)",
    "Médiathèque de Cesson-Sévigné (démo)": "de la Médiathèque de Cesson-Sévigné (démo)",
    "Association Vitré Entraide (démo)": "de l’Association Vitré Entraide (démo)",
    "Espace social commun": "d’Espace social commun",
    "Rennes Métropole": "de Rennes Métropole",
    "Vitré": "de Vitré",
}


@pytest.mark.parametrize(("nom", "expected"), DEMO_NAMES.items())
def test_de_before_the_demo_names(nom, expected):
    assert wording.de_nom(nom) == expected


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 usager"), (1, "1 usager"), (2, "2 usagers"), (140, "140 usagers")]
)
def test_plural_of_a_count(count, expected):
    assert wording.nombre(count, "usager") == expected


def test_irregular_plural_and_written_number():
    assert wording.nombre(3, "lieu", "lieux") == "3 lieux"
    assert wording.nombre(1200, "habitant", chiffre="1\u202f200") == "1\u202f200 habitants"
    assert wording.nombre(1.5, "heure", chiffre="1,5") == "1,5 heure"


@pytest.mark.parametrize(
    ("little", "word", "expected"),
    [
        ("de", "EPN", "d’EPN"),
        ("de", "Élan", "d’Élan"),
        ("de", "île", "d’île"),
        ("de", "Ouessant", "d’Ouessant"),
        ("de", "Rennes", "de Rennes"),
        ("de", "Hautes-Rives", "de Hautes-Rives"),  # h muet is not guessed
        ("que", "il", "qu’il"),
        ("que", "Espace social commun", "qu’Espace social commun"),
        ("le", "EPN", "l’EPN"),
        ("Le", "atelier", "L’atelier"),
        ("la", "CAF", "la CAF"),
        ("de", "« Atelier »", "d’« Atelier »"),
    ],
)
def test_elision(little, word, expected):
    assert wording.elide(little, word) == expected


def test_agreement_with_the_noun_not_the_person():
    assert (
        f"Votre visa est {wording.accorde('enregistré', wording.MASCULIN)}." == "Votre visa est enregistré."
    )
    assert f"Votre signature est {wording.accorde('enregistré', wording.FEMININ)}." == (
        "Votre signature est enregistrée."
    )
    assert wording.accorde("nouveau", wording.FEMININ, "nouvelle") == "nouvelle"


def _is_vowel(char: str) -> bool:
    return unicodedata.normalize("NFD", char)[0].lower() in "aeiouy" or char.lower() in "æœ"


words = st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=12)


@given(words)
@examples(200)
def test_elision_applies_iff_the_word_starts_with_a_vowel(word):
    for little, short in (("de", "d"), ("que", "qu"), ("le", "l")):
        result = wording.elide(little, word)
        if _is_vowel(word[0]):
            assert result == f"{short}’{word}"
        else:
            assert result == f"{little} {word}"


@given(
    st.integers(min_value=-(10**6), max_value=10**6), st.sampled_from(["usager", "présence", "partenaire"])
)
@examples(100)
def test_plural_iff_the_count_is_two_or_more(count, noun):
    text = wording.nombre(count, noun)
    assert text.startswith(f"{count} ")
    assert text.endswith(f"{noun}s") == (abs(count) >= 2)


@given(words)
@examples(100)
def test_de_nom_never_writes_de_before_a_vowel(word):
    result = wording.de_nom(word)
    assert not (result.startswith("de ") and _is_vowel(result[3]))
    assert result.endswith(word)
