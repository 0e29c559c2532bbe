from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ancrage.actions.models import Action
from ancrage.audit.models import AuditEntry
from ancrage.core.jobs import TooManyImports
from ancrage.organisations import permissions
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import scope_for
from ancrage.partenaires import jobs, services
from ancrage.partenaires.models import Contact, ImportAnnuaire, Partenaire
from ancrage.partenaires.publics import public_label
from ancrage.territoire.services import secteur_noms
from ancrage.www.forms import add_validation_error
from ancrage.www.partenaires_views.forms import ContactForm, ImportForm, LieuEpnForm, PartenaireForm

PAGE_SIZE = 25
EDITABLE = (
    "typologies",
    "siret",
    "rna",
    "adresse",
    "code_postal",
    "commune",
    "code_insee",
    "telephone",
    "courriels",
    "familles",
    "services",
    "publics_touches",
    "secteurs",
    "savoir_faire",
    "publics_specifiquement_adresses",
    "dispositif_programmes_nationaux",
    "formations_labels",
    "presentation_resume",
    "notes",
)


def staff_epns(user):
    """The EPNs whose directory the user may write in."""
    scope = scope_for(user)
    epns = Structure.objects.filter(kind=StructureKind.EPN)
    return (
        epns.visible_to(scope)
        if scope.is_superuser
        else epns.filter(id__in=permissions.epns_with(scope, Permission.ANNUAIRE_WRITE))
    )


def _writable_or_403(request, partenaire: Partenaire) -> None:
    if not scope_for(request.user).may(Permission.ANNUAIRE_WRITE, partenaire.structure.referencee_par_id):
        raise PermissionDenied


def _visible(request):
    return Partenaire.objects.visible_to(request.user)


# What a row of the directory shows: a partner's eighteen other JSON columns are neither read nor
# decoded for the list.
LIST_FIELDS = ("typologies", "commune", "familles", "structure__nom", "structure__referencee_par__nom")


@login_required
def partenaire_list(request):
    entries = (
        _visible(request)
        .select_related("structure", "structure__referencee_par")
        .only(*LIST_FIELDS)
        .order_by("structure__nom")
    )
    query = request.GET.get("q", "").strip()
    if query:
        entries = entries.filter(Q(structure__nom__icontains=query) | Q(commune__icontains=query))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    epns = Structure.objects.visible_to(request.user).filter(
        kind=StructureKind.EPN, partenaires_references__isnull=False
    )
    writable = list(staff_epns(request.user).order_by("nom"))
    return render(
        request,
        "partenaires/list.html",
        {
            "title": "Annuaire des partenaires",
            "page_obj": page,
            "query": query,
            "can_write": bool(writable),
            "staff_epns": writable,
            "export_epns": epns.distinct().order_by("nom"),
        },
    )


@login_required
def partenaire_detail(request, pk):
    partenaire = get_object_or_404(
        _visible(request).select_related("structure", "structure__referencee_par"), pk=pk
    )
    history = AuditEntry.objects.filter(
        Q(object_type="partenaires.partenaire", object_id=str(partenaire.pk))
        | Q(object_type="organisations.structure", object_id=str(partenaire.structure_id))
    )[:30]
    actions = (
        Action.objects.visible_to(request.user).filter(partenaires=partenaire.structure).order_by("titre")
    )
    return render(
        request,
        "partenaires/detail.html",
        {
            "title": partenaire.nom,
            "object": partenaire,
            "contacts": partenaire.contacts.all(),
            "history": history,
            "actions": actions,
            "publics": [public_label(key) for key in partenaire.publics_touches],
            "noms_secteurs": secteur_noms(partenaire.structure.referencee_par_id, partenaire.secteurs)
            if partenaire.secteurs and partenaire.structure.referencee_par_id
            else {},
            "can_write": scope_for(request.user).may(
                Permission.ANNUAIRE_WRITE, partenaire.structure.referencee_par_id
            ),
            "contact_form": ContactForm(),
        },
    )


def _save_form(request, form, partenaire=None):
    data = {name: form.cleaned_data[name] for name in EDITABLE}
    try:
        if partenaire is None:
            return services.partenaire_create(
                acting_user=request.user, epn=form.cleaned_data["epn"], nom=form.cleaned_data["nom"], **data
            )
        return services.partenaire_update(
            acting_user=request.user, partenaire=partenaire, nom=form.cleaned_data["nom"], **data
        )
    except ValidationError as error:
        add_validation_error(form, error)
    return None


