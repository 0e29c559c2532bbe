from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ancrage.actions import agenda, ical, selectors, services
from ancrage.actions.enums import TRANSITION_LABELS, RoleTache, Statut
from ancrage.actions.models import Action, ActionPartenaire, Affectation, Objectif, Reunion, Seance
from ancrage.diagnostic.models import Diagnostic
from ancrage.organisations import permissions
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import scope_for
from ancrage.partenaires.scoring import RECOMMENDATION_LIMIT
from ancrage.suivi.recommendations import recommendations, territory_of
from ancrage.territoire.services import secteur_noms
from ancrage.www.actions_views.forms import (
    AUTRE,
    ActionForm,
    AddPartnerForm,
    ChargeFormSet,
    CommentaireForm,
    DecisionForm,
    ObjectifForm,
    PickPartnerForm,
    RessourceFormSet,
    ReunionForm,
    SeanceForm,
    TransitionForm,
    matrix_form,
)
from ancrage.www.forms import add_validation_error
from ancrage.www.messages import flash_errors
from ancrage.www.pickers import organisation_groups

PAGE_SIZE = 25


def _staff_epns(user):
    scope = scope_for(user)
    epns = Structure.objects.filter(kind=StructureKind.EPN)
    return list(
        epns
        if scope.is_superuser
        else epns.filter(id__in=permissions.epns_with(scope, Permission.ACTION_WRITE))
    )


def _action(request, pk, *, write=False) -> Action:
    """The action if the user sees it (else 404); for a write, only the EPN's staff (else 403)."""
    action = get_object_or_404(
        Action.objects.visible_to(request.user).select_related("structure", "structure__collectivite"), pk=pk
    )
    if write and not scope_for(request.user).may(Permission.ACTION_WRITE, action.structure_id):
        raise PermissionDenied
    return action


@login_required
def action_list(request):
    scope = scope_for(request.user)
    actions = (
        Action.objects.visible_to(scope)
        .select_related("structure")
        .annotate(nb_partenaires=Count("participations", distinct=True))
        .order_by("-created_at", "-id")
    )
    statut = request.GET.get("statut", "")
    if statut in Statut.values:
        actions = actions.filter(statut=statut)
    page = Paginator(actions, PAGE_SIZE).get_page(request.GET.get("page"))
    my_tasks = []
    if scope.partner_ids:
        my_tasks = (
            Affectation.objects.visible_to(scope)
            .filter(partenaire_id__in=scope.partner_ids)
            .select_related("action", "partenaire")
            .order_by("action__titre", "tache")
        )
    return render(
        request,
        "actions/list.html",
        {
            "title": "Actions",
            "page_obj": page,
            "statuts": Statut.choices,
            "statut": statut,
            "can_write": bool(_staff_epns(request.user)),
            "my_tasks": my_tasks,
            "agenda": agenda.manages_any(request.user),
        },
    )


def _secteurs_noms(epn, codes, known) -> dict[str, str]:
    """The names kept with an action's sectors: the ones it had, else the territory's."""
    names = secteur_noms(epn, [c for c in codes if not known.get(c)])
    return {c: known.get(c) or names.get(c, c) for c in codes}


