"""``ancrage conventions_worker``: run the document generations waiting in the job table.

Pages start each generation in a thread; this command picks up what a restart interrupted
(generations stuck "en cours" past ``ANCRAGE_JOBS_TIMEOUT`` are requeued first, the files of their
dead attempt removed), or does all the work on servers that forbid threads in the web process.
"""

import time

from django.core.management.base import BaseCommand

from ancrage.conventions import jobs


class Command(BaseCommand):
    help = "Génère les versions de conventions en attente (DOCX, PDF, conversion LibreOffice)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="traiter la file une fois puis s'arrêter")
        parser.add_argument("--interval", type=float, default=2.0, help="secondes entre deux passages")

    def handle(self, *args, once=False, interval=2.0, **options):
        while True:
            recovered = jobs.recover_stale()
            if recovered:
                self.stdout.write(f"{recovered} génération(s) interrompue(s) relancée(s).")
            done = jobs.run_pending()
            if done:
                self.stdout.write(f"{done} génération(s) traitée(s).")
            if once:
                return
            time.sleep(interval)
