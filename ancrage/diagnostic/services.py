"""Writes of the diagnostic: the collectivité's priorities and the saved diagnostics.

Each service is atomic and leaves an audit entry. ``diagnostic_compute`` gathers the EPN's stored
population, attendance profiles, QPV flags, quartiers and priorities, runs the pure engine and
saves its result.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from ancrage.audit.enums import AuditAction
from ancrage.audit.models import AuditEntry
from ancrage.audit.services import audit_record
from ancrage.diagnostic import priorites as pure_priorites
from ancrage.diagnostic.engine import DiagnosticImpossible, run_diagnostic
from ancrage.diagnostic.models import Diagnostic, Priorite
from ancrage.frequentation.comptages import frequentation_comptee
from ancrage.frequentation.models import FrequentationImport
from ancrage.frequentation.services import frequentation_of
from ancrage.organisations import permissions
from ancrage.organisations.models import Collectivite
from ancrage.organisations.scoping import scope_for
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


@dataclass(frozen=True)
class PrioritesEpn:
    """The priorities an EPN's next diagnostic uses, and where each comes from.

    ``collectivite``: those its collectivité recorded (empty when it recorded none, or when the EPN
    is attached to none); ``propres``: the EPN's own that apply (a theme of the collectivité wins:
    the EPN's row of the same theme is in ``masquees``); ``par_defaut``: the method's defaults
    stand in, since neither the collectivité nor the EPN recorded any.
    """

    collectivite: tuple[pure_priorites.Priorite, ...]
    propres: tuple[pure_priorites.Priorite, ...]
    masquees: tuple[str, ...]
    par_defaut: bool

    @property
    def utilisees(self) -> list[pure_priorites.Priorite]:
        if self.par_defaut:
            return list(pure_priorites.DEFAULT_PRIORITES)
        return [*self.collectivite, *self.propres]


def priorites_detail(structure) -> PrioritesEpn:
    """The collectivité's priorities (of the collectivité the EPN is attached to), then the EPN's
    own with another theme; the method's defaults while neither recorded any. An EPN that had
    recorded its own before the collectivité recorded any keeps exactly them."""
    collectivite = (
        [_to_pure(p) for p in Priorite.objects.filter(collectivite_id=structure.collectivite_id)]
        if structure.collectivite_id
        else []
    )
    themes = {p.theme for p in collectivite}
    own = [_to_pure(p) for p in Priorite.objects.filter(structure=structure)]
    return PrioritesEpn(
        collectivite=tuple(collectivite),
        propres=tuple(p for p in own if p.theme not in themes),
        masquees=tuple(p.theme for p in own if p.theme in themes),
        par_defaut=not collectivite and not own,
    )


def priorites_of(structure) -> list[pure_priorites.Priorite]:
    """The priorities the EPN's diagnostic crosses its gaps with (see ``priorites_detail``)."""
    return priorites_detail(structure).utilisees


def priorites_collectivite_of(collectivite) -> list[pure_priorites.Priorite]:
    """The collectivité's priorities; the method's defaults while it has recorded none."""
    stored = [_to_pure(p) for p in Priorite.objects.filter(collectivite=collectivite)]
    return stored or list(pure_priorites.DEFAULT_PRIORITES)


def _priorite_fields(p: pure_priorites.Priorite) -> dict:
    return {
        "theme": p.theme,
        "poids": p.poids,
        "categories": [list(c) for c in p.categories],
        "secteurs": list(p.secteurs),
        "qpv": p.qpv,
    }


REFUS_PRIORITES_COLLECTIVITE = "Seul·e le ou la référent·e de la collectivité modifie ses priorités."


def _owner(structure, collectivite) -> dict:
    """The filter of an owner's priorities: an EPN's own, or a collectivité's (exactly one)."""
    if (structure is None) == (collectivite is None):
        raise ValueError("priorities belong to an EPN or to a collectivité")
    return {"structure": structure} if structure is not None else {"collectivite": collectivite}


def _check_owner(acting_user, structure, collectivite) -> None:
    """The write check of the collectivité's priorities: its référent's (``acting_user=None`` is the
    system: the demo loader, the command line). An EPN's own are checked by the page, as every write
    of its diagnostic (and the background import runs as the user who submitted it)."""
    if acting_user is None or structure is not None:
        return
    if not permissions.may_collectivite(
        scope_for(acting_user), permissions.PRIORITES_COLLECTIVITE_WRITERS, collectivite.pk
    ):
        raise PermissionDenied(REFUS_PRIORITES_COLLECTIVITE)


def _audit_target(structure, collectivite) -> dict:
    """Where a change is recorded: on the EPN, or on the collectivité (its priorities' history)."""
    if structure is not None:
        return {"obj": structure, "structure": structure}
    return {"obj": collectivite}


