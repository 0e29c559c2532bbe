"""``ancrage diagnostic_worker``: run the imports waiting in the job table.

Pages start each import in a thread; this command picks up what a restart interrupted (jobs stuck
"en cours" past ``ANCRAGE_JOBS_TIMEOUT`` are requeued first), or does all
the work on servers that run with ``ANCRAGE_JOBS_SYNC`` off and threads disallowed.
"""

import time

from django.core.management.base import BaseCommand

from ancrage.diagnostic import jobs


class Command(BaseCommand):
    help = "Exécute les imports en attente (analyse et import des fichiers du diagnostic)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="traiter la file une fois puis s'arrêter")
        parser.add_argument("--interval", type=float, default=2.0, help="secondes entre deux passages")

    def handle(self, *args, once=False, interval=2.0, **options):
        while True:
            recovered = jobs.recover_stale()
            if recovered:
                self.stdout.write(f"{recovered} import(s) interrompu(s) relancé(s).")
            done = jobs.run_pending()
            if done:
                self.stdout.write(f"{done} import(s) traité(s).")
            if once:
                return
            time.sleep(interval)
