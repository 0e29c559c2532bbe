"""Writes of the diagnostic: the collectivité's priorities and the saved diagnostics.

Each service is atomic and leaves an audit entry. ``diagnostic_compute`` gathers the EPN's stored
population, attendance profiles, QPV flags, quartiers and priorities, runs the pure engine and
saves its result.
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.diagnostic import priorites as pure_priorites
from ancrage.diagnostic.engine import DiagnosticImpossible, run_diagnostic
from ancrage.diagnostic.models import Diagnostic, Priorite
from ancrage.frequentation.comptages import frequentation_comptee
from ancrage.frequentation.models import FrequentationImport
from ancrage.frequentation.services import frequentation_of
from ancrage.territoire.insee import MillesimesMelanges
from ancrage.territoire.models import Quartier, Secteur
from ancrage.territoire.services import passage_of, population_of

# --- Priorities -----------------------------------------------------------------------------------


def _to_pure(p: Priorite) -> pure_priorites.Priorite:
    return pure_priorites.Priorite(
        theme=p.theme,
        poids=p.poids,
        categories=tuple((d, c) for d, c in p.categories),
        secteurs=tuple(p.secteurs),
        qpv=p.qpv,
    )


def priorites_of(structure) -> list[pure_priorites.Priorite]:
    """The EPN's priorities; the defaults of the method while it has recorded none."""
    stored = list(Priorite.objects.filter(structure=structure))
    return [_to_pure(p) for p in stored] if stored else list(pure_priorites.DEFAULT_PRIORITES)


def _priorite_fields(p: pure_priorites.Priorite) -> dict:
    return {
        "theme": p.theme,
        "poids": p.poids,
        "categories": [list(c) for c in p.categories],
        "secteurs": list(p.secteurs),
        "qpv": p.qpv,
    }


@transaction.atomic
def priorites_replace(
    *, acting_user, structure, priorites: Sequence[pure_priorites.Priorite], origine: str = "saisie"
) -> list[Priorite]:
    """Replace the EPN's priorities (CSV import, or back to the defaults)."""
    before = [p.theme for p in Priorite.objects.filter(structure=structure)]
    Priorite.objects.filter(structure=structure).delete()
    created = [
        Priorite.objects.create(structure=structure, ordre=i, **_priorite_fields(p))
        for i, p in enumerate(priorites)
    ]
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT if origine == "import" else AuditAction.UPDATE,
        obj=structure,
        structure=structure,
        changes={"priorites": [before, [p.theme for p in created]], "origine": origine},
    )
    return created


@transaction.atomic
def priorites_reset(*, acting_user, structure) -> list[Priorite]:
    return priorites_replace(
        acting_user=acting_user,
        structure=structure,
        priorites=pure_priorites.DEFAULT_PRIORITES,
        origine="valeurs par défaut",
    )


@transaction.atomic
def priorite_save(
    *,
    acting_user,
    structure,
    theme: str,
    poids: float,
    categories: Sequence[tuple[str, str]] = (),
    secteurs: Sequence[str] = (),
    qpv: bool = False,
    priorite: Priorite | None = None,
) -> Priorite:
    theme = theme.strip()
    if not theme:
        raise ValidationError({"theme": "Donnez un thème."})
    if not 0 < poids <= 100:
        raise ValidationError({"poids": "Le poids est un nombre positif, au plus 100."})
    if not Priorite.objects.filter(structure=structure).exists() and priorite is None:
        # The first edit starts from the defaults the user was seeing, rather than from nothing.
        priorites_reset(acting_user=acting_user, structure=structure)
    duplicate = Priorite.objects.filter(structure=structure, theme=theme)
    if priorite is not None:
        duplicate = duplicate.exclude(pk=priorite.pk)
    if duplicate.exists():
        raise ValidationError({"theme": f"Le thème « {theme} » existe déjà."})
    created = priorite is None
    if created:
        last = Priorite.objects.filter(structure=structure).order_by("-ordre").first()
        priorite = Priorite(structure=structure, ordre=(last.ordre + 1) if last else 0)
    for name, value in _priorite_fields(
        pure_priorites.Priorite(theme, poids, tuple(categories), tuple(secteurs), qpv)
    ).items():
        setattr(priorite, name, value)
    priorite.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=priorite,
        structure=structure,
        changes=_priorite_fields(_to_pure(priorite)),
    )
    return priorite


