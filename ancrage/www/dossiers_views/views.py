import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ancrage.actions.models import Action
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.core.csv_safe import SafeWriter, xlsx_row
from ancrage.dossiers import documents, journal, selectors, services
from ancrage.dossiers.models import Dossier, PieceJointe
from ancrage.dossiers.workflow import DossierAction, WorkflowError, available_actions
from ancrage.organisations import permissions
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import scope_for
from ancrage.www.dossiers_views.forms import (
    AnnotationForm,
    ChargeFormSet,
    CorrectionForm,
    DecisionForm,
    DossierForm,
    FiltreForm,
    MessageForm,
    PieceForm,
    RessourceFormSet,
    RouvrirForm,
    SupportFormSet,
    TransitionForm,
)
from ancrage.www.forms import add_validation_error
from ancrage.www.messages import flash_errors

PAGE_SIZE = 25
DECISION_ACTIONS = {DossierAction.ACCEPTER, DossierAction.REFUSER, DossierAction.CLASSER_SANS_SUITE}
SIMPLE_ACTIONS = {DossierAction.DEPOSER, DossierAction.REDEPOSER, DossierAction.PASSER_EN_INSTRUCTION}


def _dossier(request, pk) -> Dossier:
    """The dossier if the user may open it, else 404 (a guessed id reveals nothing)."""
    return get_object_or_404(
        selectors.dossiers_visible_to(request.user).select_related(
            "structure", "structure__collectivite", "action"
        ),
        pk=pk,
    )


def _writable(request, dossier) -> None:
    if not scope_for(request.user).may(Permission.DOSSIER_WRITE, dossier.structure_id):
        raise PermissionDenied


def _site_url(request) -> str:
    return request.build_absolute_uri("/")


# --- lists and export ---------------------------------------------------------------------------


def _filtered(request):
    scope = scope_for(request.user)
    dossiers = selectors.dossiers_visible_to(request.user)
    epn_ids = dossiers.values("structure_id")
    epns = Structure.objects.filter(kind=StructureKind.EPN, pk__in=epn_ids).order_by("nom")
    form = FiltreForm(request.GET or None, epns=list(epns))
    if form.is_valid():
        data = form.cleaned_data
        if data["etat"]:
            dossiers = dossiers.filter(etat=data["etat"])
        if data["epn"]:
            dossiers = dossiers.filter(structure_id=data["epn"])
        if data["thematique"]:
            dossiers = dossiers.filter(thematique=data["thematique"])
        if data["depose_apres"]:
            dossiers = dossiers.filter(depose_le__date__gte=data["depose_apres"])
        if data["depose_avant"]:
            dossiers = dossiers.filter(depose_le__date__lte=data["depose_avant"])
    dossiers = dossiers.select_related("structure", "action").order_by("-depose_le", "-updated_at", "-id")
    return dossiers, form, scope


# What a row of the lists shows: the rest of a dossier (its texts and the JSON copies of the action
# and the diagnostic) is neither read nor decoded for a list page.
LIST_FIELDS = ("titre", "etat", "thematique", "depose_le", "structure__nom")


@login_required
def dossier_list(request, inbox=False):
    dossiers, form, scope = _filtered(request)
    dossiers = dossiers.select_related(None).select_related("structure").only(*LIST_FIELDS)
    page = Paginator(dossiers, PAGE_SIZE).get_page(request.GET.get("page"))
    can_create = bool(permissions.epns_with(scope, Permission.DOSSIER_WRITE))
    return render(
        request,
        "dossiers/list.html",
        {
            "title": "Dossiers à instruire" if inbox else "Dossiers de projet",
            "inbox": inbox,
            "page_obj": page,
            "form": form,
            "can_create": can_create,
            "actions_sans_dossier": Action.objects.writable_by(scope, Permission.DOSSIER_WRITE)
            .filter(dossiers__isnull=True)
            .order_by("titre")[:20]
            if can_create
            else [],
        },
    )


EXPORT_HEADER = [
    "numero",
    "titre",
    "epn",
    "thematique",
    "etat",
    "depose_le",
    "decide_le",
    "total_charges",
    "total_ressources",
    "equilibre",
]