@transaction.atomic
def priorites_replace(
    *,
    acting_user,
    structure=None,
    collectivite=None,
    priorites: Sequence[pure_priorites.Priorite],
    origine: str = "saisie",
) -> list[Priorite]:
    """Replace the EPN's own priorities, or the collectivité's (CSV import, or back to the defaults)."""
    owner = _owner(structure, collectivite)
    _check_owner(acting_user, structure, collectivite)
    before = [p.theme for p in Priorite.objects.filter(**owner)]
    Priorite.objects.filter(**owner).delete()
    created = [
        Priorite.objects.create(**owner, ordre=i, **_priorite_fields(p)) for i, p in enumerate(priorites)
    ]
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT if origine == "import" else AuditAction.UPDATE,
        **_audit_target(structure, collectivite),
        changes={"priorites": [before, [p.theme for p in created]], "origine": origine},
    )
    return created


@transaction.atomic
def priorites_reset(*, acting_user, structure=None, collectivite=None) -> list[Priorite]:
    return priorites_replace(
        acting_user=acting_user,
        structure=structure,
        collectivite=collectivite,
        priorites=pure_priorites.DEFAULT_PRIORITES,
        origine="valeurs par défaut",
    )


@transaction.atomic
def priorite_save(
    *,
    acting_user,
    structure=None,
    collectivite=None,
    theme: str,
    poids: float,
    categories: Sequence[tuple[str, str]] = (),
    secteurs: Sequence[str] = (),
    qpv: bool = False,
    priorite: Priorite | None = None,
) -> Priorite:
    """Add or change one priority of an EPN (its own) or of a collectivité.

    An EPN's own priority never takes a theme of its collectivité's: that one applies already.
    """
    owner = _owner(structure, collectivite)
    _check_owner(acting_user, structure, collectivite)
    theme = theme.strip()
    if not theme:
        raise ValidationError({"theme": "Donnez un thème."})
    if not 0 < poids <= 100:
        raise ValidationError({"poids": "Le poids est un nombre positif, au plus 100."})
    if structure is not None and structure.collectivite_id:
        if Priorite.objects.filter(collectivite_id=structure.collectivite_id, theme=theme).exists():
            raise ValidationError(
                {
                    "theme": f"« {theme} » est une priorité de la collectivité : elle s’applique déjà "
                    "à l’EPN, qui ne la remplace pas. Choisissez un autre thème."
                }
            )
    if priorite is None and not Priorite.objects.filter(**owner).exists():
        # The first edit starts from the defaults the user was seeing, rather than from nothing:
        # a collectivité's, or an EPN's while its collectivité recorded none.
        if collectivite is not None or not (
            structure.collectivite_id
            and Priorite.objects.filter(collectivite_id=structure.collectivite_id).exists()
        ):
            priorites_replace(
                acting_user=acting_user,
                structure=structure,
                collectivite=collectivite,
                priorites=[p for p in pure_priorites.DEFAULT_PRIORITES if p.theme != theme],
                origine="valeurs par défaut",
            )
    duplicate = Priorite.objects.filter(**owner, theme=theme)
    if priorite is not None:
        duplicate = duplicate.exclude(pk=priorite.pk)
    if duplicate.exists():
        raise ValidationError({"theme": f"Le thème « {theme} » existe déjà."})
    created = priorite is None
    if created:
        last = Priorite.objects.filter(**owner).order_by("-ordre").first()
        priorite = Priorite(**owner, ordre=(last.ordre + 1) if last else 0)
    for name, value in _priorite_fields(
        pure_priorites.Priorite(theme, poids, tuple(categories), tuple(secteurs), qpv)
    ).items():
        setattr(priorite, name, value)
    priorite.save()
    changes = _priorite_fields(_to_pure(priorite))
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        **(
            _audit_target(structure, collectivite)
            if collectivite is not None
            else {"obj": priorite, "structure": structure}
        ),
        changes={"priorite": theme, **changes} if collectivite is not None else changes,
    )
    return priorite


@transaction.atomic
def priorite_delete(*, acting_user, priorite: Priorite) -> None:
    _check_owner(acting_user, priorite.structure, priorite.collectivite)
    if priorite.collectivite_id:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.DELETE,
            obj=priorite.collectivite,
            changes={"priorite": priorite.theme},
        )
    else:
        audit_record(
            acting_user=acting_user, action=AuditAction.DELETE, obj=priorite, structure=priorite.structure
        )
    priorite.delete()


def priorites_historique(collectivite):
    """The audit entries of the collectivité's priorities, newest first (the page's history)."""
    return (
        AuditEntry.objects.filter(object_type=Collectivite._meta.label_lower, object_id=str(collectivite.pk))
        .filter(Q(changes__has_key="priorite") | Q(changes__has_key="priorites"))
        .order_by("-at", "-id")
    )


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
