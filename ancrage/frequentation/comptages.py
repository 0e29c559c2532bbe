"""The diagnostic's counts of an import, kept in the database (issue 8).

The engine needs counts per location × dimension × category (``aggregates.Comptages``), not the
joint profiles (``Profil``: almost one row per usager at scale). They are derived from the
profiles once per reference year, at the first diagnostic of that year (or at import, with
:func:`comptages_store`), stored as one row of compressed arrays (``ComptagesDiagnostic``), and
read back as arrays by every later diagnostic. Rebuilding the profiles (erasure, purge) deletes
them (``_profiles_rebuild``).
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from ancrage.frequentation import aggregates, readers
from ancrage.frequentation.models import ComptagesDiagnostic, FrequentationImport, Profil

CHUNK = 20_000


def _profile_rows(dataset: FrequentationImport) -> Iterable[tuple]:
    rows = Profil.objects.filter(dataset=dataset).values_list(*aggregates.PROFILE_FIELDS)
    return rows.iterator(chunk_size=CHUNK)


def comptages_store(dataset: FrequentationImport, rows: Iterable[tuple], reference_year: int):
    """Count ``rows`` (``aggregates.PROFILE_FIELDS``) for ``reference_year`` and keep the result."""
    comptages = aggregates.comptages_from_profiles(rows, reference_year, readers.parse_age_band)
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
    return comptages_store(dataset, _profile_rows(dataset), reference_year)


def comptages_forget(dataset: FrequentationImport) -> None:
    """Drop the stored counts (the profiles changed)."""
    ComptagesDiagnostic.objects.filter(dataset=dataset).delete()


def frequentation_comptee(dataset: FrequentationImport) -> aggregates.FrequentationComptee:
    """The attendance of an individual import as the engine reads it from the database."""
    return aggregates.FrequentationComptee(
        unite=dataset.unite,
        source=dataset.source,
        fichier=dataset.fichier,
        comptages=lambda year: comptages_of(dataset, year),
        niveau=dataset.niveau or None,
    )