@login_required
def dossier_export(request, fmt):
    dossiers, _, _ = _filtered(request)
    dossiers = dossiers.prefetch_related(
        "charges", "ressources", "action__charges_budget", "action__ressources_budget"
    )
    rows = [EXPORT_HEADER]
    for dossier in dossiers:
        summary = dossier.budget_summary()
        rows.append(
            [
                dossier.numero,
                dossier.titre,
                dossier.structure.nom,
                dossier.thematique,
                dossier.get_etat_display(),
                dossier.depose_le.date().isoformat() if dossier.depose_le else "",
                dossier.decide_le.date().isoformat() if dossier.decide_le else "",
                summary.total_charges,
                summary.total_resources,
                "oui" if summary.is_balanced else "non",
            ]
        )
    audit_record(acting_user=request.user, action=AuditAction.EXPORT, changes={"dossiers": len(rows) - 1})
    if fmt == "xlsx":
        import openpyxl

        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = "Dossiers"
        for row in rows:
            sheet.append(xlsx_row(row))
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="dossiers.xlsx"'
        return response
    buffer = io.StringIO()
    SafeWriter(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    response = HttpResponse(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="dossiers.csv"'
    return response


# --- creation and editing (the EPN) -------------------------------------------------------------


@login_required
def dossier_create(request, action_pk):
    action = get_object_or_404(
        Action.objects.writable_by(request.user, Permission.DOSSIER_WRITE).select_related("structure"),
        pk=action_pk,
    )
    existing = action.dossiers.order_by("-created_at").first()
    if request.method == "POST":
        dossier = services.dossier_create(acting_user=request.user, action=action)
        messages.success(
            request,
            "Le dossier est constitué à partir de l’action. "
            "Complétez le budget, la communication et les pièces.",
        )
        return redirect("dossiers:edit", pk=dossier.pk)
    return render(
        request,
        "dossiers/create.html",
        {"title": f"Constituer le dossier — {action.titre}", "action": action, "existing": existing},
    )


@login_required
def dossier_edit(request, pk):
    dossier = _dossier(request, pk)
    _writable(request, dossier)
    if not dossier.editable_by_epn:
        messages.error(
            request, f"Le dossier est « {dossier.get_etat_display().lower()} » : il ne se modifie plus."
        )
        return redirect(dossier)
    charges_rows, ressources_rows = dossier.budget_rows()
    charges_initial = [
        {"categorie": c.categorie, "libelle": c.libelle, "montant": c.montant} for c in charges_rows
    ]
    ressources_initial = [
        {
            "categorie": r.categorie,
            "libelle": r.libelle,
            "montant": r.montant,
            "contributeur": r.contributeur,
            "type_contributeur": r.type_contributeur,
        }
        for r in ressources_rows
    ]
    supports_initial = [
        {"type": s.type, "description": s.description, "diffuse_par": s.diffuse_par}
        for s in dossier.supports.all()
    ]
    data = request.POST if request.method == "POST" else None
    form = DossierForm(
        data,
        initial={
            "titre": dossier.titre,
            "presentation": dossier.presentation,
            "calendrier": dossier.calendrier,
        },
    )
    charges = ChargeFormSet(data, initial=charges_initial, prefix="charges")
    ressources = RessourceFormSet(data, initial=ressources_initial, prefix="ressources")
    supports = SupportFormSet(data, initial=supports_initial, prefix="supports")
    if request.method == "POST" and all(f.is_valid() for f in (form, charges, ressources, supports)):

        def kept(formset):
            # Extra forms left blank have no cleaned data; lines ticked "supprimer" are dropped.
            return [
                f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]

        try:
            services.dossier_update(acting_user=request.user, dossier=dossier, **form.cleaned_data)
            services.dossier_set_budget(
                acting_user=request.user, dossier=dossier, charges=kept(charges), ressources=kept(ressources)
            )
            services.dossier_set_supports(acting_user=request.user, dossier=dossier, supports=kept(supports))
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            summary = dossier.budget_summary()
            if summary.problems:
                messages.warning(request, f"Le dossier est enregistré. {summary.problems[0]}")
            else:
                messages.success(request, "Le dossier est enregistré.")
            return redirect(dossier)
    return render(
        request,
        "dossiers/edit.html",
        {
            "title": f"Modifier le dossier — {dossier.titre}",
            "dossier": dossier,
            "form": form,
            "charges": charges,
            "ressources": ressources,
            "supports": supports,
        },
    )


@login_required
@require_POST
def dossier_refresh(request, pk):
    dossier = _dossier(request, pk)
    _writable(request, dossier)
    try:
        services.dossier_refresh_from_action(acting_user=request.user, dossier=dossier)
        messages.success(request, "Objectifs, publics, diagnostic et partenariat sont recopiés de l’action.")
    except ValidationError as error:
        flash_errors(request, error)
    return redirect(dossier)


@login_required
@require_POST
def piece_add(request, pk):
    dossier = _dossier(request, pk)
    _writable(request, dossier)
    form = PieceForm(request.POST, request.FILES)
    if form.is_valid():
        fichier = form.cleaned_data["fichier"]
        try:
            services.piece_add(
                acting_user=request.user,
                dossier=dossier,
                filename=fichier.name,
                data=fichier.read(),
                description=form.cleaned_data["description"],
            )
            messages.success(request, "La pièce jointe est ajoutée.")
        except ValidationError as error:
            flash_errors(request, error)
    else:
        flash_errors(request, form)
    return redirect(dossier)


def _piece(request, pk) -> PieceJointe:
    piece = get_object_or_404(PieceJointe.objects.visible_to(request.user), pk=pk)
    _dossier(request, piece.dossier_id)  # the brouillon rule applies to its pieces too
    return piece


@login_required
def piece_download(request, pk):
    piece = _piece(request, pk)
    # An attachment may hold personal data (a CV, a bank statement): each download is logged.
    audit_record(
        acting_user=request.user,
        action=AuditAction.DOWNLOAD,
        obj=piece,
        structure=piece.dossier.structure,
        changes={"sha256": piece.sha256},
    )
    response = HttpResponse(bytes(piece.contenu), content_type=piece.content_type)
    # Always a download: an uploaded file is never rendered by the browser in Ancrage's origin.
    response["Content-Disposition"] = f'attachment; filename="{piece.nom}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def piece_delete(request, pk):
    piece = _piece(request, pk)
    dossier = piece.dossier
    _writable(request, dossier)
    try:
        services.piece_delete(acting_user=request.user, piece=piece)
        messages.success(request, "La pièce jointe est retirée.")
    except ValidationError as error:
        flash_errors(request, error)
    return redirect(dossier)


# --- the dossier page and the examination --------------------------------------------------------


@login_required
def dossier_detail(request, pk):
    dossier = _dossier(request, pk)
    roles = selectors.roles_on(request.user, dossier)
    correction = dossier.open_correction()
    actions = set()
    for role in roles:
        actions |= set(available_actions(dossier.etat, role, correction_open=correction is not None))
    epn_side = selectors.is_epn_side(roles)
    annotations = selectors.annotations_for(request.user, dossier).select_related("collectivite")
    can_annotate = selectors.covering_collectivite(request.user, dossier.structure) is not None
    context = {
        "title": dossier.titre,
        "dossier": dossier,
        "epn_side": epn_side,
        "can_edit": epn_side and dossier.editable_by_epn,
        "correction": correction,
        "corrections": dossier.corrections.all(),
        "simple_actions": [a for a in DossierAction if a in actions and a in SIMPLE_ACTIONS],
        "can_ask_correction": DossierAction.DEMANDER_CORRECTION in actions,
        "can_decide": bool(actions & DECISION_ACTIONS),
        "can_reopen": DossierAction.ROUVRIR in actions,
        "correction_form": CorrectionForm(initial={"etat": dossier.etat}),
        "rouvrir_form": RouvrirForm(initial={"etat": dossier.etat}),
        "redepot_form": TransitionForm(initial={"etat": dossier.etat, "action": DossierAction.REDEPOSER}),
        "messages_dossier": dossier.messages.all(),
        "message_form": MessageForm() if roles else None,
        "annotations": annotations,
        "annotation_form": AnnotationForm() if can_annotate else None,
        "piece_form": PieceForm(),
        "traitements": dossier.traitements.order_by("sequence"),
        "chain_problems": journal.verify_dossier(dossier),
        "deposit_problems": services.deposit_problems(dossier)
        if epn_side and dossier.editable_by_epn
        else [],
        "has_decision": dossier.is_decided,
        **documents.budget_context(dossier),
        "supports": dossier.supports.all(),
        "pieces": dossier.pieces.defer("contenu"),
        "secteurs_vises": documents.diagnostic_charts(dossier)["secteurs_vises"],
    }
    return render(request, "dossiers/detail.html", context)


@login_required
@require_POST
def dossier_transition(request, pk):
    dossier = _dossier(request, pk)
    action = request.POST.get("action", "")
    if action == DossierAction.DEMANDER_CORRECTION:
        form = CorrectionForm(request.POST)
    elif action == DossierAction.ROUVRIR:
        form = RouvrirForm(request.POST)
    elif action in SIMPLE_ACTIONS:
        form = TransitionForm(request.POST)
    else:
        raise Http404
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(dossier)
    data = form.cleaned_data
    try:
        dossier = services.dossier_transition(
            acting_user=request.user,
            dossier=dossier,
            action=action,
            expected_state=data["etat"],
            motivation=data.get("motivation", ""),
            correction_reason=data.get("motif", ""),
            message=data.get("message", ""),
            site_url=_site_url(request),
        )
    except (WorkflowError, ValidationError) as error:
        flash_errors(request, error)
    else:
        messages.success(request, f"C’est fait : le dossier est « {dossier.get_etat_display().lower()} ».")
    return redirect(dossier)


@login_required
def dossier_decision(request, pk):
    """The référent decides; « Prévisualiser » shows the attestation without sending anything."""
    dossier = _dossier(request, pk)
    if (
        selectors.covering_collectivite(request.user, dossier.structure) is None
        and not request.user.is_superuser
    ):
        raise PermissionDenied
    form = DecisionForm(request.POST or None, initial={"etat": dossier.etat})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "apercu" in request.POST:
            pdf = documents.render_attestation_pdf(
                dossier,
                preview={
                    "etat": {"accepter": "accepte", "refuser": "refuse", "classer_sans_suite": "sans_suite"}[
                        data["decision"]
                    ],
                    "motivation": data["motivation"],
                    "acteur": request.user.email,
                },
            )
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="apercu-decision-{dossier.numero}.pdf"'
            return response
        try:
            dossier = services.dossier_transition(
                acting_user=request.user,
                dossier=dossier,
                action=data["decision"],
                expected_state=data["etat"],
                motivation=data["motivation"],
                site_url=_site_url(request),
            )
        except (WorkflowError, ValidationError) as error:
            flash_errors(request, error)
            if isinstance(error, services.DossierChanged):
                return redirect(dossier)
        else:
            messages.success(
                request, f"La décision est envoyée : le dossier est « {dossier.get_etat_display().lower()} »."
            )
            return redirect(dossier)
    return render(
        request,
        "dossiers/decision.html",
        {"title": f"Décider — {dossier.titre}", "dossier": dossier, "form": form},
    )


@login_required
@require_POST
def message_add(request, pk):
    dossier = _dossier(request, pk)
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            services.message_send(acting_user=request.user, dossier=dossier, texte=form.cleaned_data["texte"])
            messages.success(request, "Le message est envoyé.")
        except ValidationError as error:
            flash_errors(request, error)
    else:
        flash_errors(request, form)
    return redirect(reverse("dossiers:detail", kwargs={"pk": dossier.pk}) + "#messagerie")


@login_required
@require_POST
def annotation_add(request, pk):
    dossier = _dossier(request, pk)
    form = AnnotationForm(request.POST)
    if form.is_valid():
        try:
            services.annotation_add(
                acting_user=request.user, dossier=dossier, texte=form.cleaned_data["texte"]
            )
            messages.success(request, "L’annotation est enregistrée.")
        except ValidationError as error:
            flash_errors(request, error)
    else:
        flash_errors(request, form)
    return redirect(reverse("dossiers:detail", kwargs={"pk": dossier.pk}) + "#annotations")


@login_required
def dossier_pdf(request, pk):
    dossier = _dossier(request, pk)
    pdf = documents.render_dossier_pdf(dossier)
    audit_record(
        acting_user=request.user, action=AuditAction.DOWNLOAD, obj=dossier, structure=dossier.structure
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="dossier-{dossier.numero}.pdf"'
    return response


@login_required
def attestation_pdf(request, pk):
    dossier = _dossier(request, pk)
    try:
        pdf = documents.render_attestation_pdf(dossier)
    except ValueError:
        raise Http404 from None
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="attestation-{dossier.numero}.pdf"'
    return response
