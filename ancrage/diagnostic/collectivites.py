"""A collectivité's territory, all its EPNs together, read from the database (``couverture`` adds up).

Each EPN of the collectivité's territory (``scoping.territory_epn_ids``: attached to it, or in one
of its communes) brings the figures of its latest saved diagnostic; nothing else of another
collectivité is read. The result holds aggregates only: per sector and per public, never a usager.
"""

from __future__ import annotations

from dataclasses import dataclass

from ancrage.diagnostic import couverture as pure
from ancrage.diagnostic.models import Diagnostic
from ancrage.diagnostic.services import priorites_collectivite_of
from ancrage.frequentation.models import Unite
from ancrage.organisations import cog
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.scoping import territory_epn_ids
from ancrage.territoire import geo
from ancrage.territoire.models import Secteur


@dataclass(frozen=True)
class Territoire:
    collectivite: object
    epns: list  # Structure, by name
    diagnostics: dict  # EPN id -> its latest Diagnostic (absent: none)
    couverture: pure.Couverture
    priorites: list  # the collectivité's (pure Priorite), or the defaults
    noms: dict  # sector code -> name
    dessin: dict | None  # geo.svg_paths of the sectors with an outline, and the EPNs' points


def epns_of(collectivite) -> list[Structure]:
    ids = territory_epn_ids([collectivite.pk]).get(collectivite.pk, set())
    return list(Structure.objects.filter(kind=StructureKind.EPN, pk__in=ids).order_by("nom"))


def latest_diagnostics(epns) -> dict[int, Diagnostic]:
    """Each EPN's latest saved diagnostic: found by ids first, so that only those results are read."""
    latest: dict[int, int] = {}
    for pk, structure_id in (
        Diagnostic.objects.filter(structure__in=epns).latest_first().values_list("id", "structure_id")
    ):
        latest.setdefault(structure_id, pk)
    return {d.structure_id: d for d in Diagnostic.objects.filter(pk__in=latest.values())}


def _epn_figures(epn, diagnostic: Diagnostic | None) -> pure.EpnCouverture:
    if diagnostic is None:
        return pure.EpnCouverture(epn_id=epn.pk, nom=epn.nom, niveau=None)
    r = diagnostic.resultat
    return pure.EpnCouverture(
        epn_id=epn.pk,
        nom=epn.nom,
        niveau=diagnostic.niveau,
        unite=pure.PERSONNES if diagnostic.unite == Unite.PERSONNES else diagnostic.unite,
        secteurs=tuple(
            pure.SecteurEpn(
                s["code"], s.get("nom") or s["code"], s.get("population"), int(s.get("usagers") or 0)
            )
            for s in r.get("secteurs", [])
        ),
        categories=tuple(
            pure.CategorieEpn(c["dimension"], c["categorie"], c.get("population"), int(c.get("usagers") or 0))
            for c in r.get("categories", [])
        ),
        # Identifiers are each EPN's own pseudonyms: no key is shared (see ``couverture``).
        cles=None,
        espace_cles=None,
    )


def _noms(couv: pure.Couverture) -> dict[str, str]:
    noms = {}
    for s in couv.secteurs:
        nom = s.nom
        if nom == s.code and len(s.code) == 5:
            try:
                nom = cog.commune(s.code).nom
            except cog.UnknownCode:
                pass
        noms[s.code] = nom
    return noms


def _dessin(epns, niveau: str | None, lieux) -> dict | None:
    """The outlines of the territory's IRIS (the first EPN's of each code), and each EPN's place."""
    if niveau != "iris":
        return None
    contours = {}
    for code, contour in (
        Secteur.objects.filter(structure__in=epns, contour__isnull=False)
        .order_by("structure_id", "code")
        .values_list("code", "contour")
    ):
        contours.setdefault(code, contour)
    if not contours:
        return None
    return geo.svg_paths(contours, points=lieux or {})


def territoire_of(collectivite, lieux=None) -> Territoire:
    """``lieux``: EPN id -> (longitude, latitude) of its place, drawn on the map when it has one
    (the EPN's own entry of the directory: ``partenaires``, which the pages read)."""
    epns = epns_of(collectivite)
    diagnostics = latest_diagnostics(epns)
    priorites = priorites_collectivite_of(collectivite)
    qpv = set(Secteur.objects.filter(structure__in=epns, qpv=True).values_list("code", flat=True))
    couv = pure.couverture([_epn_figures(e, diagnostics.get(e.pk)) for e in epns], priorites, qpv)
    return Territoire(
        collectivite=collectivite,
        epns=epns,
        diagnostics=diagnostics,
        couverture=couv,
        priorites=priorites,
        noms=_noms(couv),
        dessin=_dessin(epns, couv.niveau, lieux),
    )