@transaction.atomic
def priorite_delete(*, acting_user, priorite: Priorite) -> None:
    audit_record(
        acting_user=acting_user, action=AuditAction.DELETE, obj=priorite, structure=priorite.structure
    )
    priorite.delete()


# --- Diagnostics ----------------------------------------------------------------------------------


def inputs_of(structure, frequentation: FrequentationImport, niveau: str):
    """Everything the engine needs for ``structure``, read from the database."""
    try:
        population = population_of(structure)
    except MillesimesMelanges as exc:  # bases imported before vintages were checked
        raise DiagnosticImpossible(f"{exc} Retirez l'une des bases (page du diagnostic du lieu).") from None
    if population is None:
        raise DiagnosticImpossible("Importez d'abord la population du territoire (bases INSEE à l'IRIS).")
    quartiers = {}
    noms_quartiers = {}
    for q in Quartier.objects.filter(structure=structure):
        code = q.nom
        noms_quartiers[code] = q.nom
        for iris in q.iris:
            quartiers[iris] = code
    qpv_iris = list(Secteur.objects.filter(structure=structure, qpv=True).values_list("code", flat=True))
    if niveau == "iris":
        qpv = set(qpv_iris)
    elif niveau == "commune":
        # A commune counts as a QPV sector when one of its IRIS is in a QPV (insee.secteurs_qpv).
        qpv = {c[:5] for c in qpv_iris}
    else:
        qpv = {quartiers[c] for c in qpv_iris if c in quartiers}
    return {
        "population": population,
        # Individual records: the counts kept per import (arrays), not the records.
        "frequentation": (
            frequentation_of(frequentation)
            if frequentation.source == "agrege"
            else frequentation_comptee(frequentation)
        ),
        "priorites": priorites_of(structure),
        "niveau": niveau,
        "quartiers": quartiers or None,
        "noms_quartiers": noms_quartiers or None,
        "secteurs_qpv": qpv,
        "passage": passage_of(structure),
    }


@transaction.atomic
def diagnostic_compute(
    *,
    acting_user,
    structure,
    frequentation: FrequentationImport,
    niveau: str = "iris",
    titre: str = "",
    reference_year: int | None = None,
    ages: tuple[int, int | None] | None = None,
) -> Diagnostic:
    """Compute and save a diagnostic. Raises ``DiagnosticImpossible`` (French message) when it cannot."""
    if frequentation.structure_id != structure.pk:
        raise ValidationError("Cette fréquentation appartient à un autre lieu.")
    inputs = inputs_of(structure, frequentation, niveau)
    resultat = run_diagnostic(**inputs, reference_year=reference_year, ages=ages)
    population = inputs["population"]
    parametres = {
        "niveau": niveau,
        "frequentation": {
            "id": frequentation.pk,
            "fichier": frequentation.fichier,
            "source": frequentation.source,
        },
        "population": {
            "millesime": population.millesime,
            "fichiers": list(population.fichiers),
            # Per table, the IRIS without its figures (a blank cell, the secret statistique, or
            # absent from the base of that table): left out of that dimension, not counted as 0.
            "iris_sans_valeur": {
                key: int((~rep.present).sum())
                for key, rep in population.repartitions.items()
                if not rep.present.all()
            },
        },
        "priorites": [_priorite_fields(p) for p in inputs["priorites"]],
        "secteurs_qpv": sorted(inputs["secteurs_qpv"]),
        "quartiers": {code: nom for code, nom in (inputs["noms_quartiers"] or {}).items()},
        "reference_year": reference_year,
        "ages": None if ages is None else [ages[0], ages[1]],
        "est_demo": frequentation.est_demo,
        "passage_iris": len(inputs["passage"] or {}),
    }
    diagnostic = Diagnostic.objects.create(
        structure=structure,
        titre=(titre or f"Diagnostic {frequentation.fichier}")[:200],
        niveau=niveau,
        unite=resultat["unite"],
        periode_debut=frequentation.periode_debut,
        periode_fin=frequentation.periode_fin,
        parametres=parametres,
        resultat=resultat,
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=diagnostic,
        structure=structure,
        changes={"niveau": niveau, "frequentation": frequentation.fichier, "cibles": len(resultat["cibles"])},
    )
    return diagnostic


@transaction.atomic
def diagnostic_delete(*, acting_user, diagnostic: Diagnostic) -> None:
    audit_record(
        acting_user=acting_user, action=AuditAction.DELETE, obj=diagnostic, structure=diagnostic.structure
    )
    diagnostic.delete()
