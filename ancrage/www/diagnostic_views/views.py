"""Pages of the territorial diagnostic: imports, priorities, sectors, saved diagnostics, documents.

Reads go through scoping (``visible_to`` / the user's scope); an EPN outside the scope is a 404.
Writes need a staff role in the EPN (animateur, responsable); a référent who sees the EPN gets 403.
"""

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.core import safe_files
from ancrage.core.importing import ImportRejected
from ancrage.core.wording import nombre
from ancrage.diagnostic import charts, jobs, rapport, services
from ancrage.diagnostic.engine import DiagnosticImpossible
from ancrage.diagnostic.models import Diagnostic, ImportJob, Priorite
from ancrage.frequentation import readers
from ancrage.frequentation import services as frequentation_services
from ancrage.frequentation.models import FrequentationImport
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import scope_for
from ancrage.territoire import geo, insee
from ancrage.territoire import services as territoire_services
from ancrage.territoire.libelles import libelle_secteur
from ancrage.territoire.models import PassageIris, PopulationImport, Quartier, Secteur
from ancrage.www.diagnostic_views.forms import DiagnosticForm, ImportForm, PrioriteForm, QpvForm, QuartierForm
from ancrage.www.forms import add_validation_error
from ancrage.www.messages import flash_errors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _posted_id(request, name: str) -> int:
    """The id a form posted; anything but a number is a 404, never a 500."""
    try:
        return int(request.POST.get(name, ""))
    except ValueError:
        raise Http404 from None


def _epn(request, structure_id: int, write: bool = False) -> Structure:
    scope = scope_for(request.user)
    if not scope.can_read_epn(structure_id):
        raise Http404
    structure = get_object_or_404(Structure, pk=structure_id, kind=StructureKind.EPN)
    if write and not scope.may(Permission.DIAGNOSTIC_WRITE, structure_id):
        raise PermissionDenied
    return structure


def _diagnostic(request, pk: int) -> Diagnostic:
    return get_object_or_404(Diagnostic.objects.visible_to(request.user).select_related("structure"), pk=pk)


@login_required
def index(request):
    scope = scope_for(request.user)
    epns = Structure.objects.filter(kind=StructureKind.EPN).order_by("nom")
    if not scope.is_superuser:
        epns = epns.filter(pk__in=scope.epn_ids)
    epns = epns.annotate(nb_diagnostics=Count("diagnostics", distinct=True))
    if len(epns) == 1:
        return redirect("diagnostic:epn", structure_id=epns[0].pk)
    return render(request, "diagnostic/index.html", {"title": "Diagnostic du territoire", "epns": epns})


@login_required
def epn(request, structure_id: int):
    structure = _epn(request, structure_id)
    frequentations = list(FrequentationImport.objects.filter(structure=structure))
    context = {
        "title": f"Diagnostic du territoire — {structure.nom}",
        "structure": structure,
        "can_write": scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, structure.pk),
        "is_responsable": request.user.is_superuser
        or "responsable"
        in request.user.memberships.active().filter(structure=structure).values_list("role", flat=True),
        "populations": PopulationImport.objects.actives()
        .filter(structure=structure)
        .select_related("created_by"),
        "populations_retirees": PopulationImport.objects.retirees()
        .filter(structure=structure)
        .select_related("created_by")
        .order_by("-retiree_le", "-id"),
        "frequentations": frequentations,
        "nb_secteurs": Secteur.objects.filter(structure=structure).count(),
        "nb_qpv": Secteur.objects.filter(structure=structure, qpv=True).count(),
        "quartiers": Quartier.objects.filter(structure=structure),
        "priorites": services.priorites_detail(structure),
        "diagnostics": Diagnostic.objects.filter(structure=structure).select_related("created_by"),
        "jobs": ImportJob.objects.filter(structure=structure).exclude(
            state__in=[ImportJob.State.TERMINE, ImportJob.State.ANNULE]
        )[:10],
        "form": DiagnosticForm(frequentations=frequentations) if frequentations else None,
        "import_kinds": ImportJob.Kind.choices,
    }
    return render(request, "diagnostic/epn.html", context)