@login_required
def action_create(request):
    """From scratch, or from a target of a saved diagnostic (?diagnostic=<id>&cible=<rang>)."""
    epns = _staff_epns(request.user)
    if not epns:
        raise PermissionDenied
    diagnostic, rang, prefill = None, None, {}
    source = request.POST if request.method == "POST" else request.GET
    if source.get("diagnostic"):
        try:
            diagnostic_id, rang = int(source["diagnostic"]), int(source.get("cible", ""))
        except ValueError:
            raise Http404 from None
        diagnostic = get_object_or_404(Diagnostic.objects.visible_to(request.user), pk=diagnostic_id)
        if diagnostic.structure_id not in {epn.pk for epn in epns}:
            raise PermissionDenied
        try:
            prefill = services.prefill_from_cible(diagnostic, rang)
        except ValidationError:
            raise Http404 from None
        epns = [epn for epn in epns if epn.pk == diagnostic.structure_id]
    initial = {
        key: value
        for key, value in prefill.items()
        if key in ("titre", "thematique", "services", "publics", "contenu")
    }
    initial["secteurs"] = list(prefill.get("secteurs", []))
    form = ActionForm(
        request.POST or None, initial=initial, epns=epns, secteurs_noms=prefill.get("secteurs_noms")
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        epn = data.pop("epn")
        extra = {}
        if diagnostic is not None:
            extra = {k: prefill[k] for k in ("diagnostic", "cible_rang", "cible")}
        extra["secteurs_noms"] = _secteurs_noms(epn, data["secteurs"], prefill.get("secteurs_noms", {}))
        try:
            action = services.action_create(acting_user=request.user, epn=epn, **data, **extra)
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(
                request, "L’action est créée. Ajoutez ses objectifs, ses séances et ses partenaires."
            )
            return redirect(action)
    return render(
        request,
        "actions/form.html",
        {
            "title": "Nouvelle action",
            "form": form,
            "diagnostic": diagnostic,
            "cible": prefill.get("cible"),
            "rang": rang,
        },
    )


@login_required
def action_update(request, pk):
    action = _action(request, pk, write=True)
    initial = {
        "titre": action.titre,
        "thematique": action.thematique,
        "services": action.services,
        "type": action.type,
        "publics": action.publics,
        "secteurs": list(action.secteurs),
        "contenu": action.contenu,
        "lieu": action.lieu,
    }
    form = ActionForm(
        request.POST or None, initial=initial, epns=[action.structure], secteurs_noms=action.secteurs_noms
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("epn")
        data["secteurs_noms"] = _secteurs_noms(action.structure, data["secteurs"], action.secteurs_noms)
        try:
            services.action_update(acting_user=request.user, action=action, **data)
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(request, "L’action est enregistrée.")
            return redirect(action)
    return render(
        request,
        "actions/form.html",
        {"title": f"Modifier « {action.titre} »", "form": form, "object": action},
    )


@login_required
def action_detail(request, pk):
    action = _action(request, pk)
    participations = ActionPartenaire.objects.filter(action=action).select_related(
        "partenaire", "partenaire__fiche_partenaire"
    )
    action_for_matrix = Action.objects.prefetch_related(
        Prefetch("participations", queryset=participations), "affectations"
    ).get(pk=action.pk)
    action_for_matrix.structure = action.structure
    matrix = selectors.task_matrix(action_for_matrix)
    can_write = scope_for(request.user).may(Permission.ACTION_WRITE, action.structure_id)
    parties = {party.id: party.name for party in matrix.parties}
    context = {
        "title": action.titre,
        "action": action,
        "can_write": can_write,
        "participations": participations,
        "objectifs": action.objectifs.all(),
        "seances": action.seances.all(),
        "reunions": action.reunions.annotate(nb_decisions=Count("decisions")),
        "historique": action.changements_statut.select_related("par"),
        "transitions": [(vers, TRANSITION_LABELS[(action.statut, vers)]) for vers in action.next_statuts],
        "matrix_parties": matrix.parties,
        "matrix_rows": [(task, [cells[p.id] for p in matrix.parties]) for task, cells in matrix.rows()],
        "warnings": selectors.check_matrix(matrix),
        "commentaires": action.commentaires.filter(reunion__isnull=True).select_related("auteur"),
        "objectif_form": ObjectifForm(action=action),
        "seance_form": SeanceForm(),
        "commentaire_form": CommentaireForm(),
        "parties": parties,
        "can_read_budget": can_write or scope_for(request.user).can_read_epn(action.structure_id),
    }
    if context["can_read_budget"]:
        summary = action.budget_summary()  # its two queries tell whether it has a line
        context["budget"] = summary if summary.charges_by_category or summary.contributions else None
    return render(request, "actions/detail.html", context)


@login_required
@require_POST
def action_transition(request, pk):
    action = _action(request, pk, write=True)
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            action = services.action_transition(
                acting_user=request.user,
                action=action,
                vers=form.cleaned_data["vers"],
                commentaire=form.cleaned_data["commentaire"],
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, f"L’action est maintenant « {action.get_statut_display()} ».")
    return redirect(action)


@login_required
@require_POST
def objectif_add(request, pk):
    action = _action(request, pk, write=True)
    form = ObjectifForm(request.POST)
    if form.is_valid():
        try:
            services.objectif_add(acting_user=request.user, action=action, **form.cleaned_data)
            messages.success(request, "L’objectif est ajouté.")
        except ValidationError as error:
            flash_errors(request, error)
    else:
        flash_errors(request, form)
    return redirect(action)


@login_required
@require_POST
def objectif_delete(request, pk):
    objectif = get_object_or_404(Objectif.objects.visible_to(request.user).select_related("action"), pk=pk)
    action = _action(request, objectif.action_id, write=True)
    services.objectif_delete(acting_user=request.user, objectif=objectif)
    messages.success(request, "L’objectif est supprimé.")
    return redirect(action)


@login_required
@require_POST
def seance_add(request, pk):
    action = _action(request, pk, write=True)
    form = SeanceForm(request.POST)
    if form.is_valid():
        services.seance_add(acting_user=request.user, action=action, **form.cleaned_data)
        messages.success(request, "La séance est ajoutée au calendrier.")
    else:
        flash_errors(request, form)
    return redirect(action)


@login_required
@require_POST
def seance_delete(request, pk):
    seance = get_object_or_404(Seance.objects.visible_to(request.user).select_related("action"), pk=pk)
    action = _action(request, seance.action_id, write=True)
    services.seance_delete(acting_user=request.user, seance=seance)
    messages.success(request, "La séance est supprimée.")
    return redirect(action)


def _ics_response(request, events, name, filename):
    # The same UIDs as the subscribed feeds (actions.agenda): importing both never duplicates.
    body = ical.calendar_bytes(events, name=name, domain=agenda.uid_domain(request.get_host()))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def action_ics(request, pk):
    action = _action(request, pk)
    events = selectors.calendar_events(action, base_url=request.build_absolute_uri("/").rstrip("/"))
    return _ics_response(request, events, action.titre, f"action-{action.pk}.ics")


@login_required
def recommandations(request, pk):
    action = _action(request, pk)
    can_write = scope_for(request.user).may(Permission.ACTION_WRITE, action.structure_id)
    if not can_write and not scope_for(request.user).can_read_epn(action.structure_id):
        raise Http404  # a partner sees the action, not the EPN's directory
    ranked, diagnostic = recommendations(action)
    participations = ActionPartenaire.objects.filter(action=action).select_related("partenaire")
    pick_form = None
    if can_write:
        others = Structure.objects.filter(
            kind=StructureKind.PARTENAIRE, referencee_par=action.structure
        ).exclude(pk__in=participations.values("partenaire_id"))
        groups = organisation_groups(others, epn=action.structure)
        pick_form = PickPartnerForm(partners=others, groups=groups) if groups else None
    return render(
        request,
        "actions/recommandations.html",
        {
            "title": f"Partenaires recommandés — {action.titre}",
            "action": action,
            "ranked": ranked,
            "local": [item for item in ranked if item.local],
            "local_count": sum(1 for item in ranked if item.local),
            "outside": [item for item in ranked if not item.local],
            "territory": territory_of(action.structure),
            "limit": RECOMMENDATION_LIMIT,
            "pick_form": pick_form,
            "diagnostic": diagnostic,
            "participations": participations,
            "can_write": can_write,
        },
    )


@login_required
@require_POST
def partenaire_add(request, pk):
    action = _action(request, pk, write=True)
    form = AddPartnerForm(request.POST)
    if not form.is_valid():
        raise Http404
    partenaire = get_object_or_404(
        Structure.objects.visible_to(request.user).filter(
            kind=StructureKind.PARTENAIRE, referencee_par=action.structure
        ),
        pk=form.cleaned_data["partenaire"],
    )
    services.action_partenaire_add(
        acting_user=request.user,
        action=action,
        partenaire=partenaire,
        role=form.cleaned_data["role"],
        score=form.cleaned_data["score"],
    )
    messages.success(request, f"« {partenaire.nom} » est partenaire de l’action.")
    return redirect("actions:recommandations", pk=action.pk)


@login_required
@require_POST
def partenaire_remove(request, pk):
    participation = get_object_or_404(
        ActionPartenaire.objects.visible_to(request.user).select_related("action", "partenaire"), pk=pk
    )
    action = _action(request, participation.action_id, write=True)
    services.action_partenaire_remove(acting_user=request.user, participation=participation)
    messages.success(request, f"« {participation.partenaire.nom} » n’est plus partenaire de l’action.")
    return redirect(action)


@login_required
def matrice(request, pk):
    action = _action(request, pk)
    can_write = scope_for(request.user).may(Permission.ACTION_WRITE, action.structure_id)
    if request.method == "POST" and not can_write:
        raise PermissionDenied
    action = (
        Action.objects.select_related("structure", "structure__collectivite")
        .prefetch_related(
            Prefetch(
                "participations",
                queryset=ActionPartenaire.objects.select_related(
                    "partenaire", "partenaire__fiche_partenaire"
                ),
            ),
            "affectations",
        )
        .get(pk=action.pk)
    )
    matrix = selectors.task_matrix(action)
    form = matrix_form(matrix.parties, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            rows = {
                task.value: (
                    form.cleaned_data[f"resp_{task.value}"],
                    form.cleaned_data[f"contrib_{task.value}"],
                )
                for task, _ in matrix.rows()
            }
            try:
                services.matrice_update(acting_user=request.user, action=action, rows=rows)
            except ValidationError as error:
                flash_errors(request, error)
            else:
                messages.success(request, "La répartition des tâches est enregistrée.")
                return redirect("actions:matrice", pk=action.pk)
        else:
            flash_errors(request, form)
    rows = []
    for task, cells in matrix.rows():
        rows.append(
            {
                "task": task,
                "cells": [
                    {"party": party, "role": cells[party.id], "competent": task in party.competences}
                    for party in matrix.parties
                ],
                "nobody": not any(cells[p.id] == RoleTache.RESPONSABLE for p in matrix.parties),
            }
        )
    return render(
        request,
        "actions/matrice.html",
        {
            "title": f"Répartition des tâches — {action.titre}",
            "action": action,
            "parties": matrix.parties,
            "rows": rows,
            "warnings": selectors.check_matrix(matrix),
            "can_write": can_write,
        },
    )


@login_required
def reunion_create(request, pk):
    action = _action(request, pk, write=True)
    form = ReunionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            reunion = services.reunion_create(acting_user=request.user, action=action, **data)
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(request, "La réunion est enregistrée.")
            return redirect(reunion)
    return render(
        request,
        "actions/reunion_form.html",
        {"title": "Nouvelle réunion préalable", "form": form, "action": action},
    )


def _reunion(request, pk, *, write=False) -> Reunion:
    reunion = get_object_or_404(
        Reunion.objects.visible_to(request.user).select_related("action", "action__structure"), pk=pk
    )
    if write and not scope_for(request.user).may(Permission.ACTION_WRITE, reunion.action.structure_id):
        raise PermissionDenied
    return reunion


@login_required
def reunion_detail(request, pk):
    reunion = _reunion(request, pk)
    action = _action(request, reunion.action_id)
    can_write = scope_for(request.user).may(Permission.ACTION_WRITE, action.structure_id)
    parties = selectors.parties_of(
        Action.objects.select_related("structure", "structure__collectivite")
        .prefetch_related(
            Prefetch(
                "participations",
                queryset=ActionPartenaire.objects.select_related(
                    "partenaire", "partenaire__fiche_partenaire"
                ),
            )
        )
        .get(pk=action.pk)
    )
    names = {party.id: party.name for party in parties}
    decisions = [
        (
            decision,
            names.get(
                f"partenaire-{decision.partenaire_id}" if decision.partenaire_id else decision.partie_type, ""
            ),
        )
        for decision in reunion.decisions.all()
    ]
    return render(
        request,
        "actions/reunion_detail.html",
        {
            "title": reunion.titre,
            "reunion": reunion,
            "action": action,
            "decisions": decisions,
            "can_write": can_write,
            "decision_form": DecisionForm(parties=parties),
            "commentaires": reunion.commentaires.select_related("auteur"),
            "commentaire_form": CommentaireForm(),
        },
    )


@login_required
def reunion_update(request, pk):
    reunion = _reunion(request, pk, write=True)
    initial = {name: getattr(reunion, name) for name in services.REUNION_FIELDS}
    form = ReunionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.reunion_update(acting_user=request.user, reunion=reunion, **form.cleaned_data)
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(request, "La réunion est enregistrée.")
            return redirect(reunion)
    return render(
        request,
        "actions/reunion_form.html",
        {"title": f"Modifier « {reunion.titre} »", "form": form, "action": reunion.action, "object": reunion},
    )


@login_required
@require_POST
def decision_add(request, pk):
    reunion = _reunion(request, pk, write=True)
    parties = selectors.parties_of(reunion.action)
    form = DecisionForm(request.POST, parties=parties)
    if form.is_valid():
        try:
            services.decision_add(acting_user=request.user, reunion=reunion, **form.cleaned_data)
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "La décision est enregistrée.")
    else:
        flash_errors(request, form)
    return redirect(reunion)


@login_required
def reunion_ics(request, pk):
    reunion = _reunion(request, pk)
    event = selectors.reunion_event(reunion, base_url=request.build_absolute_uri("/").rstrip("/"))
    return _ics_response(request, [event], reunion.titre, f"reunion-{reunion.pk}.ics")


@login_required
@require_POST
def commentaire_add(request, pk):
    action = _action(request, pk)
    reunion = None
    if request.POST.get("reunion"):
        try:
            reunion_id = int(request.POST["reunion"])
        except ValueError:
            raise Http404 from None  # a malformed id is a missing meeting, not a crash
        reunion = get_object_or_404(
            Reunion.objects.visible_to(request.user).filter(action=action), pk=reunion_id
        )
    form = CommentaireForm(request.POST)
    if form.is_valid():
        services.commentaire_add(
            acting_user=request.user, action=action, reunion=reunion, texte=form.cleaned_data["texte"]
        )
        messages.success(request, "Votre commentaire est publié.")
    else:
        flash_errors(request, form)
    return redirect(reunion or action)


@login_required
def budget(request, pk):
    """The action's budget prévisionnel: the one the dossier and the conventions quote.

    The EPN's readers (and the collectivité that follows it) read it; the EPN's staff edit it.
    A partner reads its own contribution in the convention it signs, not the EPN's budget."""
    action = _action(request, pk)
    scope = scope_for(request.user)
    can_write = scope.may(Permission.ACTION_WRITE, action.structure_id)
    if not can_write and not scope.can_read_epn(action.structure_id):
        raise Http404
    if request.method == "POST" and not can_write:
        raise PermissionDenied
    parties = {key: name for key, (name, _) in services.budget_parties(action).items()}
    labels = dict(parties)
    labels["epn"] = f"{parties['epn']} (fonds propres)"
    charges_rows = list(action.charges_budget.all())
    ressources_rows = list(action.ressources_budget.all())
    formsets = None
    if can_write:
        data = request.POST if request.method == "POST" else None
        charges = ChargeFormSet(
            data,
            prefix="charges",
            initial=[
                {"categorie": c.categorie, "libelle": c.libelle, "montant": c.montant} for c in charges_rows
            ],
        )
        ressources = RessourceFormSet(
            data,
            prefix="ressources",
            form_kwargs={"parties": labels},
            initial=[
                {
                    "categorie": r.categorie,
                    "libelle": r.libelle,
                    "montant": r.montant,
                    "partie": r.partie if r.partie in parties else AUTRE,
                    "contributeur": "" if r.partie in parties else r.contributeur,
                }
                for r in ressources_rows
            ],
        )
        formsets = (charges, ressources)
        if request.method == "POST" and charges.is_valid() and ressources.is_valid():

            def kept(formset):
                return [
                    f.cleaned_data
                    for f in formset.forms
                    if f.cleaned_data and not f.cleaned_data.get("DELETE")
                ]

            lines = [
                {**line, "partie": "" if line["partie"] == AUTRE else line["partie"]}
                for line in kept(ressources)
            ]
            try:
                summary = services.action_set_budget(
                    acting_user=request.user, action=action, charges=kept(charges), ressources=lines
                )
            except ValidationError as error:
                flash_errors(request, error)
            else:
                if summary.problems:
                    messages.warning(request, f"Le budget est enregistré. {summary.problems[0]}")
                else:
                    messages.success(request, "Le budget est enregistré, à l’équilibre.")
                return redirect("actions:budget", pk=action.pk)
    summary = action.budget_summary()
    return render(
        request,
        "actions/budget.html",
        {
            "title": f"Budget prévisionnel — {action.titre}",
            "action": action,
            "can_write": can_write,
            "summary": summary,
            "charges": charges_rows,
            "ressources": ressources_rows,
            "charges_form": formsets[0] if formsets else None,
            "ressources_form": formsets[1] if formsets else None,
            "dossiers": action.dossiers.order_by("-created_at", "-id"),
        },
    )
