"""Calendar feeds: the page where an EPN's team or a partner's members manage their feed's
secret address, and the feed itself, which answers without login (``actions.agenda``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from ancrage.actions import agenda
from ancrage.actions.models import FluxAgenda
from ancrage.core.wording import de_nom
from ancrage.organisations.models import Structure


@login_required
def gerer(request):
    structures = list(agenda.managed_structures(request.user))
    if not structures:
        raise PermissionDenied(
            "Seules l’équipe d’un EPN et les organisations partenaires ont un calendrier en ligne."
        )
    feeds = {f.structure_id: f for f in FluxAgenda.objects.filter(structure__in=structures, actif=True)}
    rows = []
    for structure in structures:
        flux = feeds.get(structure.pk)
        rows.append(
            {
                "structure": structure,
                "flux": flux,
                "url": request.build_absolute_uri(agenda.path(flux)) if flux else "",
            }
        )
    return render(request, "agenda/gerer.html", {"title": "Calendrier en ligne", "rows": rows})


def _managed(request, pk) -> Structure:
    structure = get_object_or_404(Structure, pk=pk)
    if not agenda.may_manage(request.user, structure):
        raise Http404  # another organisation's feed: nothing says it exists
    return structure


@login_required
@require_POST
def regenerer(request, pk):
    structure = _managed(request, pk)
    existed = FluxAgenda.objects.filter(structure=structure, actif=True).exists()
    agenda.flux_regenerate(acting_user=request.user, structure=structure)
    if existed:
        messages.success(
            request,
            f"Nouvelle adresse du calendrier {de_nom(structure.nom)} : l’ancienne ne fonctionne plus. "
            "Abonnez de nouveau vos agendas.",
        )
    else:
        messages.success(request, f"Le calendrier en ligne {de_nom(structure.nom)} est activé.")
    return redirect("agenda:gerer")


@login_required
@require_POST
def desactiver(request, pk):
    structure = _managed(request, pk)
    if agenda.flux_deactivate(acting_user=request.user, structure=structure):
        messages.success(
            request,
            f"Le calendrier en ligne {de_nom(structure.nom)} est désactivé : son adresse ne répond plus.",
        )
    return redirect("agenda:gerer")


@require_safe  # GET, and HEAD for the clients that check before fetching
@never_cache
def flux(request, pk, cle):
    feed = agenda.lookup(pk, cle)
    if feed is None:
        raise Http404
    body = agenda.feed_bytes(
        feed.structure,
        base_url=request.build_absolute_uri("/").rstrip("/"),
        request_host=request.get_host(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="seances-{feed.structure_id}.ics"'
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