@login_required
def import_file(request, structure_id: int, kind: str):
    structure = _epn(request, structure_id, write=True)
    if kind not in ImportJob.Kind.values:
        raise Http404
    form = ImportForm(request.POST or None, request.FILES or None, kind=kind)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["fichier"]
        fichier, contenu = (upload.name, upload) if not isinstance(upload, list) else (None, None)
        if isinstance(upload, list) and len(upload) == 1:
            fichier, contenu = upload[0].name, upload[0]
        elif isinstance(upload, list):  # a shapefile's files: one archive, as IGN delivers them
            fichier = " + ".join(u.name for u in upload)
            contenu = geo.bundle_files([(u.name, u.read()) for u in upload])
        try:
            job = jobs.job_submit(
                acting_user=request.user,
                structure=structure,
                kind=kind,
                fichier=fichier,
                contenu=contenu,  # read by slices: a large upload stays on disk (Django's temporary file)
                options={"format": form.cleaned_data.get("format") or "ancrage"},
            )
        except jobs.TooManyImports as refused:
            form.add_error(None, str(refused))
            status = 429
        else:
            return redirect(job)
    return render(
        request,
        "diagnostic/import_form.html",
        {
            # The model's label of outlines still says GeoJSON (changing it is a migration).
            "title": "Importer : contours des secteurs (IRIS de l’IGN ou GeoJSON)"
            if kind == ImportJob.Kind.CONTOURS
            else f"Importer : {ImportJob.Kind(kind).label}",
            "structure": structure,
            "form": form,
            "kind": kind,
        },
        status=status,
    )


@login_required
def job(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user).select_related("structure"), pk=pk)
    if request.method == "POST":
        if not scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, job.structure_id):
            raise PermissionDenied
        if request.POST.get("action") == "confirmer":
            try:
                jobs.job_confirm(acting_user=request.user, job=job)
            except jobs.TooManyImports as refused:
                messages.error(request, str(refused))
        elif request.POST.get("action") == "annuler":
            jobs.job_cancel(acting_user=request.user, job=job)
            messages.info(request, "Import annulé : rien n’a été enregistré.")
            return redirect("diagnostic:epn", structure_id=job.structure_id)
        elif request.POST.get("action") == "relancer":
            if jobs.job_retry(acting_user=request.user, job=job):
                messages.info(request, "Import relancé.")
            else:
                messages.warning(request, "Cet import est toujours en cours : il ne peut pas être relancé.")
        return redirect(job)
    job.refresh_from_db()
    if job.state == ImportJob.State.TERMINE:
        messages.success(request, f"« {job.fichier} » est importé.")
        return redirect("diagnostic:epn", structure_id=job.structure_id)
    return render(
        request,
        "diagnostic/job.html",
        {
            "title": f"Import de « {job.fichier} »",
            "job": job,
            # What the preview says beyond its table (territory, replacement, blanks, users not
            # placed), empty for the kinds and the older previews that have none of it.
            "verifications": {
                key: (job.apercu or {}).get(key) or []
                for key in ("changements", "ignorees", "manquantes", "non_places")
            },
            "ignorees_total": (job.apercu or {}).get("ignorees_total", ""),
            "stale": jobs.is_stale(job),
            "can_write": scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, job.structure_id),
        },
    )


@login_required
@require_POST
def compute(request, structure_id: int):
    structure = _epn(request, structure_id, write=True)
    frequentations = FrequentationImport.objects.filter(structure=structure)
    form = DiagnosticForm(request.POST, frequentations=frequentations)
    if not form.is_valid():
        messages.error(request, "Choisissez une fréquentation et un niveau de secteurs.")
        return redirect("diagnostic:epn", structure_id=structure.pk)
    frequentation = frequentations.get(pk=form.cleaned_data["frequentation"])
    try:
        diagnostic = services.diagnostic_compute(
            acting_user=request.user,
            structure=structure,
            frequentation=frequentation,
            niveau=form.cleaned_data["niveau"],
            titre=form.cleaned_data["titre"],
            ages=form.cleaned_data["ages"],
        )
    except (DiagnosticImpossible, ValidationError) as exc:
        flash_errors(request, exc)
        return redirect("diagnostic:epn", structure_id=structure.pk)
    return redirect(diagnostic)


def _contours_svg(diagnostic: Diagnostic):
    if diagnostic.niveau != "iris":
        return None
    contours = dict(
        Secteur.objects.filter(structure=diagnostic.structure, contour__isnull=False).values_list(
            "code", "contour"
        )
    )
    return geo.svg_paths(contours) if contours else None  # paths and view box, numbers as strings


SECTEURS_PAR_PAGE = 100
RESULTAT_CACHE_SECONDS = 3600


