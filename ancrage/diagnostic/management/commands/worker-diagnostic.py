"""``ancrage worker-diagnostic``: run the imports waiting in the job table.

Pages start each import in a thread; this command picks up what a restart interrupted (jobs stuck
"en cours" past ``ANCRAGE_JOBS_TIMEOUT`` are requeued first), or does all
the work on servers that run with ``ANCRAGE_JOBS_SYNC`` off and threads disallowed.
"""

from ancrage.core.jobs import WorkerCommand
from ancrage.diagnostic import jobs


class Command(WorkerCommand):
    help = "Exécute les imports en attente (analyse et import des fichiers du diagnostic)."
    jobs = jobs
    recovered_message = ("{n} import interrompu relancé.", "{n} imports interrompus relancés.")
    done_message = ("{n} import traité.", "{n} imports traités.")
