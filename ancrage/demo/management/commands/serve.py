import os

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Sert Ancrage sur http://127.0.0.1:8000 (ou sur le port $PORT)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))

    def handle(self, *args, host, port, **options):
        # The development server, without its reloader: one process, stopped with Ctrl+C.
        # Production runs a WSGI server (gunicorn ancrage.config.wsgi) behind a reverse proxy.
        call_command("runserver", f"{host}:{port}", use_reloader=False)
