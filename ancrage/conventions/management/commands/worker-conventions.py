"""``ancrage worker-conventions``: run the document generations waiting in the job table.

Pages start each generation in a thread; this command picks up what a restart interrupted
(generations stuck "en cours" past ``ANCRAGE_JOBS_TIMEOUT`` are requeued first, the files of their
dead attempt removed), or does all the work on servers that forbid threads in the web process.
"""

from ancrage.conventions import jobs
from ancrage.core.jobs import WorkerCommand


class Command(WorkerCommand):
    help = "Génère les versions de conventions en attente (DOCX, PDF, conversion LibreOffice)."
    jobs = jobs
    recovered_message = ("{n} génération interrompue relancée.", "{n} générations interrompues relancées.")
    done_message = ("{n} génération traitée.", "{n} générations traitées.")
