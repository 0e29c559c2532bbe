"""Template filters for French wording and named sectors: ``{% load francais %}``.

Thin wrappers over the pure modules ``ancrage.core.wording`` (plurals, elision, agreement) and
``ancrage.territoire.libelles`` (a sector's label), so that pages, PDFs and e-mails word things
the same way as the code does.
"""

from django import template
from django.utils.html import format_html

from ancrage.core import wording
from ancrage.diagnostic.cibles import category_label, dimension_label
from ancrage.territoire import libelles

register = template.Library()


@register.filter
def nombre(count, formes: str) -> str:
    """``{{ n|nombre:"usager" }}`` → « 1 usager », « 2 usagers »; ``"lieu,lieux"`` for an irregular plural."""
    singulier, _, pluriel = formes.partition(",")
    try:
        value = float(count)
    except (TypeError, ValueError):
        value = 0
    written = str(count if count not in (None, "") else 0)
    return wording.nombre(value, singulier, pluriel or None, chiffre=written)


@register.filter
def pluriel(count, formes: str) -> str:
    """``{{ n|pluriel:"usager" }}``: the noun only, in the form ``n`` asks for."""
    singulier, _, pluriel_ = formes.partition(",")
    try:
        value = float(count)
    except (TypeError, ValueError):
        value = 0
    return wording.pluriel(value, singulier, pluriel_ or None)


@register.filter
def de_nom(nom) -> str:
    """``de {{ nom }}`` written right: « de l’EPN du Blosne », « d’Espace social commun »."""
    return wording.de_nom(str(nom or ""))


@register.filter
def elide(word, little_word: str) -> str:
    """``{{ nom|elide:"que" }}`` → « qu’Espace… », ``{{ nom|elide:"de" }}`` → « d’Espace… »."""
    return wording.elide(little_word, str(word or ""))


@register.filter
def secteur(code, noms=None):
    """A sector by its name, its code after it in small type: ``{{ code|secteur:noms }}``.

    ``noms``: code → label (``territoire.services.secteur_noms``, or ``libelles.noms_secteurs`` of
    a result). A sector without a name shows its code.
    """
    code = str(code or "")
    label = libelles.libelle_secteur(code, (noms or {}).get(code))
    if label == code:
        return code
    return format_html('{} <span class="ancrage-code">({})</span>', label, code)


@register.filter
def secteur_ligne(row):
    """A row of a result's ``secteurs`` (``{"code": …, "nom": …}``), as :func:`secteur` writes it."""
    code = str(row.get("code") or "")
    return secteur(code, {code: row.get("nom")})


@register.filter
def secteur_nom(code, noms=None) -> str:
    """A sector's label alone (``title``, ``aria-label``, plain text)."""
    code = str(code or "")
    return libelles.libelle_secteur(code, (noms or {}).get(code))


@register.filter
def code_secteur(code):
    """A code written after a name that is already shown: small type, not read as a name."""
    return format_html('<span class="ancrage-code">({})</span>', code)


@register.filter
def niveau(value) -> str:
    """« iris » → « IRIS », « commune » → « communes »."""
    return libelles.niveau_label(value)


@register.filter
def dimension(value) -> str:
    """« activite » → « Situation d'activité (15-64 ans) »."""
    return dimension_label(value)


@register.filter
def categorie(value, dimension_) -> str:
    """``{{ c.categorie|categorie:c.dimension }}`` → « chômeurs (15-64 ans) »."""
    return category_label(dimension_, value)
