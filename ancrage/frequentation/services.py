"""Writes on attendance: an imported file becomes records, their profiles and/or aggregated counts.

Each service is atomic and leaves an audit entry. ``frequentation_of`` rebuilds the pure
``readers.Frequentation`` the diagnostic engine reads, from the profiles maintained at import
(a few thousand rows, whatever the number of usagers).
"""

import calendar
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.frequentation import readers
from ancrage.frequentation.models import CompteAgrege, FrequentationImport, Profil, Usager

BATCH_SIZE = 5000


def _profile_key(record) -> tuple:
    visite = getattr(record, "premiere_visite", None) or getattr(record, "date", None)
    return (
        record.code_iris or "",
        record.code_commune or "",
        record.annee_naissance,
        # Only La Coop's date is not used for ages by the engine (it has no birth year anyway).
        visite.year if visite and isinstance(record, readers.Usager) else None,
        readers.band_label(record.tranche_age) if record.tranche_age else "",
        record.sexe or "",
        record.csp or "",
        record.situation or "",
    )


USAGER_FIELDS = (
    "dataset",
    "ligne",
    "identifiant",
    "annee_naissance",
    "tranche_age",
    "sexe",
    "csp",
    "situation",
    "code_iris",
    "code_commune",
    "premiere_visite",
    "oriente_par",
)
PROFIL_FIELDS = (
    "dataset",
    "code_iris",
    "code_commune",
    "annee_naissance",
    "annee_visite",
    "tranche_age",
    "sexe",
    "csp",
    "situation",
    "effectif",
)


def _usager_values(dataset_id: int, record, adapt_date) -> tuple:
    """The values of one ``Usager`` row (``USAGER_FIELDS``), as the database stores them."""
    if isinstance(record, readers.Usager):
        identifiant, visite, oriente = record.identifiant, record.premiere_visite, record.oriente_par or ""
    else:
        identifiant, visite, oriente = record.id_cra or "", record.date, ""
    return (
        dataset_id,
        record.ligne,
        identifiant[:100],
        record.annee_naissance,
        readers.band_label(record.tranche_age) if record.tranche_age else "",
        record.sexe or "",
        record.csp or "",
        record.situation or "",
        record.code_iris or "",
        record.code_commune or "",
        adapt_date(visite) if visite is not None else None,
        oriente[:200],
    )


