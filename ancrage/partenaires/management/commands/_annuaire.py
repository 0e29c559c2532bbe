"""What the directory commands share: the EPN named by ``--lieu``."""

from django.core.management.base import CommandError

from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure


def epn_or_error(pk: int) -> Structure:
    epn = Structure.objects.filter(pk=pk).select_related("reseau").first()
    if epn is None:
        raise CommandError(f"Aucun lieu n° {pk}.")
    if epn.kind != StructureKind.EPN:
        raise CommandError(f"« {epn.nom} » (n° {pk}) n'est pas un EPN : seul un EPN a un annuaire.")
    return epn
