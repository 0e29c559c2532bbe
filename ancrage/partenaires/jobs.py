"""Directory imports in the background: analyse a file (dry run), show it, apply it on confirmation.

A job is a row of ``ImportAnnuaire``, run by the shared mechanism of ``ancrage.core.jobs`` (a
thread started after the commit, or ``ancrage worker-partenaires``; a conditional UPDATE claims
each step; ``ANCRAGE_JOBS_SYNC`` runs it inline in the tests). Its two steps: analyse, then apply.

Nothing is written before the user confirms, and the apply step is one transaction that ends by
checking, row locked, that this attempt still owns the job, and marks it "importé": a worker
killed at any point leaves either nothing and a job still "en cours", or the entries and a
finished job. A restart loses nothing: the file is in the row; a job whose heartbeat stopped
(``ANCRAGE_JOBS_TIMEOUT``) is requeued by ``ancrage worker-partenaires`` or by "Relancer".

Bounds, as every import (``ancrage.core.jobs``): the file is checked before it is read
(``ancrage.core.uploads.check_file``), each step stops past ``ANCRAGE_IMPORT_CPU_SECONDS`` of CPU
time (checked at each place matched or written: the apply step's transaction is rolled back), and
an EPN has at most ``ANCRAGE_IMPORT_MAX_ACTIVE`` imports waiting or running.

Progress: the analysis reports outside any transaction. The apply step runs inside its
transaction, so it reports through a second database connection (PostgreSQL), which also keeps
the heartbeat alive; the job's row is only locked at the very end.
"""

from __future__ import annotations

import logging
import traceback

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, connections
from django.utils import timezone

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.core import uploads
from ancrage.core.importing import ImportRejected
from ancrage.core.jobs import CpuBudget, CpuTimeExceeded, Queue, Step, cpu_error, import_budget
from ancrage.partenaires import services
from ancrage.partenaires.models import ImportAnnuaire

logger = logging.getLogger(__name__)
State = ImportAnnuaire.State
MAX_ERREURS = 200
#: What a directory file may be: the standard's CSV, the Cartographie's or data·inclusion's JSON.
ACCEPTED = {"csv", "json"}


class _SideProgress:
    """Progress and heartbeat written on a connection of its own, outside the step's transaction."""

    def __init__(self, job_id: int, budget: CpuBudget):
        self.job_id = job_id
        self.budget = budget
        self.last = -1
        self.side = None
        if connection.vendor == "postgresql":
            try:
                self.side = connections.create_connection("default")
            except DatabaseError:  # pragma: no cover - no second connection: no live progress
                self.side = None

    def __call__(self, done: int, total: int) -> None:
        self.budget.check()  # a place matched or written: past its CPU time, the step stops here
        if not total or not (done == total or done - self.last >= max(1, total // 50)):
            return
        self.last = done
        if self.side is None:
            if not connection.in_atomic_block:
                ImportAnnuaire.objects.filter(pk=self.job_id).update(
                    progress_done=done, progress_total=total, updated_at=timezone.now()
                )
            return
        try:
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportAnnuaire._meta.db_table} SET progress_done = %s, progress_total = %s, "
                    "updated_at = %s WHERE id = %s",
                    [done, total, timezone.now(), self.job_id],
                )
        except DatabaseError:  # progress is a courtesy: never fail an import for it
            logger.warning("Directory import %s: progress not written", self.job_id)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def _fail(job: ImportAnnuaire, messages: list[str]) -> None:
    erreurs = messages[:MAX_ERREURS]
    if len(messages) > MAX_ERREURS:
        erreurs.append(f"… et {len(messages) - MAX_ERREURS} autres erreurs.")
    QUEUE.mine(job).update(state=State.REFUSE, erreurs=erreurs, contenu=b"", updated_at=timezone.now())


def _log_bug(job: ImportAnnuaire, step: str, exc: Exception) -> None:
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("Directory import %s: unexpected %s while %s\n%s", job.pk, type(exc).__name__, step, frames)


def _analyse(job: ImportAnnuaire) -> None:
    budget = import_budget()
    progress = _SideProgress(job.pk, budget)
    try:
        # Also checked by the upload page; a file submitted otherwise is checked here all the same.
        uploads.check_file(bytes(job.contenu), filename=job.nom_fichier, accept=ACCEPTED)
        resultat = services.annuaire_import_analyse(batch=job, progress=progress)
        budget.check()
    except CpuTimeExceeded as exc:
        _fail(job, [cpu_error(job.nom_fichier, exc)])
        return
    except ImportRejected as exc:
        _fail(job, [str(issue) for issue in exc.issues])
        return
    except Exception as exc:  # a reader bug must not leave the user with a spinning page
        _log_bug(job, "analysing", exc)
        _fail(job, [f"Fichier « {job.nom_fichier} » : le fichier n’a pas pu être lu (format inattendu)."])
        return
    finally:
        progress.close()
    QUEUE.mine(job).update(state=State.PRET, resultat=resultat, erreurs=[], updated_at=timezone.now())


def _apply(job: ImportAnnuaire) -> None:
    budget = import_budget()
    progress = _SideProgress(job.pk, budget)
    try:
        services.annuaire_import_apply(
            acting_user=job.created_by,
            batch=job,
            progress=progress,
            tick=budget.check,
            owns=lambda: QUEUE.owns(job),
        )
    except CpuTimeExceeded as exc:  # raised inside the transaction: nothing was written
        _fail(job, [cpu_error(job.nom_fichier, exc)])
    except services.Superseded:
        logger.warning("Directory import %s: attempt %s superseded, nothing written", job.pk, job.attempt)
    except (ImportRejected, ValidationError) as exc:
        issues = exc.issues if isinstance(exc, ImportRejected) else exc.messages
        _fail(job, [str(issue) for issue in issues])
    except Exception as exc:
        _log_bug(job, "importing", exc)
        _fail(job, [f"Fichier « {job.nom_fichier} » : l’import a échoué ; rien n’a été enregistré."])
    finally:
        progress.close()


ANALYSE = Step(State.ANALYSE_DEMANDEE, State.ANALYSE, _analyse)
APPLY = Step(State.IMPORT_DEMANDE, State.IMPORT, _apply)
QUEUE = Queue(ImportAnnuaire, [ANALYSE, APPLY], name="annuaire", capped=True)


def is_stale(job: ImportAnnuaire) -> bool:
    return QUEUE.is_stale(job)


def job_retry(*, acting_user, job: ImportAnnuaire) -> bool:
    """ "Relancer": run again a job whose worker died (stale). False when the job is not stale.
    Only the EPN's staff may, as confirming or cancelling (``PermissionDenied`` otherwise)."""
    services._check_writable(acting_user, job.structure)
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
