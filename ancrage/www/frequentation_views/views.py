"""One usager's data, for the EPN's responsable: see it, export it (access, portability), erase it.

Every request is a POST once an identifiant is involved: the identifiant never appears in a URL,
so it never reaches the access logs of the server or of a proxy. The export and the erasure are
audited by the services (without the identifiant).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from ancrage.core.wording import nombre
from ancrage.diagnostic import rapport
from ancrage.frequentation import services
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import scope_for
from ancrage.www.frequentation_views.forms import EffacementForm, UsagerForm


def _epn_of_responsable(request, structure_id: int) -> Structure:
    scope = scope_for(request.user)
    if not scope.can_read_epn(structure_id):
        raise Http404
    structure = get_object_or_404(Structure, pk=structure_id, kind=StructureKind.EPN)
    if not scope.may(Permission.USAGER_DATA, structure.pk):
        raise PermissionDenied
    return structure


@login_required
def usager(request, structure_id: int):
    structure = _epn_of_responsable(request, structure_id)
    context = {"title": "Données d’un usager", "structure": structure, "form": UsagerForm()}
    if request.method != "POST":
        return render(request, "frequentation/usager.html", context)
    action = request.POST.get("action", "rechercher")
    form = (EffacementForm if action == "effacer" else UsagerForm)(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "frequentation/usager.html", context, status=400)
    identifiant = form.cleaned_data["identifiant"]
    try:
        if action == "exporter":
            rows = services.usager_export(
                acting_user=request.user, structure=structure, identifiant=identifiant
            )
            response = HttpResponse(rapport.csv_bytes(rows), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="usager-{structure.pk}.csv"'
            response["Cache-Control"] = "no-store"
            return response
        if action == "effacer":
            n = services.usager_erase(acting_user=request.user, structure=structure, identifiant=identifiant)
            messages.success(
                request,
                f"Les données de l’usager sont effacées ({nombre(n, 'enregistrement')}) ; "
                "les comptages du diagnostic sont recalculés.",
            )
            return redirect("frequentation:usager", structure_id=structure.pk)
    except ValidationError as error:
        form.add_error("identifiant", error)
        return render(request, "frequentation/usager.html", context, status=400)
    records = list(services.usager_records(structure=structure, identifiant=identifiant)[:200])
    context.update(
        {
            "records": records,
            "identifiant": identifiant,
            "searched": True,
            "effacement_form": EffacementForm(initial={"identifiant": identifiant}),
        }
    )
    response = render(request, "frequentation/usager.html", context)
    response["Cache-Control"] = "no-store"
    return response
