"""The dossier as documents: the whole dossier in PDF, and the decision attestation.

WeasyPrint renders HTML templates (``ancrage.core.pdf``, which fetches nothing); the charts of
the diagnostic are inline SVG drawn from the dossier's copy of the diagnostic
(``ancrage.diagnostic.charts``).
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from ancrage.actions import budget
from ancrage.actions.models import budget_lines_of
from ancrage.core.pdf import html_to_pdf
from ancrage.diagnostic import charts
from ancrage.dossiers.models import Dossier, Traitement
from ancrage.dossiers.workflow import STATE_LABELS, DossierState


def _safe_chart(function, *args):
    # A copy made from an older diagnostic may lack a field the chart needs: no chart then,
    # the tables still say it all.
    try:
        return function(*args)
    except (KeyError, TypeError, ValueError):
        return None


def diagnostic_charts(dossier: Dossier) -> dict:
    extrait = dossier.snapshot_diagnostic or {}
    dimension = extrait.get("dimension")
    return {
        "chart_categories": _safe_chart(charts.categories_chart, extrait.get("categories", []), dimension)
        if dimension
        else None,
        "chart_secteurs": _safe_chart(charts.secteurs_chart, extrait.get("secteurs", []), 25),
        "secteurs_vises": [
            s for s in extrait.get("secteurs", []) if s.get("code") in set(extrait.get("secteurs_vises", []))
        ],
    }


def budget_context(dossier: Dossier) -> dict:
    charges, ressources = dossier.budget_rows()
    return {
        "summary": budget.summarise(*budget_lines_of(charges, ressources)),
        "charges": charges,
        "ressources": ressources,
        "euros": budget.format_euros,
    }


def dossier_context(dossier: Dossier) -> dict:
    return {
        "dossier": dossier,
        "supports": list(dossier.supports.all()),
        "pieces": list(dossier.pieces.defer("contenu")),
        "traitements": list(dossier.traitements.order_by("sequence")),
        **budget_context(dossier),
        **diagnostic_charts(dossier),
        "generated_at": timezone.now(),
    }


def render_dossier_pdf(dossier: Dossier) -> bytes:
    return html_to_pdf(render_to_string("dossiers/dossier_pdf.html", dossier_context(dossier)))


def attestation_context(
    dossier: Dossier, entry: Traitement | None = None, *, preview: dict | None = None
) -> dict:
    """The decision ``entry`` (the last decision by default), or a ``preview`` of one not yet sent."""
    if preview is not None:
        decision = {
            "etat": STATE_LABELS[DossierState(preview["etat"])],
            "motivation": preview["motivation"],
            "acteur": preview["acteur"],
            "at": timezone.now(),
        }
    else:
        entry = (
            entry
            or dossier.traitements.filter(etat_apres__in=["accepte", "refuse", "sans_suite"])
            .order_by("-sequence")
            .first()
        )
        if entry is None:
            raise ValueError("Ce dossier n’a pas encore de décision.")
        decision = {
            "etat": entry.get_etat_apres_display(),
            "motivation": entry.motivation,
            "acteur": entry.acteur_label,
            "at": entry.at,
            "hash": entry.hash,
            "sequence": entry.sequence,
        }
    return {
        "dossier": dossier,
        "decision": decision,
        "preview": preview is not None,
        "collectivite": dossier.structure.collectivite,
        **budget_context(dossier),
    }


def render_attestation_pdf(
    dossier: Dossier, entry: Traitement | None = None, *, preview: dict | None = None
) -> bytes:
    return html_to_pdf(
        render_to_string(
            "dossiers/attestation_pdf.html", attestation_context(dossier, entry, preview=preview)
        )
    )