def _cache_key(kind: str, diagnostic: Diagnostic, *parts) -> str:
    """A key for what is rendered from a saved diagnostic, which never changes: its id and
    creation, and the version of its EPN's sectors' contours (the map), then ``parts``."""
    stamp = diagnostic.created_at.timestamp()
    contours = territoire_services.contours_version(diagnostic.structure_id)
    return ":".join(str(part) for part in (kind, diagnostic.pk, stamp, contours, *parts))


def _resultat_html(request, diagnostic: Diagnostic, can_write: bool) -> str:
    """The result part of the page (targets, charts, tables with one page of sectors), rendered once.

    A saved diagnostic never changes: its rendering is kept (per page of sectors and per right to
    write) rather than decoding its whole JSON result and rendering it on every view.
    """
    page_param = request.GET.get("page", "1")
    page_param = page_param if page_param.isdigit() and len(page_param) < 7 else "1"
    key = _cache_key("diagnostic-detail", diagnostic, int(can_write), page_param)
    html = cache.get(key)
    if html is None:
        resultat = diagnostic.resultat  # deferred by the view: read only when rendering
        secteurs = Paginator(resultat.get("secteurs", []), SECTEURS_PAR_PAGE).get_page(page_param)
        context = {
            "diagnostic": diagnostic,
            "can_write": can_write,
            "resultat": resultat,
            "secteurs": rapport.affiche_secteurs(secteurs.object_list),
            "secteurs_page": secteurs,
            **rapport.chart_context(resultat, _contours_svg(diagnostic)),
        }
        html = render_to_string("diagnostic/_detail_resultat.html", context)
        cache.set(key, str(html), RESULTAT_CACHE_SECONDS)
    return mark_safe(html)  # rendered by our own template, autoescaped there


@login_required
def detail(request, pk: int):
    visible = Diagnostic.objects.visible_to(request.user).select_related("structure", "created_by")
    diagnostic = get_object_or_404(visible.defer("resultat"), pk=pk)
    can_write = scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, diagnostic.structure_id)
    context = {
        "title": diagnostic.titre,
        "diagnostic": diagnostic,
        "structure": diagnostic.structure,
        "can_write": can_write,
        "autres": Diagnostic.objects.filter(structure=diagnostic.structure)
        .exclude(pk=pk)
        .only("pk", "titre"),
        "resultat_html": _resultat_html(request, diagnostic, can_write),
    }
    return render(request, "diagnostic/detail.html", context)


def _document(request, diagnostic: Diagnostic, content: bytes, content_type: str, suffix: str):
    audit_record(
        acting_user=request.user,
        action=AuditAction.DOWNLOAD,
        obj=diagnostic,
        structure=diagnostic.structure,
        changes={"format": suffix},
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="diagnostic-{diagnostic.pk}.{suffix}"'
    return response


@login_required
def pdf(request, pk: int):
    """The diagnostic's report. Rendering it takes seconds (WeasyPrint, the map), and a saved
    diagnostic never changes: the PDF is kept as long as its title, its EPN's name and the
    sectors' contours stay the same."""
    diagnostic = _diagnostic(request, pk)
    names = hashlib.sha256(f"{diagnostic.titre}\x00{diagnostic.structure.nom}".encode()).hexdigest()[:16]
    key = _cache_key("diagnostic-pdf", diagnostic, names)
    content = cache.get(key)
    if content is None:
        content = rapport.render_pdf(
            diagnostic.resultat,
            titre=diagnostic.titre,
            structure=diagnostic.structure.nom,
            parametres=diagnostic.parametres,
            contours_svg=_contours_svg(diagnostic),
        )
        cache.set(key, content, RESULTAT_CACHE_SECONDS)
    return _document(request, diagnostic, content, "application/pdf", "pdf")


@login_required
def export_csv(request, pk: int):
    diagnostic = _diagnostic(request, pk)
    return _document(
        request, diagnostic, rapport.export_csv(diagnostic.resultat), "text/csv; charset=utf-8", "csv"
    )


@login_required
def export_xlsx(request, pk: int):
    diagnostic = _diagnostic(request, pk)
    return _document(request, diagnostic, rapport.export_xlsx(diagnostic.resultat), XLSX, "xlsx")


@login_required
@require_POST
def delete(request, pk: int):
    diagnostic = _diagnostic(request, pk)
    if not scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, diagnostic.structure_id):
        raise PermissionDenied
    structure_id = diagnostic.structure_id
    services.diagnostic_delete(acting_user=request.user, diagnostic=diagnostic)
    messages.success(request, "Diagnostic supprimé.")
    return redirect("diagnostic:epn", structure_id=structure_id)


