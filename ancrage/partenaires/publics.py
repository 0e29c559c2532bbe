"""The publics a partner reaches and the sectors it covers, matched against an action's targets.

Pure module: no Django. Publics are written ``"dimension:categorie"`` as the diagnostic names
them (``"age:60-74"``, ``"activite:chomeur"``). Age bands differ between sources (INSEE, La Coop,
the harmonised bands of a diagnostic), so an age public matches when the bands overlap. A sector
is an IRIS code (9 characters), a commune code (5) or a quartier name; a partner covering a
commune covers every IRIS of it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ancrage.diagnostic.cibles import category_label
from ancrage.frequentation.readers import parse_age_band

# What a user picks from in the directory and on a fiche action: the diagnostic's dimensions,
# with INSEE's second age partition (the one its targets use most).
PUBLIC_KEYS = (
    "age:0-14",
    "age:15-29",
    "age:30-44",
    "age:45-59",
    "age:60-74",
    "age:75+",
    "sexe:F",
    "sexe:H",
    "activite:actif_occupe",
    "activite:chomeur",
    "activite:etudiant",
    "activite:retraite",
    "activite:autre_inactif",
    "csp:CS1",
    "csp:CS2",
    "csp:CS3",
    "csp:CS4",
    "csp:CS5",
    "csp:CS6",
    "csp:CS7",
    "csp:CS8",
    "diplome:sans_diplome_ou_bepc",
    "diplome:cap_bep",
    "diplome:bac",
    "diplome:superieur",
)


def split_public(key: str) -> tuple[str, str]:
    dimension, _, categorie = key.partition(":")
    return dimension, categorie


def public_key(dimension: str | None, categorie: str | None) -> str:
    return f"{dimension}:{categorie}" if dimension and categorie else ""


def public_label(key: str) -> str:
    dimension, categorie = split_public(key)
    return category_label(dimension or None, categorie or None)


PUBLIC_CHOICES = tuple((key, public_label(key)) for key in PUBLIC_KEYS)


def _overlap(a: str, b: str) -> bool:
    band_a, band_b = parse_age_band(a), parse_age_band(b)
    if band_a is None or band_b is None:
        return a == b
    high_a = band_a[1] if band_a[1] is not None else 10**6
    high_b = band_b[1] if band_b[1] is not None else 10**6
    return band_a[0] < high_b and band_b[0] < high_a


def reaches(partner_publics: Iterable[str], target: str) -> bool:
    """Does a partner reaching ``partner_publics`` reach the ``target`` public?"""
    dimension, categorie = split_public(target)
    for key in partner_publics:
        other_dimension, other_categorie = split_public(key)
        if other_dimension != dimension:
            continue
        if other_categorie == categorie or (dimension == "age" and _overlap(other_categorie, categorie)):
            return True
    return False


def covers(partner_sectors: Iterable[str], sector: str) -> bool:
    """Does a partner covering ``partner_sectors`` work in ``sector``?"""
    for code in partner_sectors:
        if code == sector:
            return True
        # A commune code (5 characters) covers its IRIS (commune code + 4 characters).
        if len(code) == 5 and len(sector) == 9 and sector.startswith(code):
            return True
    return False


def parse_codes(text: str) -> list[str]:
    """Sector codes typed one per line or separated by commas or semicolons."""
    parts = text.replace(";", ",").replace("\n", ",").split(",")
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))


# --- The national standard's vocabulary, read as Ancrage's publics and thematics ---------------
#
# One table for the three columns of the standard that say whom a place serves and how:
# ``publics_specifiquement_adresses``, ``prise_en_charge_specifique`` and ``services``. Each value
# of the standard (its exact French label) gives Ancrage publics (``"dimension:categorie"``) and
# thematic families (``diagnostic.cibles.FAMILLES``). A value that says nothing Ancrage can match
# maps to nothing, on purpose: the place's explanation still quotes it. docs/partenaires.md shows
# the same table to users; tests/partenaires/test_publics_standard.py checks that both agree and
# that every value of the standard's enumerations is in it.

STANDARD_TABLE: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "publics_specifiquement_adresses": {
        # The standard's former wording was "Jeunes (16-26 ans)": INSEE's 15-29 band holds it.
        "Jeunes": (("age:15-29",), ()),
        "Étudiants": (("activite:etudiant",), ()),
        "Familles et/ou enfants": (("age:0-14",), ("enfance, jeunesse et scolarité",)),
        "Seniors": (("age:60-74", "age:75+"), ("seniors et autonomie",)),
        "Femmes": (("sexe:F",), ()),
    },
    "prise_en_charge_specifique": {
        # Reading difficulties come with few diplomas; the census knows nothing finer.
        "Illettrisme": (("diplome:sans_diplome_ou_bepc",), ()),
        "Surdité": ((), ()),
        "Handicaps moteurs": ((), ()),
        "Handicaps mentaux": ((), ()),
        "Langues étrangères (anglais)": ((), ()),
        "Langues étrangères (autres)": ((), ()),
        "Déficience visuelle": ((), ()),
    },
    "services": {
        "Insertion professionnelle via le numérique": (
            ("activite:chomeur",),
            ("insertion et emploi", "développement économique"),
        ),
        "Aide aux démarches administratives": ((), ("démarches administratives",)),
        "Parentalité et éducation avec le numérique": (("age:0-14",), ("enfance, jeunesse et scolarité",)),
        "Loisirs et créations numériques": ((), ("enfance, jeunesse et scolarité",)),
        "Utilisation sécurisée du numérique": ((), ("seniors et autonomie",)),
        "Accès internet et matériel informatique": ((), ("aménagement du territoire",)),
        "Acquisition de matériel informatique à prix solidaire": (
            (),
            ("aménagement du territoire", "politique de la ville"),
        ),
        # Everyone's first steps: no public or family of its own (it is matched as a service).
        "Maîtrise des outils numériques du quotidien": ((), ()),
        "Compréhension du monde numérique": ((), ()),
    },
}


def from_standard(
    *,
    publics_specifiquement_adresses: Iterable[str] = (),
    prise_en_charge_specifique: Iterable[str] = (),
    services: Iterable[str] = (),
) -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """The publics and families a place of the standard declares, and where each came from.

    Returns ``(publics, familles, origin)``: ``origin`` maps each public and family to the
    standard's value that gave it first (« Jeunes », « Insertion professionnelle… »), so an
    explanation can say why.
    """
    publics: dict[str, str] = {}
    familles: dict[str, str] = {}
    columns = {
        "publics_specifiquement_adresses": publics_specifiquement_adresses,
        "prise_en_charge_specifique": prise_en_charge_specifique,
        "services": services,
    }
    for column, values in columns.items():
        table = STANDARD_TABLE[column]
        for value in values:
            keys, families = table.get(value, ((), ()))
            for key in keys:
                publics.setdefault(key, value)
            for famille in families:
                familles.setdefault(famille, value)
    return frozenset(publics), frozenset(familles), {**familles, **publics}
