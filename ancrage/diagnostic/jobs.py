"""Imports in the background: analyse a file (dry run), show it, apply it on confirmation.

A job is a row of ``ImportJob``, run by the shared mechanism of ``ancrage.core.jobs`` (a thread
started after the commit, or ``ancrage worker-diagnostic``; a conditional UPDATE claims each step;
``ANCRAGE_JOBS_SYNC`` runs it inline in the tests). Its two steps: analyse, then apply.

Nothing is written before the user confirms, and the apply step is one transaction: a bad file
leaves no row behind. The job is marked "importé" inside that same transaction, so a worker killed
at any point leaves either nothing and a job still "en cours", or the data and a finished job.

Crash recovery: the heartbeat is also refreshed by progress reports. A stale job (its worker
died) goes back to the step it was in through ``job_retry`` (the "Relancer" button) or
``recover_stale`` (the worker command). A worker that was only slow and finds, inside its
transaction, that its attempt was superseded, writes nothing.
"""

import contextlib
import hashlib
import logging
import tempfile
import traceback
from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.core import uploads
from ancrage.core.importing import ImportRejected
from ancrage.core.jobs import (  # noqa: F401 - TooManyImports: what job_submit raises, for pages
    CpuBudget,
    CpuTimeExceeded,
    Queue,
    Step,
    TooManyImports,
    cpu_error,
    import_budget,
)
from ancrage.core.wording import nombre
from ancrage.diagnostic import priorites as pure_priorites
from ancrage.diagnostic import services as diagnostic_services
from ancrage.diagnostic.cibles import category_label
from ancrage.diagnostic.models import ImportJob, ImportJobPart
from ancrage.frequentation import readers
from ancrage.frequentation import services as frequentation_services
from ancrage.territoire import geo, insee
from ancrage.territoire import services as territoire_services

logger = logging.getLogger(__name__)
State = ImportJob.State
Kind = ImportJob.Kind

MAX_ERREURS = 200
APERCU_LIGNES = 10
ACCEPTED_KINDS = {
    Kind.POPULATION: {"csv", "xls", "xlsx"},
    Kind.PRIORITES: {"csv"},
    # GeoJSON, a shapefile's files in a .zip, a GeoPackage; a lone .shp or IGN's .7z is refused
    # by the reader with what to do.
    Kind.CONTOURS: {"json", "zip", "gpkg", "shp", "7z"},
    Kind.QUARTIERS: {"csv"},
}
ACCEPTED_FORMATS = {"ancrage": {"csv"}, "agrege": {"csv"}, "coop": {"xlsx"}}
TABLE_LABELS = {
    "age_fin": "âge (tranches fines)",
    "age_large": "âge (grandes tranches)",
    "sexe": "sexe",
    "csp": "CSP",
    "activite": "activité",
    "diplome": "diplôme",
}
FORMATS = {"ancrage": "Fichier des usagers", "coop": "Export de La Coop", "agrege": "Comptages agrégés"}


# --- Submitting and confirming (called by pages, inside a request) -------------------------------


#: The job's file is kept, and copied to disk, by slices of this size (see ``ImportJobPart``).
FILE_SLICE = 8 << 20