def _write_rows(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert value tuples into ``model``'s table, in the caller's transaction.

    The import's hot path (issue 8): a model instance per row and the ORM's INSERT compilation
    were about three quarters of an import's time. Rows go through ``COPY`` on PostgreSQL and
    ``executemany`` elsewhere; values are already what the database stores (no field conversion).
    """
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


@transaction.atomic
def frequentation_import(
    *,
    acting_user,
    structure,
    frequentation: readers.Frequentation,
    sha256: str,
    est_demo: bool = False,
    progress=None,
) -> FrequentationImport:
    """Store an attendance file read by ``readers`` (all or nothing: one transaction)."""
    dates = [
        d
        for r in frequentation.individus
        if (d := getattr(r, "premiere_visite", None) or getattr(r, "date", None)) is not None
    ]
    dataset = FrequentationImport.objects.create(
        structure=structure,
        source=frequentation.source,
        unite=frequentation.unite,
        niveau=frequentation.niveau or "",
        fichier=frequentation.fichier[:255],
        sha256=sha256,
        nb_enregistrements=len(frequentation.individus) or len(frequentation.agregats),
        periode_debut=min(dates) if dates else None,
        periode_fin=max(dates) if dates else None,
        est_demo=est_demo,
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    total = len(frequentation.individus)
    if frequentation.individus:
        profiles = Counter()
        batch = []
        adapt_date = connection.ops.adapt_datefield_value
        for k, record in enumerate(frequentation.individus, start=1):
            profiles[_profile_key(record)] += 1
            batch.append(_usager_values(dataset.pk, record, adapt_date))
            if len(batch) >= BATCH_SIZE:
                _write_rows(Usager, USAGER_FIELDS, batch)
                batch = []
                if progress:
                    progress(k, total)
        _write_rows(Usager, USAGER_FIELDS, batch)
        _write_rows(Profil, PROFIL_FIELDS, [(dataset.pk, *key, n) for key, n in profiles.items()])
    else:
        CompteAgrege.objects.bulk_create(
            (
                CompteAgrege(
                    dataset=dataset,
                    ligne=a.ligne,
                    code_secteur=a.code_secteur[:100],
                    dimension=a.dimension,
                    categorie=a.categorie,
                    usagers=a.usagers,
                )
                for a in frequentation.agregats
            ),
            batch_size=BATCH_SIZE,
        )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=dataset,
        structure=structure,
        changes={
            "fichier": frequentation.fichier,
            "sha256": sha256,
            "source": frequentation.source,
            "enregistrements": dataset.nb_enregistrements,
        },
    )
    return dataset


@transaction.atomic
def frequentation_delete(*, acting_user, dataset: FrequentationImport) -> None:
    audit_record(acting_user=acting_user, action=AuditAction.DELETE, obj=dataset, structure=dataset.structure)
    dataset.delete()


def frequentation_of(dataset: FrequentationImport) -> readers.Frequentation:
    """The attendance of an import, as the engine reads it, rebuilt from the stored aggregates."""
    if dataset.source == "agrege":
        comptes = CompteAgrege.objects.filter(dataset=dataset).values_list(
            "ligne", "code_secteur", "dimension", "categorie", "usagers"
        )
        return readers.Frequentation(
            unite=dataset.unite,
            source=dataset.source,
            fichier=dataset.fichier,
            agregats=tuple(readers.CompteAgrege(*row) for row in comptes.order_by("ligne")),
            niveau=dataset.niveau or None,
        )
    records = []
    fields = (
        "code_iris",
        "code_commune",
        "annee_naissance",
        "annee_visite",
        "tranche_age",
        "sexe",
        "csp",
        "situation",
        "effectif",
    )
    profils = Profil.objects.filter(dataset=dataset).order_by("id").values_list(*fields)
    for iris, commune, annee, visite, tranche, sexe, csp, situation, effectif in profils.iterator(
        chunk_size=BATCH_SIZE
    ):
        band = readers.parse_age_band(tranche) if tranche else None
        if dataset.source == "coop":
            record = readers.Accompagnement(
                ligne=0,
                date=None,
                type="",
                id_cra=None,
                tranche_age=band,
                sexe=sexe or None,
                situation=situation or None,
                code_commune=commune or None,
            )
        else:
            record = readers.Usager(
                ligne=0,
                identifiant="",
                annee_naissance=annee,
                tranche_age=band,
                sexe=sexe or None,
                csp=csp or None,
                situation=situation or None,
                code_iris=iris or None,
                code_commune=commune or None,
                premiere_visite=dt.date(visite, 1, 1) if visite else None,
                oriente_par=None,
            )
        # One shared object per profile: the engine only reads the records, never their identity.
        records.extend([record] * effectif)
    return readers.Frequentation(
        unite=dataset.unite,
        source=dataset.source,
        fichier=dataset.fichier,
        individus=tuple(records),
        niveau=dataset.niveau or None,
    )


USAGERS_EXPORT_COLUMNS = readers.USAGERS_COLUMNS


def usagers_export_rows(dataset: FrequentationImport):
    """Rows of the usagers file format (the same columns as the import), for the personal-data export."""
    yield list(USAGERS_EXPORT_COLUMNS)
    fields = (
        "identifiant",
        "annee_naissance",
        "tranche_age",
        "sexe",
        "csp",
        "situation",
        "code_iris",
        "code_commune",
        "premiere_visite",
        "oriente_par",
    )
    situations = {v: k for k, v in readers.SITUATIONS.items()}
    labels = {"scolarise": "scolarisé", "retraite": "retraité"}
    for row in (
        Usager.objects.filter(dataset=dataset).order_by("ligne").values_list(*fields).iterator(BATCH_SIZE)
    ):
        ident, annee, tranche, sexe, csp, situation, iris, commune, visite, oriente = row
        situation_label = situations.get(situation, "")
        yield [
            ident,
            annee or "",
            tranche,
            sexe,
            csp.removeprefix("CS"),
            labels.get(situation_label, situation_label),
            iris,
            commune,
            visite.isoformat() if visite else "",
            oriente,
        ]


# --- Personal data (RGPD): aggregates rebuilt, retention, one usager's export and erasure ---------

PROFILE_FIELDS = (
    "code_iris",
    "code_commune",
    "annee_naissance",
    "premiere_visite",
    "tranche_age",
    "sexe",
    "csp",
    "situation",
)


def profiles_from_records(dataset: FrequentationImport) -> Counter:
    """The profiles of ``dataset`` counted from its stored records (the same keys as at import)."""
    profiles = Counter()
    with_visit_year = dataset.source == "ancrage"  # La Coop's date is not a visit year (see _profile_key)
    rows = Usager.objects.filter(dataset=dataset).values_list(*PROFILE_FIELDS)
    for iris, commune, annee, visite, tranche, sexe, csp, situation in rows.iterator(chunk_size=BATCH_SIZE):
        visit_year = visite.year if visite and with_visit_year else None
        profiles[(iris, commune, annee, visit_year, tranche, sexe, csp, situation)] += 1
    return profiles


def _profiles_rebuild(dataset: FrequentationImport) -> int:
    """Replace the dataset's profiles by those of its remaining records; returns how many remain."""
    profiles = profiles_from_records(dataset)
    Profil.objects.filter(dataset=dataset).delete()
    Profil.objects.bulk_create(
        (
            Profil(
                dataset=dataset,
                code_iris=key[0],
                code_commune=key[1],
                annee_naissance=key[2],
                annee_visite=key[3],
                tranche_age=key[4],
                sexe=key[5],
                csp=key[6],
                situation=key[7],
                effectif=n,
            )
            for key, n in profiles.items()
        ),
        batch_size=BATCH_SIZE,
    )
    remaining = sum(profiles.values())
    dates = Usager.objects.filter(dataset=dataset, premiere_visite__isnull=False).aggregate(
        debut=models.Min("premiere_visite"), fin=models.Max("premiere_visite")
    )
    FrequentationImport.objects.filter(pk=dataset.pk).update(
        nb_enregistrements=remaining, periode_debut=dates["debut"], periode_fin=dates["fin"]
    )
    return remaining


def _remove_records(dataset: FrequentationImport, records) -> tuple[int, bool]:
    """Delete ``records`` of ``dataset``; the import itself goes when nothing is left.

    Returns (records deleted, whether the import was deleted). The aggregates follow: they are
    rebuilt from the records that remain, so that the diagnostic never counts an erased person.
    """
    deleted, _ = records.delete()
    if not Usager.objects.filter(dataset=dataset).exists():
        dataset.delete()  # its profiles go with it
        return deleted, True
    _profiles_rebuild(dataset)
    return deleted, False


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` minus a number of calendar months (the day is clamped to the month's length)."""
    month_index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


@dataclass
class PurgeReport:
    avant: dt.datetime
    usagers: int = 0
    imports_supprimes: list[int] = field(default_factory=list)
    imports_reduits: list[int] = field(default_factory=list)
    depots_vides: int = 0
    dry_run: bool = False


def expired_records(before: dt.datetime):
    """Records whose retention is over: imported before ``before``, and no visit since.

    A record's reference date is the later of its import and its (first) visit: the file attests
    that the person was an usager of the EPN on the day it was imported.
    """
    return Usager.objects.filter(dataset__created_at__lt=before).exclude(premiere_visite__gte=before.date())


@transaction.atomic
def usagers_purge(*, acting_user, now: dt.datetime | None = None, mois: int | None = None, dry_run=False):
    """Delete every usager record past its retention period, all or nothing, audited per import.

    ``dry_run`` does everything in the transaction, then rolls it back: the report it returns is
    exactly what a real run would do.
    """
    from ancrage.diagnostic.jobs import deposits_purge  # the diagnostic imports this module

    mois = settings.ANCRAGE_RETENTION_USAGERS_MOIS if mois is None else mois
    now = now or timezone.now()
    report = PurgeReport(avant=months_before(now, mois), dry_run=dry_run)
    expired = expired_records(report.avant)
    dataset_ids = sorted(set(expired.values_list("dataset_id", flat=True)))
    for dataset in FrequentationImport.objects.filter(pk__in=dataset_ids).select_related("structure"):
        records = expired.filter(dataset=dataset)
        # Audited before the deletion (the entry names the import, never the persons).
        audit_record(
            acting_user=acting_user,
            action=AuditAction.DELETE,
            obj=dataset,
            structure=dataset.structure,
            changes={
                "motif": "durée de conservation",
                "conservation_mois": mois,
                "avant": report.avant,
                "usagers": records.count(),
            },
        )
        dataset_id = dataset.pk
        deleted, gone = _remove_records(dataset, records)
        report.usagers += deleted
        (report.imports_supprimes if gone else report.imports_reduits).append(dataset_id)
    report.depots_vides = deposits_purge(
        before=now - dt.timedelta(days=settings.ANCRAGE_RETENTION_DEPOTS_JOURS)
    )
    if dry_run:
        transaction.set_rollback(True)
    return report


def _normalised_identifiant(identifiant: str) -> str:
    identifiant = (identifiant or "").strip()
    if not identifiant:
        raise ValidationError("Saisissez l’identifiant de l’usager.")
    return identifiant[:100]


def usager_records(*, structure, identifiant: str):
    """The records of one usager in the EPN's imports (the identifiant is the EPN's own)."""
    return (
        Usager.objects.filter(dataset__structure=structure, identifiant=_normalised_identifiant(identifiant))
        .select_related("dataset")
        .order_by("dataset__created_at", "dataset_id", "ligne")
    )


USAGER_EXPORT_COLUMNS = (
    "fichier_importe",
    "importe_le",
    "ligne",
    *USAGERS_EXPORT_COLUMNS,
)


@transaction.atomic
def usager_export(*, acting_user, structure, identifiant: str) -> list[list]:
    """Every record of one usager (right of access and portability, art. 15 and 20), audited.

    The audit entry says how many records were exported, not whose: the journal holds no usager data.
    """
    records = list(usager_records(structure=structure, identifiant=identifiant))
    if not records:
        raise ValidationError("Aucun enregistrement ne porte cet identifiant dans les fichiers de ce lieu.")
    audit_record(
        acting_user=acting_user,
        action=AuditAction.EXPORT,
        structure=structure,
        changes={"objet": "données d’un usager", "enregistrements": len(records)},
    )
    situations = {v: k for k, v in readers.SITUATIONS.items()}
    rows = [list(USAGER_EXPORT_COLUMNS)]
    for u in records:
        situation = situations.get(u.situation, "")
        rows.append(
            [
                u.dataset.fichier,
                u.dataset.created_at.date().isoformat(),
                u.ligne,
                u.identifiant,
                u.annee_naissance or "",
                u.tranche_age,
                u.sexe,
                u.csp.removeprefix("CS"),
                {"scolarise": "scolarisé", "retraite": "retraité"}.get(situation, situation),
                u.code_iris,
                u.code_commune,
                u.premiere_visite.isoformat() if u.premiere_visite else "",
                u.oriente_par,
            ]
        )
    return rows


@transaction.atomic
def usager_erase(*, acting_user, structure, identifiant: str) -> int:
    """Erase one usager (right to erasure, art. 17): every record, and the aggregates follow.

    All or nothing. Audited without the identifiant: only how many records, in which imports.
    """
    records = usager_records(structure=structure, identifiant=identifiant)
    dataset_ids = sorted(set(records.values_list("dataset_id", flat=True)))
    if not dataset_ids:
        raise ValidationError("Aucun enregistrement ne porte cet identifiant dans les fichiers de ce lieu.")
    total = 0
    removed = []
    for dataset in FrequentationImport.objects.filter(pk__in=dataset_ids).select_for_update():
        dataset_id = dataset.pk
        deleted, gone = _remove_records(dataset, records.filter(dataset=dataset).order_by())
        total += deleted
        if gone:
            removed.append(dataset_id)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.DELETE,
        structure=structure,
        changes={
            "objet": "données d’un usager (droit à l’effacement)",
            "enregistrements": total,
            "imports": dataset_ids,
            "imports_supprimes": removed,
        },
    )
    return total
