from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ancrage.accounts.validators import DEMO_PASSWORD
from ancrage.demo.loader import DEMO_ACCOUNTS, load_demo


class Command(BaseCommand):
    help = "Crée la base, charge les données de démonstration (une seule fois) et sert Ancrage."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="Charger la démonstration sans servir.")
        parser.add_argument("--port", default=None)

    def handle(self, *args, no_serve, port, **options):
        if not settings.ANCRAGE_ALLOW_DEMO_ACCOUNTS:
            raise CommandError("La démonstration est désactivée par ces réglages (production).")
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
            call_command("serve", **({"port": port} if port else {}))
