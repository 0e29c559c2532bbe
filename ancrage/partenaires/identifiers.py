"""French identifiers of organisations and communes: SIRET, SIREN, RNA, code INSEE.

Pure module: no Django. Every ``validate_*`` function takes what a user typed or what a file
held, returns the normalised identifier, or raises ``InvalidIdentifier`` with a French message
that can be shown as is.

SIREN and SIRET are checked by python-stdnum (``stdnum.fr.siren``, ``stdnum.fr.siret``): the Luhn
key, and La Poste's own rule. RNA numbers and INSEE codes have no check key in stdnum; they stay
checked here, by the patterns of the standard.
"""

from __future__ import annotations

import re

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

# SIRENE gives La Poste's establishments SIRETs that cannot all pass Luhn: there are more of
# them than Luhn keys leave room for under one SIREN. INSEE's rule for this SIREN is that the
# digits of the SIRET add up to a multiple of 5, except for the head office, 356 000 000 00048,
# whose SIRET passes Luhn. stdnum knows both.
LA_POSTE_SIREN = "356000000"

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
# The RNA number is "W" then 9 characters: the département on 2 or 3 characters (2A, 2B and
# some overseas codes carry a letter), then a sequence number.
_RNA = re.compile(r"W\d[\dA-Z]\d{7}")
# The schema's own pattern for code_insee (standard-mediation-num v1.0.2): Corsica is 2A/2B,
# and there is no département 20 since 1976.
_CODE_INSEE = re.compile(r"([013-9]\d|2[AB1-9])\d{3}")


class InvalidIdentifier(ValueError):
    """An identifier is malformed. ``str(error)`` is a French sentence for the user."""


def normalise(value: object) -> str:
    """Drop the spaces people type for readability ("434 933 123 00029") and uppercase."""
    if value is None:
        return ""
    return _SPACES.sub("", str(value)).upper()


def luhn_is_valid(digits: str) -> bool:
    """True if a string of digits passes the Luhn check (the key of SIREN and SIRET)."""
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def luhn_check_digit(digits_without_key: str) -> str:
    """The digit to append to ``digits_without_key`` so that the whole passes Luhn."""
    for candidate in "0123456789":
        if luhn_is_valid(digits_without_key + candidate):
            return candidate
    raise InvalidIdentifier("Seuls des chiffres peuvent recevoir une clé de Luhn.")  # pragma: no cover


def validate_siren(value: object) -> str:
    siren = normalise(value)
    if not siren:
        raise InvalidIdentifier("Le SIREN est vide.")
    if not (siren.isascii() and siren.isdigit()) or len(siren) != 9:
        raise InvalidIdentifier(f"Le SIREN « {siren} » doit compter exactement 9 chiffres.")
    try:
        return stdnum_siren.validate(siren)
    except ValidationError:
        raise InvalidIdentifier(
            f"Le SIREN « {siren} » n'est pas valide : sa clé de contrôle est fausse."
        ) from None


def validate_siret(value: object) -> str:
    siret = normalise(value)
    if not siret:
        raise InvalidIdentifier("Le SIRET est vide.")
    if not (siret.isascii() and siret.isdigit()) or len(siret) != 14:
        raise InvalidIdentifier(f"Le SIRET « {siret} » doit compter exactement 14 chiffres.")
    if set(siret) == {"0"}:
        # The Cartographie nationale writes 14 zeros when it does not know the SIRET; it would
        # pass Luhn, but it identifies nobody.
        raise InvalidIdentifier("Le SIRET « 00000000000000 » est un bouche-trou, pas un SIRET.")
    try:
        return stdnum_siret.validate(siret)
    except InvalidChecksum:
        if siret.startswith(LA_POSTE_SIREN):
            raise InvalidIdentifier(
                f"Le SIRET « {siret} » (La Poste) n'est pas valide : la somme de ses chiffres "
                "doit être un multiple de 5."
            ) from None
        if not stdnum_siren.is_valid(siret[:9]):
            raise InvalidIdentifier(
                f"Le SIRET « {siret} » n'est pas valide : la clé de contrôle de son SIREN "
                f"({siret[:9]}, ses 9 premiers chiffres) est fausse."
            ) from None
        raise InvalidIdentifier(
            f"Le SIRET « {siret} » n'est pas valide : sa clé de contrôle est fausse."
        ) from None
    except ValidationError:
        raise InvalidIdentifier(f"Le SIRET « {siret} » n'est pas valide.") from None


def validate_rna(value: object) -> str:
    rna = normalise(value)
    if not rna:
        raise InvalidIdentifier("Le numéro RNA est vide.")
    if not _RNA.fullmatch(rna):
        raise InvalidIdentifier(
            f"Le numéro RNA « {rna} » doit commencer par W et compter 10 caractères (par exemple W751234567)."
        )
    return rna


def validate_code_insee(value: object) -> str:
    code = normalise(value)
    if not code:
        raise InvalidIdentifier("Le code INSEE de la commune est vide.")
    if len(code) == 4 and code.isascii() and code.isdigit():
        # Spreadsheets turn "01001" into the number 1001: the leading zero is the only thing lost.
        code = "0" + code
    if not _CODE_INSEE.fullmatch(code):
        raise InvalidIdentifier(
            f"Le code INSEE « {code} » n'est pas un code de commune : 5 caractères, "
            "chiffres, ou 2A/2B pour la Corse (par exemple 35238 ou 2A004)."
        )
    return code


def siren_of_siret(siret: str) -> str:
    return validate_siret(siret)[:9]


def is_valid_siret(value: object) -> bool:
    try:
        validate_siret(value)
    except InvalidIdentifier:
        return False
    return True


def is_valid_rna(value: object) -> bool:
    try:
        validate_rna(value)
    except InvalidIdentifier:
        return False
    return True


def pivot_kind(value: object) -> str | None:
    """What a standard ``pivot`` holds: "siret", "siren", "rna", or None when it is none of them.

    A RIDET (Nouvelle-Calédonie) or a Polynesian TAHITI number has no check key we can verify,
    so it comes back as None and is kept as typed.
    """
    code = normalise(value)
    if is_valid_siret(code):
        return "siret"
    if is_valid_rna(code):
        return "rna"
    try:
        validate_siren(code)
    except InvalidIdentifier:
        return None
    return "siren"
