"""``ancrage bench-generer``: write a synthetic territory (INSEE base, usagers, La Coop export)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from ancrage.bench.generator import DEFAULT_SEED, TIERS, generate


class Command(BaseCommand):
    help = (
        "Génère un territoire synthétique (population INSEE, usagers, export de La Coop) "
        "pour les bancs d'essai."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tier", choices=sorted(TIERS), default="commune")
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)

    def handle(self, *args, tier, out, seed, **options):
        manifest = generate(tier, out, seed=seed, progress=lambda message: self.stdout.write(message))
        self.stdout.write(
            self.style.SUCCESS(
                f"{manifest['secteurs']} secteurs, {manifest['usagers']} usagers écrits dans {out}."
            )
        )
