import os
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tasks_db.management.commands.db_worker import Worker

from ancrage.accounts.validators import DEMO_PASSWORD
from ancrage.demo.loader import DEMO_ACCOUNTS, load_demo
from ancrage.exploitation import schedule


def start_tasks() -> BackgroundScheduler:
    """The task worker (``db_worker``) and the scheduler (``planificateur``), in threads of the
    demo's process: the notifications, reminders and alerts then go out as in production."""
    worker = Worker(
        queue_names=["*"],
        interval=1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="demo",
        excluded_queue_names=[],
    )
    threading.Thread(target=worker.run, name="ancrage-db-worker", daemon=True).start()
    scheduler = schedule.build(BackgroundScheduler)
    scheduler.start()
    return scheduler


class Command(BaseCommand):
    help = (
        "Crée la base, charge les données de démonstration (une seule fois) et sert Ancrage, avec le "
        "worker des tâches et le planificateur."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="Charger la démonstration sans servir.")
        parser.add_argument("--port", default=None)

    def handle(self, *args, no_serve, port, **options):
        if not settings.ANCRAGE_ALLOW_DEMO_ACCOUNTS:
            raise CommandError("La démonstration est désactivée par ces réglages (production).")
        if not no_serve and "ANCRAGE_SITE_URL" not in os.environ:
            # The links of the demo's e-mails lead to this server (none is started with --no-serve,
            # whose caller keeps its own settings).
            settings.ANCRAGE_SITE_URL = f"http://127.0.0.1:{port or os.environ.get('PORT', '8000')}"
        call_command("migrate", interactive=False, verbosity=0)
        created = load_demo()
        self.stdout.write(
            "Données de démonstration chargées."
            if created
            else "Données de démonstration déjà présentes : rien n'a été modifié."
        )
        self.stdout.write(f"\nComptes de démonstration (mot de passe : {DEMO_PASSWORD}) :")
        for email, label in DEMO_ACCOUNTS:
            self.stdout.write(f"  {email:<32} {label}")
        if not no_serve:
            call_command("collectstatic", interactive=False, verbosity=0)
            start_tasks()
            self.stdout.write(
                f"\nCourriels de la démonstration : {settings.ANCRAGE_SITE_URL}/demo/courriels/"
            )
            call_command("serve", **({"port": port} if port else {}))
