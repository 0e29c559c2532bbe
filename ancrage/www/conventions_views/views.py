from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ancrage.accounts.second_factor import confirmed_device
from ancrage.actions.models import Action
from ancrage.audit.models import AuditEntry
from ancrage.conventions import jobs, preuve, selectors, services
from ancrage.conventions.content import format_amount
from ancrage.conventions.custom_models import documented_variables
from ancrage.conventions.enums import ETAT_BADGES, ETAT_LABELS, Etat
from ancrage.conventions.models import Convention, ConventionVersion, GenerationJob, ModelePersonnalise
from ancrage.conventions.platform import platform_certificate
from ancrage.core.wording import FEMININ, accorde
from ancrage.organisations import permissions
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import scope_for
from ancrage.www.conventions_views.forms import (
    CUSTOM_PREFIX,
    CodeForm,
    CommentaireForm,
    ConventionCreateForm,
    ConventionForm,
    DecisionForm,
    DelegationForm,
    ModeleUploadForm,
    RefusForm,
    ResiliationForm,
)
from ancrage.www.forms import add_validation_error
from ancrage.www.messages import flash_errors

PAGE_SIZE = 25


def _convention(request, pk, *, write=False) -> Convention:
    """The convention if the user sees it (else 404); for a write, only the EPN's staff (else 403)."""
    convention = get_object_or_404(
        Convention.objects.visible_to(request.user).select_related(
            "structure", "collectivite", "action", "avenant_de", "version_soumise", "modele_personnalise"
        ),
        pk=pk,
    )
    if write and not scope_for(request.user).may(Permission.CONVENTION_WRITE, convention.structure_id):
        raise PermissionDenied
    return convention


def _staff_epns(user):
    scope = scope_for(user)
    epns = Structure.objects.filter(kind=StructureKind.EPN)
    return list(
        epns
        if scope.is_superuser
        else epns.filter(id__in=permissions.epns_with(scope, Permission.CONVENTION_WRITE))
    )


def _etat(convention) -> dict:
    etat = selectors.effective_etat(convention)
    return {"value": etat, "label": ETAT_LABELS[etat], "badge": ETAT_BADGES[etat]}


@login_required
def convention_list(request):
    scope = scope_for(request.user)
    conventions = (
        Convention.objects.visible_to(scope)
        .select_related("structure", "collectivite", "action", "avenant_de")
        .order_by("-created_at", "-id")
    )
    page = Paginator(conventions, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(c, _etat(c)) for c in page.object_list]
    # Alerts cover every convention in force the user sees, not only this page's.
    in_force = Convention.objects.visible_to(scope).filter(etat=Etat.SIGNEE).select_related("structure")
    return render(
        request,
        "conventions/list.html",
        {
            "title": "Conventions",
            "page_obj": page,
            "rows": rows,
            "alerts": selectors.expiry_alerts(in_force),
            "can_write": bool(_staff_epns(request.user)),
        },
    )


@login_required
def convention_create(request):
    """From an action (?action=<id>: partners, task matrix and budget prefilled), or blank."""
    epns = _staff_epns(request.user)
    if not epns:
        raise PermissionDenied
    source = request.POST if request.method == "POST" else request.GET
    action = None
    if source.get("action"):
        try:
            action_id = int(source["action"])
        except ValueError:
            raise Http404 from None
        action = get_object_or_404(
            Action.objects.visible_to(request.user).select_related("structure"), pk=action_id
        )
        if action.structure_id not in {epn.pk for epn in epns}:
            raise PermissionDenied
        epn = action.structure
    else:
        epn_id = source.get("epn") or epns[0].pk
        epn = next((e for e in epns if str(e.pk) == str(epn_id)), None)
        if epn is None:
            raise PermissionDenied
    initial = {"modele": "partenariat_generique", "duree_mois": 12}
    prefill = {}
    if action is not None:
        prefill = selectors.prefill_from_action(action)
        initial.update(titre=prefill["titre"], objet=prefill["objet"], date_debut=prefill["date_debut"])
    form = ConventionCreateForm(request.POST or None, initial=initial, epn=epn)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if action is not None:
                convention = services.convention_create_from_action(
                    acting_user=request.user, action=action, **data
                )
            else:
                convention = services.convention_create(
                    acting_user=request.user, epn=epn, lieu_signature=epn.commune_nom, **data
                )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(
                request,
                "Le brouillon est créé. Relisez les engagements de chaque partie, puis générez le document.",
            )
            return redirect("conventions:update", pk=convention.pk)
    return render(
        request,
        "conventions/create.html",
        {
            "title": "Rédiger une convention",
            "form": form,
            "action": action,
            "epn": epn,
            "epns": epns,
            "prefill": prefill,
        },
    )


