"""Pages of the suivi: participation and results of an action, the relationship with each
partner, the three questions dashboard and the bilan annuel.

Everything here is the EPN's own record: its team writes it, its territory (référent, élu) and
its réseau read it, and a partner account sees none of it (404).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ancrage.actions.models import Action, Seance
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.core.importing import ImportRejected
from ancrage.core.wording import nombre
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import scope_for
from ancrage.suivi import avant_apres, bilan, selectors, services
from ancrage.suivi.models import Echange, Participation, Promotion
from ancrage.www.messages import flash_errors
from ancrage.www.pickers import organisation_groups
from ancrage.www.suivi_views.forms import (
    AvantApresForm,
    DelaiForm,
    EchangeForm,
    EvaluationForm,
    ImportForm,
    PromotionForm,
    SheetFormSet,
)

MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _check_epn(request, epn_id: int, *, write: bool = False) -> None:
    """404 outside the EPNs the user reads (a partner reads none); 403 to write without being staff."""
    scope = scope_for(request.user)
    if not scope.can_read_epn(epn_id):
        raise Http404
    if write and not scope.may(Permission.SUIVI_WRITE, epn_id):
        raise PermissionDenied


def _epn(request, structure_id: int, *, write: bool = False) -> Structure:
    epn = get_object_or_404(
        Structure.objects.visible_to(request.user).filter(kind=StructureKind.EPN), pk=structure_id
    )
    _check_epn(request, epn.pk, write=write)
    return epn


def _action(request, pk: int, *, write: bool = False) -> Action:
    action = get_object_or_404(Action.objects.visible_to(request.user).select_related("structure"), pk=pk)
    _check_epn(request, action.structure_id, write=write)
    return action


def _seance(request, pk: int, *, write: bool = False) -> Seance:
    seance = get_object_or_404(
        Seance.objects.visible_to(request.user).select_related("action", "action__structure"), pk=pk
    )
    _check_epn(request, seance.action.structure_id, write=write)
    return seance


def _partner(request, pk: int, *, write: bool = False) -> Structure:
    partner = get_object_or_404(
        Structure.objects.visible_to(request.user)
        .filter(kind=StructureKind.PARTENAIRE, referencee_par__isnull=False)
        .select_related("referencee_par"),
        pk=pk,
    )
    _check_epn(request, partner.referencee_par_id, write=write)
    return partner


# --- Dashboard -----------------------------------------------------------------------------------------


@login_required
def index(request):
    scope = scope_for(request.user)
    epns = Structure.objects.visible_to(scope).filter(kind=StructureKind.EPN)
    if not scope.is_superuser:
        epns = epns.filter(pk__in=scope.epn_ids)
    return render(
        request,
        "suivi/index.html",
        {"title": "Suivi et pérennisation", "epns": epns.select_related("collectivite").order_by("nom")},
    )


@login_required
def tableau(request, structure_id: int):
    epn = _epn(request, structure_id)
    dashboard = selectors.three_questions_of(epn)
    return render(
        request,
        "suivi/tableau.html",
        {
            "title": f"Les trois questions — {epn.nom}",
            "epn": epn,
            "d": dashboard,
            "can_write": scope_for(request.user).may(Permission.SUIVI_WRITE, epn.pk),
            "delai_form": DelaiForm(initial={"jours": selectors.contact_delays(epn.pk)[0]}),
            "annees": range(dashboard.on.year, dashboard.on.year - 3, -1),
        },
    )


@login_required
@require_POST
def relance_defaut(request, structure_id: int):
    epn = _epn(request, structure_id, write=True)
    form = DelaiForm(request.POST)
    if form.is_valid():
        services.delai_relance_set(acting_user=request.user, epn=epn, jours=form.cleaned_data["jours"])
        messages.success(request, "Délai de relance par défaut enregistré.")
    else:
        flash_errors(request, form)
    return redirect("suivi:tableau", structure_id=epn.pk)


@login_required
def bilan_pdf(request, structure_id: int):
    epn = _epn(request, structure_id)
    try:
        year = int(request.GET.get("annee") or selectors.today().year)
    except ValueError:
        raise Http404 from None
    if not 2000 <= year <= selectors.today().year:
        raise Http404
    content = bilan.render_bilan_pdf(epn, year)
    audit_record(
        acting_user=request.user,
        action=AuditAction.DOWNLOAD,
        obj=epn,
        structure=epn,
        changes={"document": f"bilan annuel {year}"},
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="bilan-{year}-epn-{epn.pk}.pdf"'
    return response


# --- One partner ----------------------------------------------------------------------------------------


@login_required
def partenaire(request, pk: int):
    partner = _partner(request, pk)
    epn = partner.referencee_par
    dashboard = selectors.three_questions_of(epn)
    partnership = next((p for p in dashboard.partnerships if p.partner.pk == partner.pk), None)
    own_delay = selectors.contact_delays(epn.pk)[1].get(partner.pk)
    return render(
        request,
        "suivi/partenaire.html",
        {
            "title": f"Relation avec {partner.nom}",
            "partner": partner,
            "epn": epn,
            "fiche": getattr(partner, "fiche_partenaire", None),
            "partnership": partnership,
            "echanges": Echange.objects.visible_to(request.user).for_partnership(epn, partner),
            "promotions": Promotion.objects.visible_to(request.user).for_partnership(epn, partner),
            "can_write": scope_for(request.user).may(Permission.SUIVI_WRITE, epn.pk),
            "echange_form": EchangeForm(initial={"date": selectors.today()}),
            "promotion_form": PromotionForm(initial={"date": selectors.today()}),
            "delai_form": DelaiForm(initial={"jours": own_delay}),
        },
    )


@login_required
@require_POST
def echange_add(request, pk: int):
    partner = _partner(request, pk, write=True)
    form = EchangeForm(request.POST)
    if form.is_valid():
        try:
            services.echange_create(
                acting_user=request.user, epn=partner.referencee_par, partenaire=partner, **form.cleaned_data
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Échange ajouté au journal.")
    else:
        flash_errors(request, form)
    return redirect("suivi:partenaire", pk=partner.pk)


@login_required
@require_POST
def echange_delete(request, pk: int):
    echange = get_object_or_404(Echange.objects.visible_to(request.user), pk=pk)
    _check_epn(request, echange.structure_id, write=True)
    services.echange_delete(acting_user=request.user, echange=echange)
    messages.success(request, "Échange retiré du journal.")
    return redirect("suivi:partenaire", pk=echange.partenaire_id)


@login_required
@require_POST
def promotion_add(request, pk: int):
    partner = _partner(request, pk, write=True)
    form = PromotionForm(request.POST)
    if form.is_valid():
        try:
            services.promotion_create(
                acting_user=request.user, epn=partner.referencee_par, partenaire=partner, **form.cleaned_data
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Promotion enregistrée.")
    else:
        flash_errors(request, form)
    return redirect("suivi:partenaire", pk=partner.pk)


@login_required
@require_POST
def promotion_delete(request, pk: int):
    promotion = get_object_or_404(Promotion.objects.visible_to(request.user), pk=pk)
    _check_epn(request, promotion.structure_id, write=True)
    services.promotion_delete(acting_user=request.user, promotion=promotion)
    messages.success(request, "Promotion retirée.")
    return redirect("suivi:partenaire", pk=promotion.partenaire_id)


@login_required
@require_POST
def relance(request, pk: int):
    partner = _partner(request, pk, write=True)
    form = DelaiForm(request.POST)
    if form.is_valid():
        services.delai_relance_set(
            acting_user=request.user,
            epn=partner.referencee_par,
            partenaire=partner,
            jours=form.cleaned_data["jours"],
        )
        messages.success(request, "Délai de relance enregistré.")
    else:
        flash_errors(request, form)
    return redirect("suivi:partenaire", pk=partner.pk)


# --- One action -----------------------------------------------------------------------------------------


@login_required
def action(request, pk: int):
    the_action = _action(request, pk)
    results = selectors.action_results(the_action)
    movements = []
    if results.avant_apres is not None:
        record = results.avant_apres
        movements = avant_apres.compare(
            record.avant.resultat if record.avant else None, record.apres.resultat, the_action.publics
        )
    can_write = scope_for(request.user).may(Permission.SUIVI_WRITE, the_action.structure_id)
    evaluation = results.evaluation
    frequentations = services.frequentations_after(the_action)
    return render(
        request,
        "suivi/action.html",
        {
            "title": f"Résultats — {the_action.titre}",
            "action": the_action,
            "r": results,
            "movements": movements,
            "can_write": can_write,
            "evaluation_form": EvaluationForm(
                initial={
                    "difficultes": evaluation.difficultes if evaluation else "",
                    "enseignements": evaluation.enseignements if evaluation else "",
                }
            ),
            "avant_apres_form": AvantApresForm(frequentations=frequentations)
            if frequentations.exists()
            else None,
            "diagnostic_avant": services.diagnostic_before(the_action),
        },
    )


@login_required
@require_POST
def evaluation(request, pk: int):
    the_action = _action(request, pk, write=True)
    form = EvaluationForm(request.POST)
    if form.is_valid():
        services.evaluation_save(acting_user=request.user, action=the_action, **form.cleaned_data)
        messages.success(request, "Évaluation enregistrée.")
    else:
        flash_errors(request, form)
    return redirect("suivi:action", pk=the_action.pk)


@login_required
@require_POST
def avant_apres_compute(request, pk: int):
    the_action = _action(request, pk, write=True)
    form = AvantApresForm(request.POST, frequentations=services.frequentations_after(the_action))
    if form.is_valid():
        try:
            services.avant_apres_compute(
                acting_user=request.user, action=the_action, frequentation=form.cleaned_data["frequentation"]
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Le diagnostic a été recalculé sur la période après l’action.")
    else:
        flash_errors(request, form)
    return redirect(reverse("suivi:action", kwargs={"pk": the_action.pk}) + "#avant-apres")


def _partners_of(epn_id: int):
    return Structure.objects.filter(kind=StructureKind.PARTENAIRE, referencee_par_id=epn_id).order_by("nom")


@login_required
def feuille(request, pk: int):
    """The sheet of one session: the people already on it, then empty lines to add more."""
    seance = _seance(request, pk, write=True)
    epn_id = seance.action.structure_id
    existing = list(
        Participation.objects.filter(seance=seance)
        .select_related("beneficiaire")
        .order_by("beneficiaire__identifiant")
    )
    initial = [
        {
            "identifiant": p.beneficiaire.identifiant,
            "present": p.present,
            "oriente_par": p.oriente_par_id,
            "annee_naissance": p.beneficiaire.annee_naissance,
            "sexe": p.beneficiaire.sexe,
            "csp": p.beneficiaire.csp,
            "situation": p.beneficiaire.situation,
            "code_iris": p.beneficiaire.code_iris,
            "premiere_visite": p.beneficiaire.premiere_visite,
        }
        for p in existing
    ]
    partners = _partners_of(epn_id)
    groups = organisation_groups(
        partners,
        epn=seance.action.structure,
        first_ids=seance.action.partenaires.values_list("pk", flat=True),
    )
    formset = SheetFormSet(
        request.POST or None, initial=initial, partners=partners, partner_groups=groups, prefix="ligne"
    )
    if request.method == "POST" and formset.is_valid():
        rows, removed = [], []
        for data in formset.cleaned_data:
            identifiant = (data.get("identifiant") or "").strip()
            if not identifiant:
                continue
            if data.get("retirer"):
                removed.append(identifiant)
                continue
            rows.append(
                services.SheetRow(
                    identifiant=identifiant,
                    present=bool(data.get("present")),
                    oriente_par=data.get("oriente_par"),
                    annee_naissance=data.get("annee_naissance"),
                    sexe=data.get("sexe") or "",
                    csp=data.get("csp") or "",
                    situation=data.get("situation") or "",
                    code_iris=data.get("code_iris") or "",
                    premiere_visite=data.get("premiere_visite"),
                )
            )
        try:
            counts = services.participation_sheet_save(
                acting_user=request.user, seance=seance, rows=rows, removed=removed
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(
                request,
                f"Feuille enregistrée : {nombre(counts['ajoutees'], 'ajoutée')}, "
                f"{nombre(counts['modifiees'], 'mise à jour', 'mises à jour')}, "
                f"{nombre(counts['retirees'], 'retirée', 'retirées')}.",
            )
            return redirect("suivi:feuille", pk=seance.pk)
    return render(
        request,
        "suivi/feuille.html",
        {
            "title": f"Feuille de présence — {seance.titre}",
            "seance": seance,
            "action": seance.action,
            "formset": formset,
        },
    )


@login_required
def participation_import(request, pk: int):
    seance = _seance(request, pk, write=True)
    form = ImportForm(request.POST or None, request.FILES or None)
    issues = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["fichier"]
        if upload.size > MAX_IMPORT_BYTES:
            form.add_error("fichier", "Fichier trop volumineux (5 Mo au plus).")
        else:
            try:
                counts = services.participation_import(
                    acting_user=request.user, seance=seance, data=upload.read(), filename=upload.name
                )
            except ImportRejected as error:
                issues = [str(issue) for issue in error.issues]
            except ValidationError as error:
                issues = error.messages
            else:
                added = nombre(counts["ajoutees"], "personne ajoutée", "personnes ajoutées")
                messages.success(
                    request,
                    f"Import réussi : {added}, {nombre(counts['modifiees'], 'mise à jour', 'mises à jour')}.",
                )
                return redirect("suivi:feuille", pk=seance.pk)
    return render(
        request,
        "suivi/import.html",
        {
            "title": f"Importer les présents — {seance.titre}",
            "seance": seance,
            "action": seance.action,
            "form": form,
            "issues": issues,
        },
    )