@login_required
def compare(request):
    visible = Diagnostic.objects.visible_to(request.user).select_related("structure")
    try:
        avant = get_object_or_404(visible, pk=int(request.GET.get("avant", "")))
        apres = get_object_or_404(visible, pk=int(request.GET.get("apres", "")))
    except ValueError:
        raise Http404 from None
    if avant.structure_id != apres.structure_id:
        raise Http404
    return render(
        request,
        "diagnostic/compare.html",
        {
            "title": "Comparer deux diagnostics",
            "avant": avant,
            "apres": apres,
            "structure": apres.structure,
            **charts.comparaison(avant.resultat, apres.resultat),
        },
    )


@login_required
def priorites(request, structure_id: int):
    """The priorities the EPN's next diagnostic uses: its collectivité's (read here; its référent
    edits them on the collectivité's page), then the EPN's own, which its team edits."""
    structure = _epn(request, structure_id)
    can_write = scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, structure.pk)
    form = PrioriteForm(request.POST or None)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "reinitialiser":
            services.priorites_reset(acting_user=request.user, structure=structure)
            messages.success(request, "Priorités propres à l’EPN remises à leurs valeurs par défaut.")
            return redirect("diagnostic:priorites", structure_id=structure.pk)
        if action == "supprimer":
            priorite = get_object_or_404(Priorite, structure=structure, pk=_posted_id(request, "priorite"))
            services.priorite_delete(acting_user=request.user, priorite=priorite)
            return redirect("diagnostic:priorites", structure_id=structure.pk)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.priorite_save(
                    acting_user=request.user,
                    structure=structure,
                    theme=data["theme"],
                    poids=data["poids"],
                    categories=form.categories(),
                    qpv=data["qpv"],
                )
            except ValidationError as exc:
                add_validation_error(form, exc)
            else:
                messages.success(request, f"Priorité « {data['theme']} » enregistrée.")
                return redirect("diagnostic:priorites", structure_id=structure.pk)
    stored = list(Priorite.objects.filter(structure=structure))
    detail = services.priorites_detail(structure)
    collectivite_stored = (
        list(Priorite.objects.filter(collectivite_id=structure.collectivite_id))
        if structure.collectivite_id
        else []
    )
    codes = {code for p in [*stored, *collectivite_stored] for code in p.secteurs}
    return render(
        request,
        "diagnostic/priorites.html",
        {
            "title": f"Priorités — {structure.nom}",
            "structure": structure,
            "collectivite": structure.collectivite,
            "can_write": can_write,
            "stored": stored,
            "collectivite_stored": collectivite_stored,
            "masquees": detail.masquees,
            "par_defaut": detail.par_defaut,
            "noms_secteurs": territoire_services.secteur_noms(structure, codes) if codes else {},
            "priorites": detail.utilisees,
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def secteurs(request, structure_id: int):
    structure = _epn(request, structure_id)
    can_write = scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, structure.pk)
    qpv_form = QpvForm(request.POST if request.POST.get("action") == "qpv" else None)
    passage_errors: list[str] = []
    quartier_form = QuartierForm(request.POST if request.POST.get("action") == "quartier" else None)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "qpv" and qpv_form.is_valid():
                codes = territoire_services.parse_iris_list(qpv_form.cleaned_data["codes"])
                territoire_services.secteurs_set_qpv(
                    acting_user=request.user, structure=structure, codes=codes, source=Secteur.QpvSource.LISTE
                )
                messages.success(
                    request,
                    f"{nombre(len(codes), 'IRIS repéré', 'IRIS repérés')} comme quartiers prioritaires.",
                )
                return redirect("diagnostic:secteurs", structure_id=structure.pk)
            if action == "qpv_coches":
                codes = request.POST.getlist("qpv")
                territoire_services.secteurs_set_qpv(
                    acting_user=request.user, structure=structure, codes=codes
                )
                messages.success(request, "Repères QPV enregistrés.")
                return redirect("diagnostic:secteurs", structure_id=structure.pk)
            if action == "quartier" and quartier_form.is_valid():
                territoire_services.quartier_save(
                    acting_user=request.user,
                    structure=structure,
                    nom=quartier_form.cleaned_data["nom"],
                    iris=territoire_services.parse_iris_list(quartier_form.cleaned_data["iris"]),
                )
                messages.success(request, "Quartier enregistré.")
                return redirect("diagnostic:secteurs", structure_id=structure.pk)
            if action == "passage":
                upload = request.FILES.get("passage")
                if upload is None:
                    raise ValidationError({"passage": "Choisissez le fichier de la table de passage."})
                try:
                    data = upload.read()
                    safe_files.check_upload(data, filename=upload.name, accept={"csv"})
                    correspondances = insee.read_passage_iris(data, upload.name)
                except ImportRejected as exc:
                    raise ValidationError({"passage": [str(issue) for issue in exc.issues[:20]]}) from None
                territoire_services.passage_replace(
                    acting_user=request.user,
                    structure=structure,
                    correspondances=correspondances,
                    fichier=upload.name,
                )
                messages.success(
                    request, f"Table de passage enregistrée : {len(correspondances)} codes IRIS."
                )
                return redirect("diagnostic:secteurs", structure_id=structure.pk)
            if action == "supprimer_passage":
                territoire_services.passage_delete(acting_user=request.user, structure=structure)
                messages.success(request, "Table de passage supprimée.")
                return redirect("diagnostic:secteurs", structure_id=structure.pk)
            if action == "supprimer_quartier":
                quartier_id = _posted_id(request, "quartier")
                quartier = get_object_or_404(Quartier, structure=structure, pk=quartier_id)
                territoire_services.quartier_delete(acting_user=request.user, quartier=quartier)
                return redirect("diagnostic:secteurs", structure_id=structure.pk)
        except ValidationError as exc:
            if action == "passage":
                passage_errors = [m for errors in exc.message_dict.values() for m in errors]
            else:
                form = qpv_form if action in ("qpv", "qpv_coches") else quartier_form
                for errors in exc.message_dict.values():
                    form.add_error(None, errors)
    secteurs = list(Secteur.objects.filter(structure=structure).defer("contour"))
    return render(
        request,
        "diagnostic/secteurs.html",
        {
            "title": "Secteurs, quartiers prioritaires et quartiers",
            "structure": structure,
            "can_write": can_write,
            "secteurs": secteurs,
            "noms_secteurs": {s.code: libelle_secteur(s.code, s.nom) for s in secteurs},
            "quartiers": Quartier.objects.filter(structure=structure),
            "qpv_form": qpv_form,
            "quartier_form": quartier_form,
            "passage": PassageIris.objects.filter(structure=structure).first(),
            "passage_errors": passage_errors,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def usagers_export(request, pk: int):
    """The usagers of one import, in the import format: personal data, so the export is audited."""
    dataset = get_object_or_404(
        FrequentationImport.objects.visible_to(request.user).select_related("structure"), pk=pk
    )
    if not scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, dataset.structure_id):
        # Pseudonymous records stay with the EPN that collected them.
        raise PermissionDenied
    audit_record(
        acting_user=request.user,
        action=AuditAction.EXPORT,
        obj=dataset,
        structure=dataset.structure,
        changes={"enregistrements": dataset.nb_enregistrements},
    )
    response = HttpResponse(
        rapport.csv_bytes(frequentation_services.usagers_export_rows(dataset)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="usagers-{dataset.pk}.csv"'
    return response


@login_required
@require_POST
def frequentation_delete(request, pk: int):
    dataset = get_object_or_404(FrequentationImport.objects.visible_to(request.user), pk=pk)
    if not scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, dataset.structure_id):
        raise PermissionDenied
    structure_id = dataset.structure_id
    frequentation_services.frequentation_delete(acting_user=request.user, dataset=dataset)
    messages.success(request, "Fréquentation supprimée.")
    return redirect("diagnostic:epn", structure_id=structure_id)


@login_required
@require_POST
def population(request, pk: int):
    """Withdraw a base from the EPN's population (``retirer``), or restore one (``retablir``)."""
    dataset = get_object_or_404(PopulationImport.objects.visible_to(request.user), pk=pk)
    if not scope_for(request.user).may(Permission.DIAGNOSTIC_WRITE, dataset.structure_id):
        raise PermissionDenied
    action = request.POST.get("action")
    try:
        if action == "retirer":
            territoire_services.population_delete(acting_user=request.user, dataset=dataset)
            messages.success(
                request,
                f"Base « {dataset.fichier} » retirée : elle reste dans les bases retirées, à rétablir.",
            )
        elif action == "retablir":
            territoire_services.population_restore(acting_user=request.user, dataset=dataset)
            messages.success(request, f"Base « {dataset.fichier} » rétablie.")
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect("diagnostic:epn", structure_id=dataset.structure_id)


@login_required
def modele_usagers(request):
    response = HttpResponse(readers.TEMPLATE_PATH.read_bytes(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="modele-usagers.csv"'
    return response