@login_required
def partenaire_create(request):
    epns = staff_epns(request.user)
    if not epns.exists():
        raise PermissionDenied
    form = PartenaireForm(request.POST or None, epns=epns)
    if request.method == "POST" and form.is_valid():
        partenaire = _save_form(request, form)
        if partenaire:
            messages.success(request, f"« {partenaire.nom} » est ajouté à l’annuaire.")
            return redirect(partenaire)
    return render(request, "partenaires/form.html", {"title": "Nouveau partenaire", "form": form})


@login_required
def partenaire_update(request, pk):
    partenaire = get_object_or_404(_visible(request).select_related("structure"), pk=pk)
    _writable_or_403(request, partenaire)
    epns = Structure.objects.filter(pk=partenaire.structure.referencee_par_id)
    initial = {name: getattr(partenaire, name) for name in EDITABLE}
    initial.update(
        nom=partenaire.nom,
        epn=epns.first(),
        courriels=", ".join(partenaire.courriels),
        secteurs=list(partenaire.secteurs),
    )
    form = PartenaireForm(request.POST or None, initial=initial, epns=epns)
    if request.method == "POST" and form.is_valid():
        if _save_form(request, form, partenaire):
            messages.success(request, "La fiche est enregistrée.")
            return redirect(partenaire)
    return render(
        request,
        "partenaires/form.html",
        {"title": f"Modifier « {partenaire.nom} »", "form": form, "object": partenaire},
    )


@login_required
@require_POST
def contact_add(request, pk):
    partenaire = get_object_or_404(_visible(request).select_related("structure"), pk=pk)
    _writable_or_403(request, partenaire)
    form = ContactForm(request.POST)
    if form.is_valid():
        services.contact_create(acting_user=request.user, partenaire=partenaire, **form.cleaned_data)
        messages.success(request, "Le contact est ajouté.")
    else:
        messages.error(
            request,
            "Le contact n’est pas ajouté : " + " ".join(e for errs in form.errors.values() for e in errs),
        )
    return redirect(partenaire)


@login_required
@require_POST
def contact_delete(request, pk):
    contact = get_object_or_404(
        Contact.objects.visible_to(request.user).select_related("partenaire__structure"), pk=pk
    )
    _writable_or_403(request, contact.partenaire)
    partenaire = contact.partenaire
    services.contact_delete(acting_user=request.user, contact=contact)
    messages.success(request, "Le contact est supprimé.")
    return redirect(partenaire)


@login_required
def import_upload(request):
    epns = staff_epns(request.user)
    if not epns.exists():
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None, epns=epns)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["fichier"]
        # The request only keeps the file and queues its analysis: a regional file of 650 places
        # is read and matched in the background, with its progress on the job's page.
        try:
            batch = services.annuaire_import_submit(
                acting_user=request.user,
                epn=form.cleaned_data["epn"],
                data=upload.read(),
                filename=upload.name,
            )
        except TooManyImports as refused:
            form.add_error(None, str(refused))
            status = 429
        else:
            return redirect(batch)
    return render(
        request, "partenaires/import.html", {"title": "Importer des partenaires", "form": form}, status=status
    )


def _decisions(request, batch: ImportAnnuaire) -> dict[str, str]:
    """The user's choice for each doubtful place of the analysis (radio buttons ``douteux-<n>``)."""
    decisions = {}
    for number, item in enumerate(batch.resultat.get("douteux", []), start=1):
        choice = request.POST.get(f"douteux-{number}", services.DECISION_IGNORER)
        if choice in services.DECISIONS:
            decisions[item["id"]] = choice
    return decisions


