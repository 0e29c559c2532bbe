"""The network's bilan annuel, in PDF: each EPN's figures over one calendar year, their total, the
partnerships, the conventions near their échéance, the dossiers and the funnel plot of the EPNs'
reach.

The figures are ``selectors.network_indicators`` over the year, so each EPN's line says what that
EPN's own bilan annuel says (``suivi.bilan``), on the same day of the situation (the year's end,
or today). The charts are inline SVG (``suivi.charts``, ``diagnostic.charts``); the PDF goes
through ``core.pdf`` (PDF/A-3b, tagged), as every PDF of Ancrage.
"""

from __future__ import annotations

import datetime as dt

from django.template.loader import render_to_string
from django.utils import timezone

from ancrage.core.pdf import html_to_pdf
from ancrage.diagnostic import charts as diagnostic_charts
from ancrage.dossiers.workflow import STATE_LABELS
from ancrage.reseau import exports
from ancrage.reseau import indicators as pure
from ancrage.reseau.selectors import network_indicators
from ancrage.suivi import charts

#: Up to this many EPNs, the funnel plot writes each one's name beside its point.
LABELLED_POINTS = 12


def presentation(network: pure.NetworkIndicators) -> dict:
    """What the page and the PDF show besides the figures: the charts and the reach's table."""
    rows = pure.funnel_rows(network)
    funnel = diagnostic_charts.funnel_chart(
        rows, objet="lieu", objets="lieux", etiquettes=len(rows) <= LABELLED_POINTS
    )
    sig3 = diagnostic_charts.sig3
    reach = [
        {
            "e": e,
            "population": sig3(e.portee.population, 0),
            "attendus": sig3(e.portee.attendus, 0),
            "ratio": sig3(e.portee.ratio),
            "ic": f"{sig3(e.portee.ratio_ic95[0])} – {sig3(e.portee.ratio_ic95[1])}"
            if e.portee.ratio_ic95
            else "—",
        }
        for e in network.epns
        if e.portee is not None
    ]
    return {
        "network": network,
        "periode": pure.period_label(network.debut, network.fin),
        "chart_entonnoir": funnel,
        "chart_participants": charts.bar_chart([(e.nom, e.figures.participants) for e in network.epns])
        if network.total.participants
        else None,
        "portees": reach,
        "etats_dossiers": [(s.value, STATE_LABELS[s]) for s in pure.DOSSIER_STATES],
        "definitions": exports.DEFINITIONS,
    }


def bilan_reseau_of(user, year: int, *, collectivite=None, on: dt.date | None = None) -> dict:
    year_end = dt.date(year, 12, 31)
    # The situation on the year's end, or on ``on`` if earlier: as each EPN's bilan annuel says it.
    network = network_indicators(
        user,
        collectivite=collectivite,
        debut=dt.date(year, 1, 1),
        fin=year_end,
        on=min(on, year_end) if on else None,
    )
    return {"annee": year, **presentation(network)}


def render_bilan_reseau_pdf(user, year: int, *, collectivite=None, reseaux=(), on=None) -> bytes:
    context = bilan_reseau_of(user, year, collectivite=collectivite, on=on)
    context["reseaux"] = ", ".join(reseaux)
    context["genere_le"] = timezone.localtime()
    return html_to_pdf(render_to_string("reseau/bilan_pdf.html", context))
