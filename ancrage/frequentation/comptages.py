"""The aggregates of an import kept in the database: its profiles and the diagnostic's counts.

The profiles (``aggregates.Profils``: location × birth year × visit year × band × sex × CSP ×
situation, almost one per usager at scale) are written at import and rebuilt after an erasure,
as one row of compressed arrays (``Profils``). The engine needs counts per location × dimension ×
category (``aggregates.Comptages``): they are derived from the profiles once per reference year,
at the first diagnostic of that year, with no Python loop per profile, stored as one row of
compressed arrays too (``ComptagesDiagnostic``), and read back by every later diagnostic. Storing
new profiles forgets the counts derived from the old ones.
"""

from django.db import IntegrityError, transaction

from ancrage.frequentation import aggregates, readers
from ancrage.frequentation.models import ComptagesDiagnostic, FrequentationImport, Profils


def profils_store(dataset: FrequentationImport, profils: aggregates.Profils) -> None:
    """Keep ``profils`` as the profiles of ``dataset``, in place of any before, and forget the
    counts derived from those."""
    ComptagesDiagnostic.objects.filter(dataset=dataset).delete()
    Profils.objects.update_or_create(
        dataset=dataset,
        defaults={
            "version": aggregates.PROFILS_FORMAT_VERSION,
            "nb_profils": len(profils),
            "donnees": profils.to_bytes(),
        },
    )


def profils_of(dataset: FrequentationImport) -> aggregates.Profils:
    """The profiles of an individual import (none for an import without records)."""
    stored = Profils.objects.filter(dataset=dataset).values_list("donnees", flat=True).first()
    if stored is None:
        return aggregates.Profils.from_rows(())
    return aggregates.Profils.from_bytes(bytes(stored))


def comptages_store(dataset: FrequentationImport, profils: aggregates.Profils, reference_year: int):
    """Count ``profils`` for ``reference_year`` and keep the result."""
    comptages = aggregates.comptages_from_profils(profils, reference_year, readers.parse_age_band)
    try:
        with transaction.atomic():  # a savepoint: a concurrent diagnostic may have stored it first
            ComptagesDiagnostic.objects.create(
                dataset=dataset,
                annee_reference=reference_year,
                version=aggregates.FORMAT_VERSION,
                donnees=comptages.to_bytes(),
            )
    except IntegrityError:
        pass
    return comptages


def comptages_of(dataset: FrequentationImport, reference_year: int) -> aggregates.Comptages:
    """The counts of ``dataset`` for ``reference_year``: stored ones, else derived from the profiles."""
    stored = (
        ComptagesDiagnostic.objects.filter(
            dataset=dataset, annee_reference=reference_year, version=aggregates.FORMAT_VERSION
        )
        .values_list("donnees", flat=True)
        .first()
    )
    if stored is not None:
        return aggregates.Comptages.from_bytes(bytes(stored))
    ComptagesDiagnostic.objects.filter(dataset=dataset, annee_reference=reference_year).delete()
    return comptages_store(dataset, profils_of(dataset), reference_year)


def frequentation_comptee(dataset: FrequentationImport) -> aggregates.FrequentationComptee:
    """The attendance of an individual import as the engine reads it from the database."""
    return aggregates.FrequentationComptee(
        unite=dataset.unite,
        source=dataset.source,
        fichier=dataset.fichier,
        comptages=lambda year: comptages_of(dataset, year),
        niveau=dataset.niveau or None,
    )
