"""Pages of a collectivité's territory: all its EPNs together, and the priorities it sets for them.

The territory view is its référent's and élu's (``permissions.TERRITOIRE_READERS``, in that
collectivité itself): anyone else gets a 404. The priorities are read by whoever sees the
collectivité or one of the EPNs attached to it (their diagnostics use them), and written by its
référent only (``permissions.PRIORITES_COLLECTIVITE_WRITERS``): a 403 for the other readers.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from ancrage.actions.models import ActionPartenaire
from ancrage.conventions import selectors as convention_selectors
from ancrage.conventions.enums import Etat
from ancrage.conventions.models import Convention
from ancrage.diagnostic import charts, collectivites, couverture, services
from ancrage.diagnostic.cibles import category_label
from ancrage.diagnostic.models import Priorite
from ancrage.organisations import permissions
from ancrage.organisations.models import Collectivite
from ancrage.organisations.scoping import scope_for
from ancrage.partenaires.models import Partenaire
from ancrage.www.diagnostic_views.forms import PrioriteForm
from ancrage.www.forms import add_validation_error


def _territory_collectivites(scope):
    if scope.is_superuser:
        return Collectivite.objects.all()
    ids = set()
    for role in permissions.TERRITOIRE_READERS:
        ids |= scope.collectivite_reach.get(role, frozenset())
    return Collectivite.objects.filter(pk__in=ids)


@login_required
def index(request):
    collectivites_ = list(_territory_collectivites(scope_for(request.user)).order_by("nom"))
    if len(collectivites_) == 1:
        return redirect("territoire:detail", pk=collectivites_[0].pk)
    return render(request, "territoire/index.html", {"title": "Territoire", "collectivites": collectivites_})


def _lieux(epns) -> dict:
    """Each EPN's place (its own entry of the directory), where it has coordinates."""
    return {
        p.structure_id: (p.longitude, p.latitude)
        for p in Partenaire.objects.filter(
            structure__in=epns, latitude__isnull=False, longitude__isnull=False
        )
    }


def _partenariats(epns) -> list[dict]:
    """The partner organisations in the actions of the territory's EPNs, with their actions."""
    rows: dict[int, dict] = {}
    for ap in (
        ActionPartenaire.objects.filter(action__structure__in=epns)
        .select_related("partenaire", "action__structure")
        .order_by("partenaire__nom", "action__titre")
    ):
        row = rows.setdefault(ap.partenaire_id, {"nom": ap.partenaire.nom, "actions": [], "epns": set()})
        row["actions"].append(ap.action)
        row["epns"].add(ap.action.structure.nom)
    return [{**r, "epns": sorted(r["epns"])} for r in rows.values()]


def _conventions_en_vigueur(epns) -> list:
    conventions = (
        Convention.objects.filter(structure__in=epns)
        .select_related("structure")
        .prefetch_related("partenaires")
        .order_by("date_debut", "id")
    )
    return [c for c in conventions if convention_selectors.effective_etat(c) == Etat.EN_VIGUEUR]


@login_required
def detail(request, pk: int):
    scope = scope_for(request.user)
    collectivite = get_object_or_404(Collectivite, pk=pk)
    if not permissions.may_collectivite(scope, permissions.TERRITOIRE_READERS, collectivite.pk):
        raise Http404
    epns = collectivites.epns_of(collectivite)
    territoire = collectivites.territoire_of(collectivite, lieux=_lieux(epns))
    couv = territoire.couverture
    numeros = {e.pk: i for i, e in enumerate(territoire.epns, start=1)}
    carte = charts.territoire_map(
        territoire.dessin,
        couv.secteurs,
        territoire.noms,
        lieux=[(numeros[e.pk], e.nom, e.pk) for e in territoire.epns],
    )
    epn_rows = []
    for e in territoire.epns:
        d = territoire.diagnostics.get(e.pk)
        epn_rows.append(
            {
                "numero": numeros[e.pk],
                "epn": e,
                "diagnostic": d,
                "cumule": e.pk in couv.epns_cumules,
                "usagers": sum(s.par_epn.get(e.pk, 0) for s in couv.secteurs),
                "secteurs_atteints": sum(1 for s in couv.secteurs if s.par_epn.get(e.pk, 0) > 0),
            }
        )
    noms_epn = {e.pk: e.nom for e in territoire.epns}
    secteurs = [
        {
            "s": s,
            "nom": territoire.noms.get(s.code, s.code),
            "par_epn": [(noms_epn[i], n) for i, n in s.par_epn.items() if n],
        }
        for s in couv.secteurs
    ]
    non_atteints = [r for r in secteurs if r["s"].non_atteint]
    return render(
        request,
        "territoire/detail.html",
        {
            "title": f"Territoire — {collectivite.nom}",
            "collectivite": collectivite,
            "can_edit_priorites": permissions.may_collectivite(
                scope, permissions.PRIORITES_COLLECTIVITE_WRITERS, collectivite.pk
            ),
            "territoire": territoire,
            "couverture": couv,
            "epn_rows": epn_rows,
            "carte": carte,
            "secteurs": secteurs,
            "non_atteints": non_atteints,
            "non_atteints_robustes": [r for r in non_atteints if not r["s"].attendus_faibles],
            "publics_sous_representes": couv.publics_sous_representes,
            "seuil_indice": couverture.SEUIL_INDICE,
            "partenariats": _partenariats(territoire.epns),
            "conventions": _conventions_en_vigueur(territoire.epns),
        },
    )


