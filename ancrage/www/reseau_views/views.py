"""The network dashboard of the coordinateur: each EPN's indicators and their total, the funnel
plot of their reach, the exports and the network bilan annuel.

Only the readers of ``permissions.NETWORK_READERS`` (and the operator) open these pages: anyone
else gets a 403, and the figures cover only the EPNs of the réseaux the user coordinates
(``reseau.selectors``).
"""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.organisations.models import Collectivite, Reseau
from ancrage.organisations.scoping import scope_for
from ancrage.reseau import bilan, exports, selectors
from ancrage.suivi.selectors import today
from ancrage.www.reseau_views.forms import FiltreReseauForm

FILTERS = ("collectivite", "debut", "fin")


def _check(request) -> None:
    if not selectors.may_read(request.user):
        raise PermissionDenied


def _reseaux(request) -> list[str]:
    scope = scope_for(request.user)
    reseaux = Reseau.objects.visible_to(scope)
    if not scope.is_superuser:
        reseaux = reseaux.filter(id__in=scope.reseau_ids)
    return list(reseaux.values_list("nom", flat=True))


def _filters(request):
    """The form, and the filters it gives (None when invalid). Without any filter in the request,
    the period is the current calendar year, as the bilan annuel's."""
    collectivites = list(selectors.collectivites_for(request.user))
    if any(key in request.GET for key in FILTERS):
        data = request.GET
    else:
        year = today().year
        data = {"debut": dt.date(year, 1, 1).isoformat(), "fin": dt.date(year, 12, 31).isoformat()}
    form = FiltreReseauForm(data, collectivites=collectivites)
    if not form.is_valid():
        return form, None
    return form, {key: form.cleaned_data[key] for key in FILTERS}


def _indicators(request, filters):
    try:
        return selectors.network_indicators(request.user, **filters)
    except Collectivite.DoesNotExist:
        raise Http404 from None


@login_required
def tableau(request):
    _check(request)
    form, filters = _filters(request)
    network = _indicators(request, filters) if filters is not None else None
    context = {
        "title": "Tableau de bord du réseau",
        "reseaux": ", ".join(_reseaux(request)),
        "form": form,
        "network": network,
        "annees": range(today().year, today().year - 3, -1),
        "collectivite_id": filters["collectivite"] if filters else None,
    }
    if network is not None:
        context.update(bilan.presentation(network))
    return render(request, "reseau/tableau.html", context)


@login_required
def export(request, fmt: str):
    _check(request)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    _, filters = _filters(request)
    if filters is None:
        raise Http404
    network = _indicators(request, filters)
    audit_record(
        acting_user=request.user,
        action=AuditAction.DOWNLOAD,
        changes={"document": f"indicateurs du réseau ({fmt})", "lieux": len(network.epns)},
    )
    if fmt == "xlsx":
        response = HttpResponse(
            exports.xlsx_bytes(network),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(exports.csv_bytes(network), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="indicateurs-reseau.{fmt}"'
    return response


@login_required
def bilan_pdf(request):
    _check(request)
    try:
        year = int(request.GET.get("annee") or today().year)
        collectivite = int(request.GET["collectivite"]) if request.GET.get("collectivite") else None
    except ValueError:
        raise Http404 from None
    if not 2000 <= year <= today().year:
        raise Http404
    try:
        content = bilan.render_bilan_reseau_pdf(
            request.user, year, collectivite=collectivite, reseaux=_reseaux(request)
        )
    except Collectivite.DoesNotExist:
        raise Http404 from None
    audit_record(
        acting_user=request.user,
        action=AuditAction.DOWNLOAD,
        changes={"document": f"bilan annuel {year} du réseau"},
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="bilan-{year}-reseau.pdf"'
    return response