@login_required
def convention_update(request, pk):
    convention = _convention(request, pk, write=True)
    if convention.etat != Etat.BROUILLON:
        messages.error(request, "Seul un brouillon se modifie.")
        return redirect(convention)
    parties = selectors.party_names(convention)
    engagements = {key: [] for key in parties}
    for item in convention.engagements:
        engagements.setdefault(item["partie"], []).append(item["texte"])
    initial = {
        name: getattr(convention, name)
        for name in (
            "titre",
            "objet",
            "modalites_versement",
            "date_debut",
            "duree_mois",
            "reconduction_tacite",
            "reconductions_max",
            "preavis_mois",
            "delai_alerte_jours",
            "lieu_signature",
            "juridiction",
            "locaux",
            "equipements",
            "creneaux",
            "classes",
            "encadrement",
        )
    }
    initial.update(
        modele=(
            f"{CUSTOM_PREFIX}{convention.modele_personnalise_id}"
            if convention.modele_personnalise_id
            else convention.modele
        ),
        partenaires=list(convention.partenaires.all()),
        objectifs="\n".join(convention.objectifs),
        publics="\n".join(convention.publics),
        indicateurs="\n".join(convention.indicateurs),
        **{f"engagements__{key}": "\n".join(texts) for key, texts in engagements.items() if key in parties},
    )
    form = ConventionForm(request.POST or None, initial=initial, convention=convention, parties=parties)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        partenaires = list(data.pop("partenaires"))
        try:
            services.convention_update(
                acting_user=request.user, convention=convention, partenaires=partenaires, **data
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(
                request, "Le brouillon est enregistré. Générez une nouvelle version du document."
            )
            return redirect(convention)
    return render(
        request,
        "conventions/form.html",
        {"title": f"Modifier « {convention.titre} »", "form": form, "convention": convention},
    )


def _finances(convention, names: dict[str, str]) -> dict:
    """The financial lines as the page lists them, and what the clause makes of them (the same
    rule as ``financement.decide``: a cash resource from a party other than the EPN)."""
    lines, paying = [], []
    for line in convention.finances:
        try:
            amount = format_amount(Decimal(str(line.get("montant", "0"))))
        except InvalidOperation:
            amount = str(line.get("montant", ""))
        party = line.get("partie") if line.get("partie") in names else None
        who = names[party] if party else line.get("contributeur", "")
        kind = "Ressource" if line.get("ressource") else "Charge"
        text = f"{kind} : {line.get('libelle', '')}" + (f" ({who})" if line.get("ressource") and who else "")
        lines.append(f"{text} — {amount}" + (" (en nature)" if line.get("en_nature") else ""))
        if line.get("ressource") and not line.get("en_nature") and party not in (None, selectors.EPN_KEY):
            paying.append(f"{names[party]} ({amount})")
    return {"finance_lines": lines, "finance_paying": paying}


@login_required
def convention_detail(request, pk):
    convention = _convention(request, pk)
    parties = selectors.parties_of(convention)
    names = {party.key: party.name for party in parties}
    scope = scope_for(request.user)
    decisions = list(convention.decisions.select_related("par").order_by("tour", "id"))
    delegations = list(convention.delegations.filter(tour=convention.tour).order_by("id"))
    progress = selectors.circuit_progress(convention, decisions, delegations)
    turns = selectors.turns_for(request.user, convention, progress, delegations)
    waiting = [t.on_behalf_of or t.person for t in turns]
    people = convention.circuit.get("people", {}) if convention.circuit else {}
    round_decisions = [d for d in decisions if d.tour == convention.tour]
    steps = []
    if progress is not None:
        for step in progress.steps:
            done = {d.pour_le_compte_de or d.personne: d for d in round_decisions if d.etape == step.index}
            steps.append(
                {
                    "progress": step,
                    "people": [
                        {
                            "nom": people.get(p, {}).get("nom", ""),
                            "organisation": people.get(p, {}).get("organisation", p),
                            "decision": done.get(p),
                        }
                        for p in step.step.people
                    ],
                    "delegations": [d for d in delegations if d.etape == step.index],
                }
            )
    current_step = progress.current.step if progress is not None and progress.current else None
    sha = convention.version_soumise.pdf_sha256 if convention.version_soumise_id else ""
    my_turns = [
        {
            "turn": turn,
            "refus_form": RefusForm(initial={"tour": convention.tour, "etape": turn.step}),
            "decision_form": DecisionForm(initial={"tour": convention.tour, "document_sha256": sha})
            if turn.kind == "visa"
            else None,
            "delegation_form": _delegation_form(convention, turn),
        }
        for turn in turns
    ]
    versions = list(convention.versions.select_related("created_by").order_by("-numero"))
    job = convention.jobs.order_by("-created_at", "-id").first()
    return render(
        request,
        "conventions/detail.html",
        {
            "title": convention.titre,
            "convention": convention,
            "etat": _etat(convention),
            "can_write": scope.may(Permission.CONVENTION_WRITE, convention.structure_id),
            "parties": parties,
            "engagements": convention.engagements,
            "party_names": names,
            **_finances(convention, names),
            "versions": versions,
            "latest": versions[0] if versions else None,
            "up_to_date": bool(versions) and versions[0].edition == convention.edition,
            "job": job,
            "steps": steps,
            "current_step": current_step,
            "waiting": waiting,
            "my_turns": my_turns,
            "proof_rounds": preuve.rounds(convention) if _is_party(request.user, convention) else [],
            "rejection": next((d for d in reversed(decisions) if d.decision == "rejeter"), None),
            "commentaires": convention.commentaires.select_related("auteur", "version"),
            "commentaire_form": CommentaireForm(),
            "avenants": convention.original.avenants.order_by("numero_avenant"),
            "certificate_is_dev": platform_certificate().is_development if convention.pdf_signe else False,
        },
    )


def _delegation_form(convention, turn):
    if turn.kind != "signature" or turn.on_behalf_of:
        return None
    deputies = services.deputies_for(convention, turn.step)
    if not deputies:
        return None
    return DelegationForm(initial={"tour": convention.tour, "etape": turn.step}, deputies=deputies)


def _is_party(user, convention) -> bool:
    """The parties' people: the EPN's staff, the partners' members, the collectivité's."""
    scope = scope_for(user)
    if scope.is_superuser or convention.structure_id in scope.staff_epn_ids:
        return True
    if convention.collectivite_id and convention.collectivite_id in scope.collectivite_ids:
        return True
    return convention.partenaires.filter(pk__in=scope.partner_ids).exists()


@login_required
def convention_sign(request, pk):
    """The signing page: the document, its hash, then a one-time code (e-mail or TOTP app)."""
    convention = _convention(request, pk)
    turns = [t for t in selectors.turns_for(request.user, convention) if t.kind == "signature"]
    try:
        etape = int(request.POST.get("etape", request.GET.get("etape", turns[0].step if turns else -1)))
    except ValueError:
        raise Http404 from None
    turn = next((t for t in turns if t.step == etape), None)
    if turn is None:
        messages.error(request, "Aucune signature ne vous est demandée sur cette convention pour le moment.")
        return redirect(convention)
    version = convention.version_soumise
    totp = confirmed_device(request.user) is not None
    initial = {"tour": convention.tour, "etape": turn.step, "document_sha256": version.pdf_sha256}
    form = CodeForm(initial=initial, totp=totp)
    if request.method == "POST" and request.POST.get("action") == "envoyer":
        try:
            services.signature_code_send(
                acting_user=request.user, convention=convention, etape=turn.step, tour=convention.tour
            )
            messages.success(
                request, f"Un code à 6 chiffres vous a été envoyé à {request.user.email}. Il vaut 10 minutes."
            )
        except ValidationError as error:
            flash_errors(request, error)
        return redirect(reverse("conventions:sign", kwargs={"pk": pk}) + f"?etape={turn.step}")
    if request.method == "POST":
        form = CodeForm(request.POST, initial=initial, totp=totp)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.convention_sign(
                    acting_user=request.user,
                    convention=convention,
                    code=data["code"],
                    canal=data["canal"] or "email",
                    tour=data["tour"],
                    etape=data["etape"],
                    document_sha256=data["document_sha256"],
                )
            except ValidationError as error:
                add_validation_error(form, error)
            else:
                convention.refresh_from_db()
                if convention.etat == Etat.SIGNEE:
                    messages.success(
                        request,
                        "La convention est signée par toutes les parties : le PDF scellé est disponible.",
                    )
                else:
                    messages.success(request, f"Votre signature est {accorde('enregistré', FEMININ)}.")
                return redirect(convention)
    return render(
        request,
        "conventions/sign.html",
        {
            "title": f"Signer « {convention.titre} »",
            "convention": convention,
            "version": version,
            "turn": turn,
            "form": form,
            "totp": totp,
            "code_sent": convention.codes.filter(
                user=request.user, tour=convention.tour, canal="email", used_at__isnull=True
            ).exists(),
        },
    )


@login_required
@require_POST
def convention_refuse(request, pk):
    convention = _convention(request, pk)
    form = RefusForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(convention)
    try:
        services.convention_decide(
            acting_user=request.user,
            convention=convention,
            decision="rejeter",
            commentaire=form.cleaned_data["commentaire"],
            tour=form.cleaned_data["tour"],
            etape=form.cleaned_data["etape"],
        )
    except ValidationError as error:
        flash_errors(request, error)
        return redirect(convention)
    messages.success(request, "Votre refus est enregistré : la convention revient en brouillon à l’EPN.")
    return redirect(convention)


@login_required
@require_POST
def convention_delegate(request, pk):
    convention = _convention(request, pk)
    try:
        etape = int(request.POST.get("etape", ""))
    except ValueError:
        raise Http404 from None
    if not convention.circuit or not 0 <= etape < len(convention.circuit.get("steps", [])):
        raise Http404
    form = DelegationForm(request.POST, deputies=services.deputies_for(convention, etape))
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(convention)
    try:
        delegation = services.convention_delegate(
            acting_user=request.user,
            convention=convention,
            etape=etape,
            delegataire=form.cleaned_data["delegataire"],
            tour=form.cleaned_data["tour"],
        )
    except ValidationError as error:
        flash_errors(request, error)
        return redirect(convention)
    messages.success(request, f"{delegation.delegataire_nom} peut désormais signer par délégation de vous.")
    return redirect(convention)


@login_required
def proof_download(request, pk, tour, fmt):
    convention = _convention(request, pk)
    tour = int(tour)
    if not _is_party(request.user, convention) or tour not in preuve.rounds(convention):
        raise Http404
    reference = convention.reference or f"convention-{convention.pk}"
    if fmt == "json":
        data, media = preuve.as_json(convention, tour), "application/json"
    else:
        data, media = preuve.as_pdf(convention, tour), "application/pdf"
    response = HttpResponse(data, content_type=media)
    response["Content-Disposition"] = f'attachment; filename="{reference}-preuve-tour-{tour}.{fmt}"'
    return response


@login_required
@require_POST
def convention_generate(request, pk):
    convention = _convention(request, pk, write=True)
    try:
        job = services.convention_version_request(acting_user=request.user, convention=convention)
    except ValidationError as error:
        flash_errors(request, error)
        return redirect(convention)
    return redirect("conventions:job", pk=job.pk)


@login_required
def job_detail(request, pk):
    job = get_object_or_404(
        GenerationJob.objects.visible_to(request.user).select_related("convention", "version"), pk=pk
    )
    return render(
        request,
        "conventions/job.html",
        {
            "title": "Génération du document",
            "job": job,
            "convention": job.convention,
            "stale": jobs.is_stale(job),
        },
    )


def _file_response(field, filename: str):
    return FileResponse(field.open("rb"), as_attachment=True, filename=filename)


@login_required
def version_download(request, pk, fmt):
    version = get_object_or_404(
        ConventionVersion.objects.visible_to(request.user).select_related("convention"), pk=pk
    )
    reference = version.convention.reference or f"convention-{version.convention_id}"
    field = {"docx": version.docx, "odt": version.odt, "pdf": version.pdf}[fmt]
    if not field:
        raise Http404  # a custom DOCX model has no ODT
    return _file_response(field, f"{reference}-v{version.numero}.{fmt}")


@login_required
def signed_download(request, pk):
    convention = _convention(request, pk)
    if not convention.pdf_signe:
        raise Http404
    return _file_response(convention.pdf_signe, f"{convention.reference or convention.pk}-signee.pdf")


@login_required
@require_POST
def commentaire_add(request, pk):
    convention = _convention(request, pk)
    form = CommentaireForm(request.POST)
    if form.is_valid():
        try:
            services.convention_comment_add(
                acting_user=request.user, convention=convention, **form.cleaned_data
            )
            messages.success(request, "Votre commentaire est ajouté.")
        except ValidationError as error:
            flash_errors(request, error)
    else:
        flash_errors(request, form)
    return redirect(reverse("conventions:detail", kwargs={"pk": pk}) + "#commentaires")


@login_required
@require_POST
def convention_submit(request, pk):
    convention = _convention(request, pk, write=True)
    try:
        services.convention_submit(acting_user=request.user, convention=convention)
        messages.success(request, "La convention est soumise au circuit de validation.")
    except ValidationError as error:
        flash_errors(request, error)
    return redirect(convention)


@login_required
@require_POST
def convention_withdraw(request, pk):
    convention = _convention(request, pk, write=True)
    try:
        services.convention_withdraw(acting_user=request.user, convention=convention)
        messages.success(request, "La convention est retirée du circuit : elle redevient un brouillon.")
    except ValidationError as error:
        flash_errors(request, error)
    return redirect(convention)


@login_required
@require_POST
def convention_decide(request, pk):
    convention = _convention(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(convention)
    try:
        decision = services.convention_decide(
            acting_user=request.user, convention=convention, **form.cleaned_data
        )
    except ValidationError as error:
        flash_errors(request, error)
        return redirect(convention)
    convention.refresh_from_db()
    if decision.decision == "rejeter":
        messages.success(request, "Votre rejet est enregistré : la convention revient en brouillon à l’EPN.")
    elif convention.etat == Etat.SIGNEE:
        messages.success(request, "La convention est signée : le PDF scellé est disponible.")
    else:
        # Agreement with the noun (« visa » is masculine), never the persons' point médian.
        if decision.nature == "visa":
            messages.success(request, "Votre visa est enregistré.")
        else:
            messages.success(request, f"Votre signature est {accorde('enregistré', FEMININ)}.")
    return redirect(convention)


@login_required
def convention_history(request, pk):
    convention = _convention(request, pk)
    scope = scope_for(request.user)
    entries = AuditEntry.objects.filter(
        object_type="conventions.convention", object_id=str(convention.pk)
    ).order_by("at", "id")
    return render(
        request,
        "conventions/history.html",
        {
            "title": f"Historique — {convention.titre}",
            "convention": convention,
            "versions": convention.versions.select_related("created_by").order_by("numero"),
            "decisions": convention.decisions.order_by("tour", "id"),
            "entries": entries,
            # Addresses are personal data: shown to the EPN that answers for the convention.
            "show_addresses": scope.may(Permission.CONVENTION_WRITE, convention.structure_id),
        },
    )


@login_required
def convention_terminate(request, pk):
    convention = _convention(request, pk, write=True)
    form = ResiliationForm(request.POST or None, initial={"date_effet": selectors.today()})
    if request.method == "POST" and form.is_valid():
        try:
            services.convention_terminate(
                acting_user=request.user, convention=convention, **form.cleaned_data
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(request, "La résiliation est enregistrée.")
            return redirect(convention)
    return render(
        request,
        "conventions/resiliation.html",
        {"title": f"Résilier « {convention.titre} »", "form": form, "convention": convention},
    )


@login_required
@require_POST
def avenant_create(request, pk):
    convention = _convention(request, pk, write=True)
    try:
        avenant = services.convention_avenant_create(acting_user=request.user, convention=convention)
    except ValidationError as error:
        flash_errors(request, error)
        return redirect(convention)
    messages.success(request, "L’avenant est créé en brouillon : modifiez ce qui change.")
    return redirect("conventions:update", pk=avenant.pk)


@login_required
def modeles(request):
    epns = _staff_epns(request.user)
    if not epns:
        raise PermissionDenied
    epn = next((e for e in epns if str(e.pk) == request.GET.get("epn", "")), epns[0])
    form = ModeleUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["fichier"]
        try:
            services.modele_upload(
                acting_user=request.user,
                epn=epn,
                nom=form.cleaned_data["nom"],
                filename=upload.name,
                data=upload.read(),
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(request, "Le modèle est vérifié et enregistré : il est proposé à la rédaction.")
            return redirect(reverse("conventions:modeles") + f"?epn={epn.pk}")
    return render(
        request,
        "conventions/modeles.html",
        {
            "title": "Modèles de convention",
            "form": form,
            "epn": epn,
            "modeles": ModelePersonnalise.objects.visible_to(request.user).filter(structure=epn),
            "variables": documented_variables(),
        },
    )