@login_required
def import_preview(request, pk):
    """The job's page: its progress, then its analysis to confirm, then what was done."""
    batch = get_object_or_404(
        ImportAnnuaire.objects.visible_to(request.user).select_related("structure").defer("contenu"), pk=pk
    )
    # The file and its analysis are the EPN's staff's business, as the import itself.
    if not scope_for(request.user).may(Permission.ANNUAIRE_WRITE, batch.structure_id):
        raise PermissionDenied
    if request.method == "POST":
        action = request.POST.get("action", "confirmer")
        if action == "confirmer":
            try:
                confirmed = services.annuaire_import_confirm(
                    acting_user=request.user, batch=batch, decisions=_decisions(request, batch)
                )
            except TooManyImports as refused:
                messages.error(request, str(refused))
            else:
                if not confirmed:
                    messages.warning(request, "Cet import n’attend plus de confirmation.")
        elif action == "annuler":
            services.annuaire_import_cancel(acting_user=request.user, batch=batch)
            messages.info(request, "Import annulé : rien n’a été enregistré.")
            return redirect("partenaires:list")
        elif action == "relancer":
            if jobs.job_retry(acting_user=request.user, job=batch):
                messages.info(request, "Import relancé.")
            else:
                messages.warning(request, "Cet import est toujours en cours : il ne peut pas être relancé.")
        return redirect(batch)
    plan = batch.resultat
    return render(
        request,
        "partenaires/import_preview.html",
        {
            "title": f"Import de « {batch.nom_fichier} »",
            "batch": batch,
            "plan": plan,
            "stale": jobs.is_stale(batch),
            "can_write": True,
            "decision_choices": list(services.DECISIONS.items()),
        },
    )


def _epn_for_export(request, epn_pk):
    return get_object_or_404(
        Structure.objects.visible_to(request.user).filter(kind=StructureKind.EPN), pk=epn_pk
    )


def _export(request, epn_pk, fmt: str) -> HttpResponse:
    epn = _epn_for_export(request, epn_pk)
    body = services.annuaire_export(
        acting_user=request.user, epn=epn, fmt=fmt, entries=_visible(request).of_epn(epn)
    )
    content_type, suffix = services.EXPORT_FORMATS[fmt]
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="annuaire-{epn.pk}{suffix}"'
    return response


@login_required
def export_csv(request, epn_pk):
    """The standard's CSV, to the letter: no BOM, no formula escape (``+33…`` stays ``+33…``)."""
    return _export(request, epn_pk, "csv")


@login_required
def export_tableur(request, epn_pk):
    """The same places for a spreadsheet: BOM, and formulas escaped (``'+33…``). Not the standard."""
    return _export(request, epn_pk, "tableur")


@login_required
def export_json(request, epn_pk):
    return _export(request, epn_pk, "json")


# --- The EPN's own place, exported in the standard ---------------------------------------------


def _staff_epn_or_404(request, epn_pk):
    """An EPN the user sees, and whose directory they write in (its staff); 404 or 403 otherwise."""
    epn = _epn_for_export(request, epn_pk)
    if not scope_for(request.user).may(Permission.ANNUAIRE_WRITE, epn.pk):
        raise PermissionDenied
    return epn


LIEU_LIST_FIELDS = ("courriels", "site_web")


@login_required
def lieu_epn(request, epn_pk):
    epn = _staff_epn_or_404(request, epn_pk)
    lieu = services.lieu_epn_of(epn)
    initial = {}
    if lieu is not None:
        initial = {name: getattr(lieu, name) for name in LieuEpnForm.base_fields}
        for name in LIEU_LIST_FIELDS:
            initial[name] = ", ".join(getattr(lieu, name))
    else:
        initial = {"siret": epn.siret, "code_insee": epn.code_commune, "commune": epn.commune_nom}
    form = LieuEpnForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.lieu_epn_save(acting_user=request.user, epn=epn, **form.cleaned_data)
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(request, "La fiche du lieu est enregistrée.")
            return redirect("partenaires:lieu_epn", epn_pk=epn.pk)
    return render(
        request,
        "partenaires/lieu_epn.html",
        {"title": f"Le lieu de l’EPN — {epn.nom}", "epn": epn, "lieu": lieu, "form": form},
    )


def _lieu_export(request, epn_pk, fmt: str) -> HttpResponse:
    epn = _staff_epn_or_404(request, epn_pk)
    lieu = services.lieu_epn_of(epn)
    if lieu is None:
        raise Http404
    body = services.lieu_epn_export(acting_user=request.user, epn=epn, lieu=lieu, fmt=fmt)
    content_type, suffix = services.EXPORT_FORMATS[fmt]
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="lieu-{epn.pk}{suffix}"'
    return response


@login_required
def lieu_epn_csv(request, epn_pk):
    return _lieu_export(request, epn_pk, "csv")


@login_required
def lieu_epn_json(request, epn_pk):
    return _lieu_export(request, epn_pk, "json")