@transaction.atomic
def job_submit(*, acting_user, structure, kind: str, fichier: str, contenu, options=None) -> ImportJob:
    """Keep the file and queue its analysis. ``contenu``: the file's bytes, or an uploaded file
    (a Django ``File``), read by slices and never whole. Raises ``TooManyImports`` when the EPN
    already has ``ANCRAGE_IMPORT_MAX_ACTIVE`` imports waiting or running."""
    QUEUE.check_room(structure)
    job = ImportJob.objects.create(
        structure=structure,
        kind=kind,
        fichier=fichier[:255],
        sha256="",
        options=options or {},
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    job.sha256 = _keep_file(job, contenu)
    job.save(update_fields=["sha256"])
    QUEUE.schedule(job.pk)
    return job


def _keep_file(job: ImportJob, contenu) -> str:
    """Keep ``contenu`` (bytes, or a Django ``File``) as the file of ``job``, by slices of at most
    ``FILE_SLICE``; returns its SHA-256."""
    if isinstance(contenu, bytes | bytearray | memoryview):
        view = memoryview(contenu)
        slices = (bytes(view[start : start + FILE_SLICE]) for start in range(0, len(view), FILE_SLICE))
    else:
        contenu.seek(0)
        slices = contenu.chunks(FILE_SLICE)
    digest = hashlib.sha256()
    for rang, data in enumerate(slices):  # one slice in memory at a time
        digest.update(data)
        ImportJobPart.objects.create(job=job, rang=rang, donnees=data)
    return digest.hexdigest()


def _forget_file(jobs) -> None:
    """Delete the files of ``jobs`` (a queryset of ImportJob): personal data kept no longer."""
    ImportJobPart.objects.filter(job__in=jobs.values("pk")).delete()


@transaction.atomic
def job_confirm(*, acting_user, job: ImportJob) -> bool:
    """Queue the import of an analysed job; raises ``TooManyImports`` like ``job_submit``."""
    if job.state == State.PRET:
        QUEUE.check_room(job.structure, exclude_pk=job.pk)
    updated = ImportJob.objects.filter(pk=job.pk, state=State.PRET).update(state=State.IMPORT_DEMANDE)
    if updated:
        QUEUE.schedule(job.pk)
    return bool(updated)


@transaction.atomic
def job_cancel(*, acting_user, job: ImportJob) -> bool:
    cancelled = ImportJob.objects.filter(pk=job.pk, state__in=[State.PRET, State.REFUSE]).update(
        state=State.ANNULE
    )
    if cancelled:
        _forget_file(ImportJob.objects.filter(pk=job.pk))
    return bool(cancelled)


def is_stale(job: ImportJob) -> bool:
    return QUEUE.is_stale(job)


@transaction.atomic
def job_retry(*, acting_user, job: ImportJob) -> bool:
    """ "Relancer": run again a job whose worker died (stale). False when the job is not stale."""
    if not QUEUE.requeue_stale(job.pk):
        return False
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=job,
        structure=job.structure,
        changes={"relance": job.get_state_display(), "tentative": job.attempt},
    )
    QUEUE.schedule(job.pk)
    return True


def recover_stale() -> int:
    """Requeue every stale job (the worker command calls it before each pass)."""
    return QUEUE.recover_stale()


def run(job_id: int) -> None:
    QUEUE.run(job_id)


def run_pending() -> int:
    """Run every job waiting for a step (the worker command). Returns how many were run."""
    return QUEUE.run_pending()


def deposits_purge(*, before) -> int:
    """Empty the files (and previews) of jobs left before ``before``: personal data kept no longer.

    A file analysed but never confirmed is cancelled; a finished or refused job keeps its messages
    but loses its preview (the first lines of the file). Returns how many jobs were emptied.
    """
    waiting = ImportJob.objects.filter(created_at__lt=before, state=State.PRET)
    waiting_ids = list(waiting.values_list("pk", flat=True))
    emptied = waiting.update(state=State.ANNULE, apercu={}, updated_at=timezone.now())
    done = (
        ImportJob.objects.filter(created_at__lt=before, state__in=[State.TERMINE, State.REFUSE, State.ANNULE])
        .exclude(pk__in=waiting_ids)
        .filter(~Q(apercu={}) | Q(parts__isnull=False))
        .distinct()
    )
    done_ids = list(done.values_list("pk", flat=True))
    _forget_file(ImportJob.objects.filter(pk__in=waiting_ids + done_ids))
    return emptied + ImportJob.objects.filter(pk__in=done_ids).update(apercu={})


# --- Running ---------------------------------------------------------------------------------------


