"""Writes on attendance: an imported file becomes records, their profiles and/or aggregated counts.

Each service is atomic and leaves an audit entry. ``frequentation_of`` rebuilds the pure
``readers.Frequentation`` the diagnostic engine reads, from the profiles maintained at import
(a few thousand rows, whatever the number of usagers).
"""

import datetime as dt
from collections import Counter

from django.db import transaction

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


def _usager_row(dataset, record) -> Usager:
    if isinstance(record, readers.Usager):
        identifiant, visite, oriente = record.identifiant, record.premiere_visite, record.oriente_par or ""
    else:
        identifiant, visite, oriente = record.id_cra or "", record.date, ""
    return Usager(
        dataset=dataset,
        ligne=record.ligne,
        identifiant=identifiant[:100],
        annee_naissance=record.annee_naissance,
        tranche_age=readers.band_label(record.tranche_age) if record.tranche_age else "",
        sexe=record.sexe or "",
        csp=record.csp or "",
        situation=record.situation or "",
        code_iris=record.code_iris or "",
        code_commune=record.code_commune or "",
        premiere_visite=visite,
        oriente_par=oriente[:200],
    )


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
        for k, record in enumerate(frequentation.individus, start=1):
            profiles[_profile_key(record)] += 1
            batch.append(_usager_row(dataset, record))
            if len(batch) >= BATCH_SIZE:
                Usager.objects.bulk_create(batch)
                batch = []
                if progress:
                    progress(k, total)
        if batch:
            Usager.objects.bulk_create(batch)
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
