"""Choosing an organisation among hundreds: the widgets and the order of their options.

Every choice of an organisation (invitations, convention signatories, « orienté par » on an
attendance sheet, a partner of an action) renders a plain ``<select>`` (or checkboxes), which
works without JavaScript, marked for ``static/ancrage/picker.js``: the script turns a select into
an ARIA combobox that filters its own options as one types, and puts a filter box above a group
of checkboxes. The options are already in the page, so no search endpoint is needed: nothing can
be asked for that the form does not already show to this user. The script is a same-origin file
(the CSP's ``script-src 'self'``), never inline.

The order helps where the list is long: the action's own partners first, then the nearest to the
EPN (from the coordinates of their places), then every other one alphabetically.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms

from ancrage.partenaires.location import distance_km
from ancrage.partenaires.services import lieu_epn_of

NEAREST = 5
FIRST_LABEL = "Partenaires de l’action"
NEAREST_LABEL = "Les plus proches de l’EPN"
OTHERS_LABEL = "Tous les autres (A–Z)"


class OrganisationSelect(forms.Select):
    """A select the picker script turns into a type-ahead (a combobox over its options)."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"data-picker": "organisation", **(attrs or {})}, choices)


class OrganisationCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes the picker script gives a filter box."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"data-picker": "filtre", **(attrs or {})}, choices)


def _point(structure):
    fiche = getattr(structure, "fiche_partenaire", None)
    if fiche is None or fiche.latitude is None or fiche.longitude is None:
        return None
    return fiche.latitude, fiche.longitude


def ordered_organisations(
    structures: Iterable, *, first_ids: Iterable[int] = (), origin=None, nearest: int = NEAREST
) -> list[tuple[str, list]]:
    """The organisations in three groups (empty groups left out): ``first_ids``, then the
    ``nearest`` closest to ``origin`` (lat, lon), then the others by name. Each organisation once.

    ``structures`` should carry their directory entry (``select_related("fiche_partenaire")``)
    for the distances; without an origin there is no "nearest" group.
    """
    items = sorted(structures, key=lambda s: (s.nom.casefold(), s.pk))
    first = set(first_ids)
    head = [s for s in items if s.pk in first]
    rest = [s for s in items if s.pk not in first]
    near = []
    if origin is not None:
        located = [(distance_km(origin[0], origin[1], *point), s) for s in rest if (point := _point(s))]
        located.sort(key=lambda pair: (pair[0], pair[1].nom.casefold(), pair[1].pk))
        near = [s for _, s in located[:nearest]]
        rest = [s for s in rest if s not in near]
    groups = [(FIRST_LABEL, head), (NEAREST_LABEL, near), (OTHERS_LABEL, rest)]
    return [(label, members) for label, members in groups if members]


def grouped_choices(groups: list[tuple[str, list]], *, empty_label: str | None = None) -> list:
    """Choices for a select: one ``<optgroup>`` per group, or a flat list when there is one group."""
    choices: list = [("", empty_label)] if empty_label is not None else []
    if len(groups) == 1:
        return choices + [(s.pk, s.nom) for s in groups[0][1]]
    return choices + [(label, [(s.pk, s.nom) for s in members]) for label, members in groups]


def flat_choices(groups: list[tuple[str, list]]) -> list:
    """Choices in the groups' order, without groups (for checkboxes)."""
    return [(s.pk, s.nom) for _, members in groups for s in members]


def epn_origin(epn):
    """The EPN's coordinates (its own place's), or None."""
    lieu = lieu_epn_of(epn) if epn is not None else None
    if lieu is None or lieu.latitude is None or lieu.longitude is None:
        return None
    return (lieu.latitude, lieu.longitude)


def organisation_groups(queryset, *, epn, first_ids: Iterable[int] = ()) -> list[tuple[str, list]]:
    """``ordered_organisations`` over a queryset of structures, from the EPN's place."""
    return ordered_organisations(
        queryset.select_related("fiche_partenaire"), first_ids=first_ids, origin=epn_origin(epn)
    )