def _progress(job_id: int, budget: CpuBudget):
    last = [-1]

    def report(done: int, total: int) -> None:
        budget.check()  # a chunk boundary: past its CPU time, the step stops here
        # Outside any transaction: the page polling the job sees it move (and the heartbeat).
        if total and (done == total or done - last[0] >= max(1, total // 50)):
            last[0] = done
            ImportJob.objects.filter(pk=job_id).update(
                progress_done=done, progress_total=total, updated_at=timezone.now()
            )

    return report


def _fail(job: ImportJob, messages: list[str], total: int | None = None) -> None:
    erreurs = messages[:MAX_ERREURS]
    if (total or len(messages)) > MAX_ERREURS:
        erreurs.append(f"… et {(total or len(messages)) - MAX_ERREURS} autres erreurs.")
    # Only while this attempt owns the job: a requeued job is another worker's now.
    if QUEUE.mine(job).update(state=State.REFUSE, erreurs=erreurs, updated_at=timezone.now()):
        _forget_file(ImportJob.objects.filter(pk=job.pk))


def _log_bug(job: ImportJob, step: str, exc: Exception) -> None:
    """Log an unexpected error with its traceback, but without its message: the message of an
    error raised while reading a file may quote a cell, that is, an usager's data."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(
        "Import job %s: unexpected %s while %s (message withheld: it may quote the file)\n%s",
        job.pk,
        type(exc).__name__,
        step,
        frames,
    )


def _errors_of(job: ImportJob, exc: Exception) -> list[str]:
    if isinstance(exc, ImportRejected):
        return [str(issue) for issue in exc.issues]
    if isinstance(exc, ValidationError):
        return [f"Fichier « {job.fichier} » : {m}" for m in exc.messages]
    return [f"Fichier « {job.fichier} » : {exc}"]


@contextlib.contextmanager
def _job_file(job: ImportJob):
    """The job's file as a temporary file on disk, and its SHA-256, copied slice by slice: the
    worker never holds a whole file (561 MiB for a national usagers file). The
    temporary file is deleted when the step ends, whatever happens."""
    digest = hashlib.sha256()
    parts = ImportJobPart.objects.filter(job=job).order_by("rang")
    with tempfile.NamedTemporaryFile(prefix="ancrage-import-") as f:
        for pk in list(parts.values_list("pk", flat=True)):
            data = bytes(ImportJobPart.objects.filter(pk=pk).values_list("donnees", flat=True).get())
            digest.update(data)
            f.write(data)
        f.flush()
        yield Path(f.name), digest.hexdigest()


def _parse(job: ImportJob, path: Path, budget: CpuBudget):
    """Read the job's file with the pure readers; returns what the apply step stores. The CPU
    budget is checked at each chunk the readers report, and once the file is read."""
    parsed = _read(job, path, budget)
    budget.check()
    return parsed


def _read(job: ImportJob, path: Path, budget: CpuBudget):
    structure = job.structure
    fmt = job.options.get("format", "ancrage")
    accept = ACCEPTED_KINDS[job.kind] if job.kind != Kind.FREQUENTATION else ACCEPTED_FORMATS[fmt]
    streamed = job.kind == Kind.FREQUENTATION and fmt == "ancrage"
    size = path.stat().st_size
    if streamed:
        with open(path, "rb") as f:
            contenu = f.read(readers.HEAD_BYTES)  # a CSV: its kind is read from its head
    else:
        contenu = path.read_bytes()
    # Size, real content type, zip bombs and XML entities are checked before any parser opens the file.
    uploads.check_file(contenu, filename=job.fichier, accept=accept, size=size)
    if job.kind == Kind.POPULATION:
        return insee.read_insee(contenu, job.fichier, tick=budget.check)
    if job.kind == Kind.FREQUENTATION:
        known = territoire_services.known_sector_codes(structure)
        if not known:
            raise ValidationError(
                "Importez d'abord la population du territoire : les secteurs des usagers y sont vérifiés."
            )
        options = {"secteurs_connus": known}
        if fmt in ("ancrage", "coop"):
            options["progress"] = _progress(job.pk, budget)
        if streamed:
            # Streamed: validated by chunks when previewed or stored, never held whole.
            return readers.scan_usagers(path, job.fichier, **options)
        return readers.read_frequentation(contenu, job.fichier, format=fmt, **options)
    if job.kind == Kind.PRIORITES:
        return pure_priorites.read_priorites(contenu, job.fichier)
    if job.kind == Kind.CONTOURS:
        known = territoire_services.known_sector_codes(structure)
        return geo.read_contours(contenu, job.fichier, codes_connus=known, tick=budget.check)
    if job.kind == Kind.QUARTIERS:
        mapping = insee.read_quartiers(contenu, job.fichier)
        known = territoire_services.known_sector_codes(structure)
        unknown = sorted(c for c in mapping if c not in known)
        if unknown:
            raise ValidationError(
                "Code(s) IRIS inconnu(s) : " + ", ".join(unknown[:20]) + ". Importez d'abord leur population."
            )
        return mapping
    raise ValueError(f"Unknown job kind {job.kind}")


def _analyse(job: ImportJob) -> None:
    budget = import_budget()
    try:
        with _job_file(job) as (path, _):
            parsed = _parse(job, path, budget)
            apercu = _apercu(job, parsed)
            budget.check()
    except CpuTimeExceeded as exc:
        _fail(job, [cpu_error(job.fichier, exc)])
        return
    except (ImportRejected, ValidationError, diagnostic_services.DiagnosticImpossible) as exc:
        _fail(job, _errors_of(job, exc))
        return
    except Exception as exc:  # a reader bug must not leave the user with a spinning page or a 500
        _log_bug(job, "reading", exc)
        _fail(job, [f"Fichier « {job.fichier} » : le fichier n'a pas pu être lu (format inattendu)."])
        return
    QUEUE.mine(job).update(state=State.PRET, apercu=apercu, erreurs=[], updated_at=timezone.now())


def _apply(job: ImportJob) -> None:
    with _job_file(job) as (path, sha256):
        if sha256 != job.sha256:
            _fail(
                job,
                [f"Fichier « {job.fichier} » : le fichier a changé depuis l'aperçu ; déposez-le à nouveau."],
            )
            return
        _apply_file(job, path)


def _apply_file(job: ImportJob, path: Path) -> None:
    user = job.created_by
    structure = job.structure
    budget = import_budget()
    try:
        parsed = _parse(job, path, budget)
        with transaction.atomic():
            # The job's row is locked for the whole transaction: a "Relancer" meanwhile sees a live
            # job. If this attempt was requeued (a timeout while parsing), another worker owns it.
            if not QUEUE.owns(job):
                logger.warning("Import job %s: attempt %s superseded, nothing written", job.pk, job.attempt)
                return
            resultat = _store(job, parsed, user, structure)
            audit_record(
                acting_user=user,
                action=AuditAction.IMPORT,
                obj=job,
                structure=structure,
                changes={"fichier": job.fichier, "sha256": job.sha256, "nature": job.kind},
            )
            # Finished in the same transaction as the data: no window where the data exists and
            # the job still looks unfinished (a retry would import it twice).
            QUEUE.mine(job).update(
                state=State.TERMINE,
                resultat_id=getattr(resultat, "pk", None),
                updated_at=timezone.now(),
            )
            _forget_file(ImportJob.objects.filter(pk=job.pk))
    except CpuTimeExceeded as exc:  # raised inside the transaction: nothing was written
        _fail(job, [cpu_error(job.fichier, exc)])
        return
    except (ImportRejected, ValidationError, diagnostic_services.DiagnosticImpossible) as exc:
        _fail(job, _errors_of(job, exc))
        return
    except Exception as exc:
        _log_bug(job, "importing", exc)
        _fail(job, [f"Fichier « {job.fichier} » : l'import a échoué ; rien n'a été enregistré."])
        return


ANALYSE = Step(State.ANALYSE_DEMANDEE, State.ANALYSE, _analyse)
APPLY = Step(State.IMPORT_DEMANDE, State.IMPORT, _apply)
QUEUE = Queue(ImportJob, [ANALYSE, APPLY], name="import", capped=True)


def _store(job, parsed, user, structure):
    if job.kind == Kind.POPULATION:
        return territoire_services.population_import(
            acting_user=user, structure=structure, population=parsed, fichier=job.fichier, sha256=job.sha256
        )
    if job.kind == Kind.FREQUENTATION:
        return frequentation_services.frequentation_import(
            acting_user=user, structure=structure, frequentation=parsed, sha256=job.sha256
        )
    if job.kind == Kind.PRIORITES:
        diagnostic_services.priorites_replace(
            acting_user=user, structure=structure, priorites=parsed, origine="import"
        )
        return None
    if job.kind == Kind.CONTOURS:
        territoire_services.contours_import(
            acting_user=user, structure=structure, contours=parsed, fichier=job.fichier, noms=parsed.noms
        )
        return None
    if job.kind == Kind.QUARTIERS:
        territoire_services.quartiers_import(acting_user=user, structure=structure, mapping=parsed)
        return None
    raise ValueError(job.kind)


def _apercu_usagers(stream: readers.UsagersStream) -> dict:
    """The preview of an usagers file, from one pass over its chunks (raises its errors)."""
    secteurs: set[str] = set()
    premiers: list[readers.Usager] = []
    for chunk in stream.chunks():
        secteurs.update(iris or commune for iris, commune in chunk.secteur.values)
        if len(premiers) < APERCU_LIGNES:
            premiers += readers.UsagerColumns([chunk])[: APERCU_LIGNES - len(premiers)]
    return {
        "resume": [
            ("Format", FORMATS.get(stream.source, stream.source)),
            ("Unité", stream.unite),
            ("Niveau des secteurs", stream.niveau or "—"),
            ("Enregistrements", _fmt(stream.records)),
            ("Secteurs distincts", str(len(secteurs))),
        ],
        "colonnes": ["Ligne", "Âge", "Sexe", "CSP", "Situation", "IRIS", "Commune"],
        "lignes": [_apercu_ligne(r) for r in premiers],
        "non_places": _non_places_apercu(stream.non_places),
    }


def _apercu_ligne(r) -> list[str]:
    return [
        str(r.ligne),
        str(r.annee_naissance or (readers.band_label(r.tranche_age) if r.tranche_age else "")),
        r.sexe or "",
        r.csp or "",
        category_label("activite", r.situation) if r.situation else "",
        r.code_iris or "",
        r.code_commune or "",
    ]


# --- Previews --------------------------------------------------------------------------------------


def _fmt(x) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:,.0f}".replace(",", "\u202f")


def _communes_text(communes: dict[str, str], limit: int = 12) -> str:
    names = [f"{nom} ({code})" for code, nom in communes.items()]
    return ", ".join(names[:limit]) + (f" … et {len(names) - limit} autres" if len(names) > limit else "")


def _apercu_population(job: ImportJob, pop: insee.Population) -> dict:
    """The preview of a population base: what is read, which communes lie outside the
    collectivité (ignored), which base it replaces and what that changes, the blank cells."""
    read_total = float(np.nansum(pop.total))
    plan = territoire_services.population_plan(job.structure, pop)
    kept = plan.population
    total = float(np.nansum(kept.total))
    resume = [
        ("Millésime", str(kept.millesime or "inconnu")),
        ("IRIS du fichier", str(len(pop))),
        ("IRIS retenus (dans la collectivité)", str(len(kept))),
        ("Tableaux lus", ", ".join(TABLE_LABELS.get(k, k) for k in kept.repartitions)),
        ("Population totale retenue", _fmt(total) if total else "non fournie par ce fichier"),
    ]
    ignorees = [
        [code, nom, str(n), _fmt(t) if np.isfinite(t) else "inconnue"]
        for code, (nom, n, t) in plan.ignorees.items()
    ]
    changes = plan.changements()
    changements = []
    if plan.remplacees:
        changements.append(
            "La base actuelle sera remplacée : "
            + "; ".join(
                f"« {p.fichier} » ({p.millesime or 'millésime inconnu'}, {p.nb_secteurs} IRIS)"
                for p in plan.remplacees
            )
            + ". Elle reste disponible dans les bases retirées et peut être rétablie."
        )
    elif plan.avant is None:
        changements.append("C’est la première base de population du lieu.")
    else:
        changements.append("Cette base s’ajoute aux bases actuelles (elle porte d’autres tableaux).")
    if changes["communes_ajoutees"]:
        changements.append(
            f"{nombre(len(changes['communes_ajoutees']), 'commune ajoutée', 'communes ajoutées')} : "
            + _communes_text(changes["communes_ajoutees"])
        )
    if changes["communes_retirees"]:
        changements.append(
            f"{nombre(len(changes['communes_retirees']), 'commune retirée', 'communes retirées')} "
            "du territoire : "
            + _communes_text(changes["communes_retirees"])
            + ". Leurs usagers seront comptés « hors territoire »."
        )
    if plan.avant is not None:
        delta = changes["population_apres"] - changes["population_avant"]
        changements.append(
            f"IRIS : {changes['iris_ajoutes']} ajouté(s), {changes['iris_retires']} retiré(s) ; population "
            f"{_fmt(changes['population_avant'])} → {_fmt(changes['population_apres'])} "
            f"({'+' if delta >= 0 else '−'}{_fmt(abs(delta))})."
        )
    manquantes = [
        f"{TABLE_LABELS.get(key, 'population totale')} : {len(codes)} IRIS ("
        + ", ".join(codes[:8])
        + (" …" if len(codes) > 8 else "")
        + ")"
        for key, codes in kept.manquantes.items()
    ]
    return {
        "resume": resume,
        "colonnes": ["Code IRIS", "Nom", "Population"],
        "lignes": [
            [code, nom, _fmt(float(kept.total[i]))]
            for i, (code, nom) in enumerate(zip(kept.codes[:APERCU_LIGNES], kept.noms, strict=False))
        ],
        "ignorees": ignorees,
        "ignorees_total": _fmt(read_total - total),
        "changements": changements,
        "manquantes": manquantes,
    }


def _non_places_apercu(non_places: dict) -> list[str]:
    """The records the territory does not place, by reason: kept, and counted apart."""
    return [f"{_fmt(n)} : {readers.NON_PLACES.get(reason, reason)}" for reason, n in non_places.items() if n]


def _apercu(job: ImportJob, parsed) -> dict:
    if job.kind == Kind.POPULATION:
        return _apercu_population(job, parsed)
    if job.kind == Kind.FREQUENTATION and isinstance(parsed, readers.UsagersStream):
        return _apercu_usagers(parsed)
    if job.kind == Kind.FREQUENTATION:
        freq: readers.Frequentation = parsed
        resume = [
            ("Format", FORMATS.get(freq.source, freq.source)),
            ("Unité", freq.unite),
            ("Niveau des secteurs", freq.niveau or "—"),
        ]
        if freq.individus:
            secteurs = {r.code_iris or r.code_commune for r in freq.individus}
            resume += [
                ("Enregistrements", _fmt(len(freq.individus))),
                ("Secteurs distincts", str(len(secteurs))),
            ]
            colonnes = ["Ligne", "Âge", "Sexe", "CSP", "Situation", "IRIS", "Commune"]
            lignes = [_apercu_ligne(r) for r in freq.individus[:APERCU_LIGNES]]
        else:
            resume += [("Lignes de comptage", str(len(freq.agregats))), ("Usagers (total)", _fmt(len(freq)))]
            colonnes = ["Ligne", "Secteur", "Dimension", "Catégorie", "Usagers"]
            lignes = [
                [str(a.ligne), a.code_secteur, a.dimension, a.categorie, str(a.usagers)]
                for a in freq.agregats[:APERCU_LIGNES]
            ]
        non_places = _non_places_apercu(freq.infos.get("non_places", {}))
        if freq.infos.get("secteurs_inconnus"):
            inconnus = freq.infos["secteurs_inconnus"]
            non_places.append(
                f"{len(inconnus)} secteur(s) absent(s) de la population importée : "
                + ", ".join(inconnus[:12])
                + (" …" if len(inconnus) > 12 else "")
            )
        return {"resume": resume, "colonnes": colonnes, "lignes": lignes, "non_places": non_places}
    if job.kind == Kind.PRIORITES:
        return {
            "resume": [("Priorités", str(len(parsed))), ("Remplacent", "les priorités actuelles du lieu")],
            "colonnes": ["Thème", "Poids", "Catégories", "Secteurs"],
            "lignes": [
                [
                    p.theme,
                    f"{p.poids:g}",
                    ", ".join(category_label(d, c) for d, c in p.categories) or "tout public",
                    ", ".join((["QPV"] if p.qpv else []) + list(p.secteurs)) or "tous",
                ]
                for p in parsed[:APERCU_LIGNES]
            ],
        }
    if job.kind == Kind.CONTOURS:
        resume = [("Contours", str(len(parsed))), ("Projection du fichier", parsed.projection)]
        if parsed.ignores:
            resume.append(("Contours hors du territoire, ignorés", str(parsed.ignores)))
        resume.append(("Points (lus → simplifiés)", f"{parsed.points_lus} → {parsed.points}"))
        return {
            "resume": resume,
            "colonnes": ["Code", "Nom dans le fichier", "Géométrie"],
            "lignes": [
                [code, parsed.noms.get(code, ""), "polygone" if g["type"] == "Polygon" else "multipolygone"]
                for code, g in list(parsed.items())[:APERCU_LIGNES]
            ],
        }
    groups: dict[str, list[str]] = {}
    for code, nom in parsed.items():
        groups.setdefault(nom, []).append(code)
    return {
        "resume": [("Quartiers", str(len(groups))), ("Remplacent", "les quartiers actuels du lieu")],
        "colonnes": ["Quartier", "IRIS"],
        "lignes": [[nom, ", ".join(codes)] for nom, codes in list(groups.items())[:APERCU_LIGNES]],
    }
