"""``ancrage worker-partenaires``: run the directory imports waiting in the job table.

Pages start each import in a thread; this command picks up what a restart interrupted (imports
stuck "en cours" past ``ANCRAGE_JOBS_TIMEOUT`` are requeued first), or does all the work on
servers that forbid threads in the web process.
"""

from ancrage.core.jobs import WorkerCommand
from ancrage.partenaires import jobs


class Command(WorkerCommand):
    help = "Exécute les imports d’annuaire en attente (analyse et import des fichiers de partenaires)."
    jobs = jobs
    recovered_message = (
        "{n} import d’annuaire interrompu relancé.",
        "{n} imports d’annuaire interrompus relancés.",
    )
    done_message = ("{n} import d’annuaire traité.", "{n} imports d’annuaire traités.")
