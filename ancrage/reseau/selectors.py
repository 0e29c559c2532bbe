"""Reads of the network dashboard: each EPN's figures through that EPN's own selectors.

``network_indicators(user, collectivite=…, debut=…, fin=…)`` is the one function the page, the
exports, the network bilan and the API call. Each figure comes from what the EPN's own pages
read, so that the network's figures are the sum of those pages':

- sessions, presences, participants and new publics: ``suivi.bilan.activite_of`` (the bilan
  annuel's activity, over the period);
- the three questions: ``suivi.selectors.three_questions_of`` on the day of the situation;
- the conventions near their échéance: ``conventions.selectors.expiry_alerts`` over the EPN's
  signed conventions (the conventions page's alerts);
- the dossiers by state: ``dossiers.selectors.dossiers_visible_to`` (the dossiers page), once
  deposited (a brouillon is the EPN's own draft);
- the reach: the EPN's latest diagnostic, the one the three questions read its targets from.

Scoping: the EPNs are those the user reads as coordinateur (``permissions.network_epns``), among
``Structure.objects.visible_to(user)``; a user who coordinates no réseau gets none.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from ancrage.actions.models import Action
from ancrage.conventions import selectors as convention_selectors
from ancrage.conventions.enums import Etat as ConventionEtat
from ancrage.conventions.models import Convention
from ancrage.diagnostic.models import Diagnostic
from ancrage.dossiers.selectors import dossiers_visible_to
from ancrage.dossiers.workflow import DossierState
from ancrage.organisations import permissions
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Collectivite, Structure
from ancrage.organisations.scoping import scope_for
from ancrage.reseau import indicators as pure
from ancrage.suivi import bilan
from ancrage.suivi import selectors as suivi_selectors


def may_read(user) -> bool:
    """Whether the user reads the network dashboard (a coordinateur, or the operator)."""
    scope = scope_for(user)
    return scope.is_superuser or permissions.holds_any(scope.roles, permissions.NETWORK_READERS)


def network_epns(user):
    """The EPNs of the network dashboard: those of the réseaux the user coordinates."""
    scope = scope_for(user)
    epns = Structure.objects.visible_to(scope).filter(kind=StructureKind.EPN)
    if not scope.is_superuser:
        epns = epns.filter(pk__in=permissions.network_epns(scope))
    return epns


def collectivites_for(user):
    """The collectivités the dashboard may be filtered by: those of the dashboard's EPNs' réseaux."""
    reseaux = network_epns(user).values("reseau_id")
    return Collectivite.objects.visible_to(user).filter(reseau_id__in=reseaux).order_by("nom")


def _in_collectivite(epns, collectivite: Collectivite):
    """The EPNs attached to the collectivité or located in its communes (as its référent sees them)."""
    codes = [c.code for c in collectivite.communes()]
    return epns.filter(
        Q(collectivite=collectivite) | Q(reseau_id=collectivite.reseau_id, code_commune__in=codes)
    )


def latest_diagnostic(epn) -> Diagnostic | None:
    """The EPN's latest diagnostic (what ``suivi.selectors.current_targets`` reads)."""
    return Diagnostic.objects.for_structure(epn).latest_first().first()


def _portee(diagnostic) -> pure.Portee | None:
    if diagnostic is None:
        return None
    usagers, population = pure.reach_of(diagnostic.resultat.get("secteurs", []))
    return pure.Portee(diagnostic.pk, diagnostic.titre, usagers, population)


def situation_day(fin: dt.date | None, today: dt.date | None = None) -> dt.date:
    """The day of the partnerships, conventions and dossiers: the period's end, if it has passed."""
    today = today or suivi_selectors.today()
    return min(fin, today) if fin else today