def _historique(entry) -> dict:
    """One change of the collectivité's priorities, in words."""
    changes = entry.changes or {}
    if "priorites" in changes:
        before, after = changes["priorites"]
        quoi = f"priorités remplacées ({changes.get('origine', 'saisie')}) : " + (
            ", ".join(after) or "aucune"
        )
        if before:
            quoi += f" ; auparavant : {', '.join(before)}"
    else:
        theme = changes.get("priorite", "")
        details = []
        if "poids" in changes:
            details.append(f"poids {changes['poids']:g}".replace(".", ","))
        for dimension, categorie in changes.get("categories", []):
            details.append(category_label(dimension, categorie))
        if changes.get("qpv"):
            details.append("quartiers prioritaires")
        verbe = {"create": "ajoutée", "update": "modifiée", "delete": "retirée"}.get(
            entry.action, entry.action
        )
        quoi = f"priorité « {theme} » {verbe}" + (f" ({', '.join(details)})" if details else "")
    return {"at": entry.at, "auteur": entry.actor_label or "le système", "quoi": quoi}


def _may_read_priorites(scope, collectivite) -> bool:
    if scope.is_superuser or collectivite.pk in scope.collectivite_ids:
        return True
    return collectivite.epns.filter(pk__in=scope.epn_ids).exists()


@login_required
def priorites(request, pk: int):
    scope = scope_for(request.user)
    collectivite = get_object_or_404(Collectivite, pk=pk)
    if not _may_read_priorites(scope, collectivite):
        raise Http404
    can_write = permissions.may_collectivite(
        scope, permissions.PRIORITES_COLLECTIVITE_WRITERS, collectivite.pk
    )
    form = PrioriteForm(request.POST or None)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "reinitialiser":
            services.priorites_reset(acting_user=request.user, collectivite=collectivite)
            messages.success(request, "Priorités de la collectivité remises à leurs valeurs par défaut.")
            return redirect("territoire:priorites", pk=collectivite.pk)
        if action == "supprimer":
            try:
                priorite_id = int(request.POST.get("priorite", ""))
            except ValueError:
                raise Http404 from None
            priorite = get_object_or_404(Priorite, collectivite=collectivite, pk=priorite_id)
            services.priorite_delete(acting_user=request.user, priorite=priorite)
            messages.success(request, f"Priorité « {priorite.theme} » retirée.")
            return redirect("territoire:priorites", pk=collectivite.pk)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.priorite_save(
                    acting_user=request.user,
                    collectivite=collectivite,
                    theme=data["theme"],
                    poids=data["poids"],
                    categories=form.categories(),
                    qpv=data["qpv"],
                )
            except ValidationError as exc:
                add_validation_error(form, exc)
            else:
                messages.success(
                    request,
                    f"Priorité « {data['theme']} » enregistrée : les prochains diagnostics des EPN "
                    "du territoire l’utiliseront.",
                )
                return redirect("territoire:priorites", pk=collectivite.pk)
    stored = list(Priorite.objects.filter(collectivite=collectivite))
    historique = [_historique(e) for e in services.priorites_historique(collectivite)[:50]]
    return render(
        request,
        "territoire/priorites.html",
        {
            "title": f"Priorités de la collectivité — {collectivite.nom}",
            "collectivite": collectivite,
            "can_write": can_write,
            "can_read_territoire": permissions.may_collectivite(
                scope, permissions.TERRITOIRE_READERS, collectivite.pk
            ),
            "stored": stored,
            "priorites": services.priorites_collectivite_of(collectivite),
            "epns": collectivite.epns.order_by("nom"),
            "historique": historique,
            "noms_secteurs": {},
            "masquees": (),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )
