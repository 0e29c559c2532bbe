"""Background jobs: the one mechanism behind file imports and document generations.

A job is a row with a ``state``, an ``attempt`` counter and an ``updated_at`` heartbeat. Pages
create it and return at once; the work runs in a thread started after the commit, or in a worker
command (``ancrage worker-diagnostic``, ``ancrage worker-conventions``, both a ``WorkerCommand``)
that also picks up jobs whose thread died with the server. With ``ANCRAGE_JOBS_SYNC`` (the test
settings), the work runs inline.

A job goes through steps: a step waits in one state, runs in another. Each claim is a conditional
UPDATE (waiting → running) that bumps ``attempt`` and the heartbeat, so a step never runs twice at
once. A job in a running state whose heartbeat is older than ``ANCRAGE_JOBS_TIMEOUT`` seconds is
*stale*: its worker died. ``requeue_stale`` puts it back in its waiting state, never while a worker
holds its row lock (that worker is alive, inside its transaction). A step writes its result in one
transaction that first locks the job's row with ``mine(job)``: an attempt that was requeued
meanwhile (a worker that was only slow) finds nothing to lock and writes nothing.

Imports are bounded (the queues built with ``capped=True``: the diagnostic's and the directory's):
each step has a CPU budget (``import_budget``, ``ANCRAGE_IMPORT_CPU_SECONDS``), and an EPN has at
most ``ANCRAGE_IMPORT_MAX_ACTIVE`` imports waiting or running, all capped queues together
(``Queue.check_room``, which raises ``TooManyImports``).
"""

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

from ancrage.core import heartbeat
from ancrage.core.wording import nombre, pluriel


class CpuTimeExceeded(Exception):
    """A job's step used more CPU time than its budget allows."""

    def __init__(self, limit: float):
        self.limit = limit
        super().__init__(f"limite de {limit:g} s de calcul dépassée")


class CpuBudget:
    """The CPU time of the calling thread since the budget was opened, checked at chunk boundaries.

    Jobs run in threads of the web process (or in a worker command), where ``setrlimit`` would
    limit the whole process: the budget reads ``time.thread_time()`` instead, and ``check`` raises
    ``CpuTimeExceeded`` once the thread has used more than ``seconds`` (0: no limit). A step calls
    it between chunks of its work, so it stops at the first boundary past the limit.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start = time.thread_time()

    def used(self) -> float:
        return time.thread_time() - self.start

    def check(self) -> None:
        if self.seconds and self.used() > self.seconds:
            raise CpuTimeExceeded(self.seconds)


def import_budget() -> CpuBudget:
    """The CPU time one step of an import may use (``ANCRAGE_IMPORT_CPU_SECONDS``, 0: no limit)."""
    return CpuBudget(settings.ANCRAGE_IMPORT_CPU_SECONDS)


def cpu_error(fichier: str, exc: CpuTimeExceeded) -> str:
    """The French message of an import step stopped by its CPU budget."""
    return (
        f"Fichier « {fichier} » : sa lecture a demandé plus de {exc.limit:g} secondes de calcul, "
        "la limite fixée par l’exploitant ; rien n’a été enregistré. Découpez le fichier, ou "
        "demandez à l’exploitant de relever la limite."
    )


class TooManyImports(Exception):
    """The EPN already has as many imports waiting or running as allowed."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(
            f"Cet EPN a déjà {nombre(limit, 'import')} en attente ou en cours : attendez que l’un d’eux se "
            "termine avant d’en lancer un autre."
        )


#: The queues of imports, whose active jobs ``ANCRAGE_IMPORT_MAX_ACTIVE`` bounds together.
CAPPED_QUEUES: list["Queue"] = []


@dataclass(frozen=True)
class Step:
    waiting: str
    running: str
    handler: Callable[[Model], None]


def stale_before() -> dt.datetime:
    """Jobs in a running state whose heartbeat is older than this have lost their worker."""
    return timezone.now() - dt.timedelta(seconds=getattr(settings, "ANCRAGE_JOBS_TIMEOUT", 1800))


class Queue:
    """The jobs of one model: scheduling, claiming, running, and recovering from dead workers."""

    def __init__(self, model: type[Model], steps: list[Step], *, name: str, capped: bool = False):
        self.model = model
        self.steps = steps
        self.name = name
        self.retry_state = {step.running: step.waiting for step in steps}
        #: The states of a job that waits for a worker or runs.
        self.active_states = [state for step in steps for state in (step.waiting, step.running)]
        if capped:  # a job of this model has a ``structure``: the EPN whose import it is
            CAPPED_QUEUES.append(self)

    # --- Bounds --------------------------------------------------------------------------------

    def check_room(self, structure, *, exclude_pk=None) -> None:
        """Refuse one more active import for ``structure`` past ``ANCRAGE_IMPORT_MAX_ACTIVE``,
        counting the active jobs of every capped queue (``exclude_pk``: a job of this queue about
        to become active again). The EPN's row is locked for the caller's transaction, so two
        submissions cannot both pass."""
        limit = settings.ANCRAGE_IMPORT_MAX_ACTIVE
        if not limit:
            return
        list(type(structure).objects.select_for_update().filter(pk=structure.pk).values_list("pk", flat=True))
        active = 0
        for queue in CAPPED_QUEUES:
            jobs = queue.model.objects.filter(structure=structure, state__in=queue.active_states)
            if queue is self and exclude_pk is not None:
                jobs = jobs.exclude(pk=exclude_pk)
            # A stale job lost its worker: it waits for "Relancer" and takes no CPU meanwhile.
            active += jobs.filter(updated_at__gte=stale_before()).count()
        if active >= limit:
            raise TooManyImports(limit)

    # --- Scheduling ----------------------------------------------------------------------------

    def schedule(self, job_id: int) -> None:
        """Run the job once the caller's transaction commits (inline under ``ANCRAGE_JOBS_SYNC``)."""
        if getattr(settings, "ANCRAGE_JOBS_SYNC", False):
            self.run(job_id)  # inline: the caller's transaction already sees the job
        else:
            # The thread has its own connection: it must only start once the job row is committed.
            transaction.on_commit(lambda: self.start(job_id))

    def start(self, job_id: int) -> None:
        threading.Thread(
            target=self._run_in_thread, args=(job_id,), name=f"{self.name}-{job_id}", daemon=True
        ).start()

    def _run_in_thread(self, job_id: int) -> None:
        close_old_connections()
        try:
            self.run(job_id)
        finally:
            connection.close()

    # --- Running -------------------------------------------------------------------------------

    def claim(self, job_id: int, step: Step) -> bool:
        return bool(
            self.model.objects.filter(pk=job_id, state=step.waiting).update(
                state=step.running, attempt=F("attempt") + 1, updated_at=timezone.now()
            )
        )

    def run(self, job_id: int) -> None:
        """Run whichever step the job waits for; a job another worker claimed is left alone."""
        for step in self.steps:
            if self.claim(job_id, step):
                step.handler(self.model.objects.get(pk=job_id))
                return

    def run_pending(self) -> int:
        """Run every job waiting for a step (the worker commands). Returns how many were run."""
        ids = list(
            self.model.objects.filter(state__in=[step.waiting for step in self.steps])
            .order_by("created_at")
            .values_list("pk", flat=True)
        )
        for job_id in ids:
            self.run(job_id)
        return len(ids)

    def mine(self, job: Model) -> QuerySet:
        """The job's row, only while this attempt still owns it (not requeued after a timeout)."""
        return self.model.objects.filter(pk=job.pk, state=job.state, attempt=job.attempt)

    def owns(self, job: Model) -> bool:
        """Lock the job's row for the caller's transaction; False when this attempt was superseded."""
        return bool(list(self.mine(job).select_for_update().values_list("pk", flat=True)))

    # --- Dead workers --------------------------------------------------------------------------

    def is_stale(self, job: Model) -> bool:
        return job.state in self.retry_state and job.updated_at < stale_before()

    def requeue_stale(self, job_id: int, *, cleanup: Callable[[Model], None] | None = None) -> bool:
        """Put one stale job back in the queue. Never touches a job whose worker holds its row.

        ``cleanup`` runs on the stale job inside the same transaction, with its row locked (e.g. to
        remove files its dead worker wrote before it could commit).
        """
        try:
            with transaction.atomic():
                job = (
                    self.model.objects.select_for_update(
                        nowait=connection.features.has_select_for_update_nowait
                    )
                    .filter(pk=job_id, state__in=list(self.retry_state), updated_at__lt=stale_before())
                    .first()
                )
                if job is None:
                    return False
                if cleanup is not None:
                    cleanup(job)
                self.model.objects.filter(pk=job.pk).update(
                    state=self.retry_state[job.state], updated_at=timezone.now()
                )
                return True
        except DatabaseError:
            # The row is locked: a worker is inside its transaction, so the job is alive.
            return False

    def abandon(
        self,
        job_id: int,
        *,
        state: str,
        values: dict | None = None,
        also: tuple[str, ...] = (),
        cleanup: Callable[[Model], None] | None = None,
    ) -> bool:
        """Cancel a job no worker runs (an operator's « Annuler »): one waiting for a step, a stale
        one, or one in a state of ``also``; it goes to ``state`` with ``values``. Never a job whose
        worker is alive: a running job with a fresh heartbeat, or whose row a worker holds. A dead
        attempt that wakes up afterwards no longer owns the job (``mine``) and writes nothing."""
        waiting = [step.waiting for step in self.steps] + list(also)
        try:
            with transaction.atomic():
                job = (
                    self.model.objects.select_for_update(
                        nowait=connection.features.has_select_for_update_nowait
                    )
                    .filter(pk=job_id)
                    .filter(
                        Q(state__in=waiting)
                        | Q(state__in=list(self.retry_state), updated_at__lt=stale_before())
                    )
                    .first()
                )
                if job is None:
                    return False
                if cleanup is not None:
                    cleanup(job)
                self.model.objects.filter(pk=job.pk).update(
                    state=state, updated_at=timezone.now(), **(values or {})
                )
                return True
        except DatabaseError:
            return False  # the row is locked: a worker is inside its transaction

    def recover_stale(self, *, cleanup: Callable[[Model], None] | None = None) -> int:
        """Requeue every stale job (the worker commands call it before each pass)."""
        ids = self.model.objects.filter(
            state__in=list(self.retry_state), updated_at__lt=stale_before()
        ).values_list("pk", flat=True)
        return sum(self.requeue_stale(job_id, cleanup=cleanup) for job_id in list(ids))


class WorkerCommand(BaseCommand):
    """The worker command of a queue: requeue its stale jobs, run what waits, and again.

    A subclass names the ``jobs`` module of its app (``recover_stale()`` and ``run_pending()``,
    each returning a count) and the two French lines it prints, with ``{n}`` for the count, each
    as (singular, plural): French takes the singular for 1 (and 0, never printed).
    ``--once`` makes one pass; otherwise a pass every ``--interval`` seconds until stopped.
    While it runs, the worker beats (``core.heartbeat``, named after its app: ``diagnostic``…),
    which ``/sante/`` reads.
    """

    jobs = None
    recovered_message = ("{n} tâche interrompue relancée.", "{n} tâches interrompues relancées.")
    done_message = ("{n} tâche traitée.", "{n} tâches traitées.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="traiter la file une fois puis s'arrêter")
        parser.add_argument("--interval", type=float, default=2.0, help="secondes entre deux passages")

    @property
    def worker_name(self) -> str:
        module = getattr(self.jobs, "__name__", "") or type(self).__module__
        parts = module.split(".")
        return parts[1] if parts[0] == "ancrage" and len(parts) > 2 else parts[-1]  # ancrage.<app>.jobs

    def handle(self, *args, once=False, interval=2.0, **options):
        stop = heartbeat.start(self.worker_name)
        try:
            while True:
                heartbeat.try_beat(self.worker_name)
                self.run_once()
                if once:
                    return
                time.sleep(interval)
        finally:
            stop.set()

    def run_once(self) -> None:
        recovered = self.jobs.recover_stale()
        if recovered:
            self.stdout.write(pluriel(recovered, *self.recovered_message).format(n=recovered))
        done = self.jobs.run_pending()
        if done:
            self.stdout.write(pluriel(done, *self.done_message).format(n=done))