def network_indicators(
    user,
    *,
    collectivite: Collectivite | int | None = None,
    debut: dt.date | None = None,
    fin: dt.date | None = None,
    on: dt.date | None = None,
) -> pure.NetworkIndicators:
    """Each EPN's indicators and their total. ``collectivite``: one of ``collectivites_for(user)``
    (another is ``Collectivite.DoesNotExist``); ``debut``/``fin``: the period of the sessions
    (None: no bound); ``on``: the day of the situation (by default the period's end, or today)."""
    if debut and fin and debut > fin:
        raise ValidationError("La date de début de la période est après sa date de fin.")
    au = on or situation_day(fin)
    every_epn = network_epns(user).select_related("collectivite")
    epns = every_epn
    nom_collectivite = ""
    if collectivite is not None:
        pk = collectivite.pk if isinstance(collectivite, Collectivite) else collectivite
        collectivite = collectivites_for(user).get(pk=pk)
        epns = _in_collectivite(epns, collectivite)
        nom_collectivite = collectivite.nom
    epns = list(epns.order_by("nom", "pk"))
    ids = [e.pk for e in epns]

    actions = dict(
        Action.objects.visible_to(user)
        .filter(structure_id__in=ids)
        .values_list("structure_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    dossiers = defaultdict(dict)
    for structure_id, etat, n in (
        dossiers_visible_to(user)
        .filter(structure_id__in=ids)
        .exclude(etat=DossierState.BROUILLON)
        .values_list("structure_id", "etat")
        .annotate(n=Count("id"))
        .order_by()
    ):
        dossiers[structure_id][etat] = n
    signed = defaultdict(list)
    for c in Convention.objects.visible_to(user).filter(structure_id__in=ids, etat=ConventionEtat.SIGNEE):
        signed[c.structure_id].append(c)

    rows, portees = [], []
    for epn in epns:
        activite = bilan.activite_of(epn, debut, fin)
        dashboard = suivi_selectors.three_questions_of(epn, au)
        q = dashboard.questions
        alerts = convention_selectors.expiry_alerts(signed[epn.pk], au)
        figures = pure.Figures(
            actions=actions.get(epn.pk, 0),
            actions_menees=len(activite.lines),
            seances=activite.seances,
            presences=activite.presences,
            participants=activite.participants,
            nouveaux_publics=activite.nouveaux_publics,
            partenariats=len(dashboard.partnerships),
            partenaires_nouveaux_publics=sum(1 for r in q.partners_for_new_publics if r.new_publics_sent > 0),
            partenariats_a_risque=len(q.at_risk),
            partenariats_a_surveiller=len(q.to_watch),
            partenariats_sans_convention=len(q.without_convention),
            conventions_echeance=len(alerts),
            dossiers=dict(dossiers.get(epn.pk, {})),
        )
        portee = _portee(dashboard.diagnostic)  # the latest, as the three questions read it
        if portee is not None:
            portees.append(portee)
        rows.append(
            (
                epn,
                figures,
                tuple(pure.Echeance(a.convention_id, a.title, a.end, a.days_left, a.message) for a in alerts),
                portee,
            )
        )
    # The funnel's reference is the whole network's rate, whatever the filter: an EPN's point does
    # not move when the dashboard shows only its collectivité.
    others = []
    if collectivite is not None:
        hidden = every_epn.exclude(pk__in=[epn.pk for epn in epns])
        others = [p for p in (_portee(latest_diagnostic(epn)) for epn in hidden) if p is not None]
    placed = dict(
        zip([id(p) for p in portees], pure.place_on_funnel([*portees, *others])[: len(portees)], strict=True)
    )
    result = tuple(
        pure.EpnIndicators(
            epn_id=epn.pk,
            nom=epn.nom,
            collectivite=epn.collectivite.nom if epn.collectivite else "",
            figures=figures,
            echeances=echeances,
            portee=placed[id(portee)] if portee is not None else None,
        )
        for epn, figures, echeances, portee in rows
    )
    return pure.NetworkIndicators(
        debut=debut,
        fin=fin,
        au=au,
        collectivite=nom_collectivite,
        epns=result,
        total=pure.Figures.total(e.figures for e in result),
    )
