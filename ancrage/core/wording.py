"""French wording: plurals, elision and agreement, in one place.

Pure module: no Django. Pages use it through the template filters of
``ancrage/www/templatetags/francais.py``; the PDFs and messages call it directly.

- :func:`nombre`: « 0 usager », « 1 usager », « 2 usagers » (in French, 0 and 1 are singular).
- :func:`elide`: « de » + « EPN » → « d’EPN », « que » + « il » → « qu’il », « le » → « l’ »;
  a word starts with a vowel sound when its first letter is a vowel, accented or not, in any case
  (the « h muet » is not guessed: « de Hautes-Rives » stays as it is).
- :func:`de_nom`: « de » before an organisation's name. A name that starts with a common noun
  (EPN, CCAS, centre, médiathèque, mission…: :data:`NAME_NOUNS`) takes its article: « de l’EPN du
  Blosne », « du CCAS de Rennes », « du Centre social Ty-Blosne », « de la Médiathèque de
  Cesson-Sévigné »; any other name is a proper name, elided only: « d’Espace social commun »,
  « de Rennes Métropole ». « Espace » is left to the proper names, as the places call themselves
  (« Espace social commun », not « l’Espace »).
- :func:`accorde`: the agreement of a word with a noun's gender (« Votre visa est enregistré »,
  « Votre signature est enregistrée »). Words about persons keep the point médian of the
  interface (« connecté·e »): agreement with a thing's gender is never written inclusively.
"""

import re
import unicodedata

APOSTROPHE = "’"
#: Words that elide before a vowel, and their elided form.
ELIDED = {"de": "d", "le": "l", "la": "l", "que": "qu", "je": "j", "me": "m", "te": "t", "se": "s", "ne": "n"}
#: Common nouns that start organisations' names, with their gender: acronyms (matched as
#: written) and words (matched in any case).
ACRONYM_NOUNS = {
    "EPN": "m",
    "CCAS": "m",
    "CIAS": "m",
    "CDAS": "m",
    "PIMMS": "m",
    "CAF": "f",
    "CPAM": "f",
    "MJC": "f",
    "CCI": "f",
    "CMA": "f",
}
WORD_NOUNS = {
    "centre": "m",
    "conseil": "m",
    "département": "m",
    "service": "m",
    "point": "m",
    "foyer": "m",
    "collège": "m",
    "lycée": "m",
    "club": "m",
    "relais": "m",
    "office": "m",
    "institut": "m",
    "syndicat": "m",
    "médiathèque": "f",
    "bibliothèque": "f",
    "mission": "f",
    "maison": "f",
    "association": "f",
    "mairie": "f",
    "ville": "f",
    "commune": "f",
    "école": "f",
    "fédération": "f",
    "régie": "f",
    "agence": "f",
    "chambre": "f",
    "communauté": "f",
    "métropole": "f",
}
NAME_NOUNS = {**ACRONYM_NOUNS, **WORD_NOUNS}
MASCULIN, FEMININ = "m", "f"
_LEADING = re.compile(r"^[\s«“\"'(\[]*")


def first_letter(word: str) -> str:
    """The first letter of ``word``, lower case, without its accent ("" when there is none)."""
    text = _LEADING.sub("", word or "")
    for char in text:
        if char.isalpha():
            base = unicodedata.normalize("NFD", char)[0].lower()
            return {"æ": "a", "œ": "o"}.get(base, base)
        return ""
    return ""


def starts_with_vowel(word: str) -> bool:
    """Whether ``word`` starts with a vowel letter (a, e, i, o, u, y, accented or not, any case)."""
    return first_letter(word) in {"a", "e", "i", "o", "u", "y"}


def elide(little_word: str, word: str) -> str:
    """« de » + « EPN » → « d’EPN »; « de » + « Rennes » → « de Rennes ».

    Keeps the case of ``little_word`` (« De » → « D’ »)."""
    key = little_word.lower()
    if key in ELIDED and starts_with_vowel(word):
        short = ELIDED[key]
        if little_word[:1].isupper():
            short = short.capitalize()
        return f"{short}{APOSTROPHE}{word}"
    return f"{little_word} {word}"


def article(word: str, genre: str = MASCULIN) -> str:
    """« l’EPN », « le CCAS », « la CAF »."""
    return elide("le" if genre == MASCULIN else "la", word)


def de_nom(nom: str) -> str:
    """« de » before an organisation's name (see the module's docstring)."""
    nom = (nom or "").strip()
    first = nom.split(" ", 1)[0] if nom else ""
    genre = ACRONYM_NOUNS.get(first) or WORD_NOUNS.get(first.lower())
    if genre is None:
        return elide("de", nom)
    if starts_with_vowel(nom):
        return f"de l{APOSTROPHE}{nom}"
    return f"du {nom}" if genre == MASCULIN else f"de la {nom}"


def pluriel(count: int | float, singulier: str, pluriel_: str | None = None) -> str:
    """The form of a noun for ``count``: singular for 0 and 1 (and between), plural from 2."""
    return singulier if abs(count) < 2 else (pluriel_ or f"{singulier}s")


def nombre(
    count: int | float, singulier: str, pluriel_: str | None = None, *, chiffre: str | None = None
) -> str:
    """« 1 usager », « 0 usager », « 2 usagers ». ``chiffre``: the number as already written
    (« 1 200 », « 1,5 »), when the caller formats it."""
    written = chiffre if chiffre is not None else str(count)
    return f"{written} {pluriel(count, singulier, pluriel_)}"


def accorde(masculin: str, genre: str, feminin: str | None = None) -> str:
    """A word agreed with a noun's gender: ``accorde("enregistré", "f")`` → « enregistrée »."""
    if genre == FEMININ:
        return feminin or f"{masculin}e"
    return masculin
