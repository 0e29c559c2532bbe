"""Writes on an EPN's territory: imported population, sector names, QPV flags, quartiers, outlines.

Each service is atomic and leaves an audit entry. ``population_of`` rebuilds the pure
``insee.Population`` the diagnostic engine reads.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Length
from django.utils import timezone

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.core.wording import nombre
from ancrage.organisations import cog
from ancrage.territoire import insee, libelles, packed
from ancrage.territoire.models import PassageIris, PopulationImport, PopulationValeurs, Quartier, Secteur

BATCH_SIZE = 5000


@dataclass
class PopulationPlan:
    """What importing a base would do, shown before confirmation and done by ``population_import``.

    ``population``: the base restricted to the collectivité's communes; ``ignorees``: the communes
    left out (code -> name, IRIS, population); ``remplacees``: the active bases it replaces (they
    share a table with it); ``avant`` and ``apres``: the EPN's population before and after
    (``None`` before the first base).
    """

    population: insee.Population
    ignorees: dict[str, tuple[str, int, float]]
    remplacees: list[PopulationImport]
    conservees: list[PopulationImport]
    avant: insee.Population | None
    apres: insee.Population

    def changements(self) -> dict:
        """Communes and IRIS added and removed, and the population before and after."""
        before_codes = set(self.avant.codes) if self.avant is not None else set()
        before_communes = set(self.avant.communes) if self.avant is not None else set()
        after_codes, after_communes = set(self.apres.codes), set(self.apres.communes)
        names = _commune_names(self.apres, self.avant)
        return {
            "communes_ajoutees": {c: names.get(c, c) for c in sorted(after_communes - before_communes)},
            "communes_retirees": {c: names.get(c, c) for c in sorted(before_communes - after_communes)},
            "iris_ajoutes": len(after_codes - before_codes),
            "iris_retires": len(before_codes - after_codes),
            "population_avant": float(np.nansum(self.avant.total)) if self.avant is not None else 0.0,
            "population_apres": float(np.nansum(self.apres.total)),
        }


def _commune_names(*populations) -> dict[str, str]:
    names: dict[str, str] = {}
    for population in populations:
        if population is None:
            continue
        for code, nom, commune in zip(population.codes, population.noms, population.communes, strict=True):
            if commune not in names:
                names[commune] = _cog_name(commune) or insee.commune_name(nom, code) or commune
    return names


def _cog_name(code: str) -> str:
    try:
        return cog.commune(code).nom
    except cog.UnknownCode:
        return ""


def population_plan(structure, population: insee.Population) -> PopulationPlan:
    """What importing ``population`` for ``structure`` would do (nothing is written).

    Raises ``ValidationError`` (French) when no IRIS of the file lies in the collectivité, or
    when the bases kept would be of another vintage (refused, not merged with a warning: a
    diagnostic would compare figures of two censuses as if they were one).
    """
    ignorees: dict[str, tuple[str, int, float]] = {}
    collectivite = structure.collectivite
    if collectivite is not None:
        inside = {c for c in set(population.communes) if collectivite.covers(c)}
        population, ignorees = insee.restrict_to_communes(population, inside)
        ignorees = {
            code: (_cog_name(code) or f"{nom} (code inconnu du COG {cog.millesime()})", n, total)
            for code, (nom, n, total) in ignorees.items()
        }
        if not len(population):
            raise ValidationError(
                f"Aucun IRIS de ce fichier n'est dans le territoire de « {collectivite} » "
                f"({nombre(len(ignorees), 'commune')} dans le fichier, toutes hors de la collectivité)."
            )
    actives = list(
        PopulationImport.objects.actives().filter(structure=structure).order_by("created_at", "id")
    )
    tables = set(population.repartitions)
    remplacees = [p for p in actives if set(p.tables) & tables]
    conservees = [p for p in actives if not set(p.tables) & tables]
    autres = sorted({p.millesime for p in conservees if p.millesime and p.millesime != population.millesime})
    if autres and population.millesime:
        raise ValidationError(
            f"Ce fichier est du millésime {population.millesime}, les autres bases du lieu du millésime "
            + ", ".join(str(m) for m in autres)
            + " : importez des bases d'un même recensement, ou retirez d'abord les autres bases."
        )
    noms = dict(Secteur.objects.filter(structure=structure).order_by().values_list("code", "nom"))
    stored = _stored_keys(actives)
    avant = (
        insee.merge_populations([_dataset_population(d, noms, stored.get(d.pk)) for d in actives])
        if actives
        else None
    )
    apres = insee.merge_populations(
        [_dataset_population(d, noms, stored.get(d.pk)) for d in conservees] + [population]
    )
    return PopulationPlan(population, ignorees, remplacees, conservees, avant, apres)


@transaction.atomic
def population_import(
    *, acting_user, structure, population: insee.Population, fichier: str, sha256: str
) -> PopulationImport:
    """Store one INSEE base for ``structure``: only its IRIS in the collectivité's communes (the
    others are listed in ``communes_ignorees`` and the audit entry); a base carrying the same
    tables replaces the older one, which is kept, withdrawn, to be restored (``population_plan``)."""
    existing = PopulationImport.objects.filter(structure=structure, sha256=sha256).first()
    if existing is not None:
        if existing.retiree_le is not None:
            raise ValidationError(
                f"Le fichier « {fichier} » a déjà été importé pour ce lieu, puis remplacé ou retiré : "
                "rétablissez-le depuis la liste des bases retirées."
            )
        raise ValidationError(f"Le fichier « {fichier} » a déjà été importé pour ce lieu.")
    plan = population_plan(structure, population)
    population = plan.population
    now = timezone.now()
    for old in plan.remplacees:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=old,
            structure=structure,
            changes={"retiree": True, "remplacee_par": fichier},
        )
    PopulationImport.objects.filter(pk__in=[p.pk for p in plan.remplacees]).update(retiree_le=now)
    dataset = PopulationImport.objects.create(
        structure=structure,
        fichier=fichier[:255],
        sha256=sha256,
        millesime=population.millesime,
        tables=sorted(population.repartitions),
        total_derive=population.total_derive,
        nb_secteurs=len(population),
        communes_ignorees={c: [nom, n, _finite(t)] for c, (nom, n, t) in plan.ignorees.items()},
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    PopulationValeurs.objects.create(
        dataset=dataset, version=packed.FORMAT_VERSION, donnees=packed.to_bytes(population)
    )
    _secteurs_create(structure, population)
    changements = plan.changements()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=dataset,
        structure=structure,
        changes={
            "fichier": fichier,
            "sha256": sha256,
            "millesime": population.millesime,
            "iris": len(population),
            "tableaux": sorted(population.repartitions),
            "communes_ignorees": sorted(plan.ignorees),
            "remplace": [p.pk for p in plan.remplacees],
            "communes_ajoutees": sorted(changements["communes_ajoutees"]),
            "communes_retirees": sorted(changements["communes_retirees"]),
            "valeurs_manquantes": {k: len(v) for k, v in population.manquantes.items()},
        },
    )
    return dataset


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _secteurs_create(structure, population: insee.Population) -> None:
    known = set(Secteur.objects.filter(structure=structure).values_list("code", flat=True))
    Secteur.objects.bulk_create(
        [
            Secteur(structure=structure, code=code, nom=nom[:200])
            for code, nom in zip(population.codes, population.noms, strict=True)
            if code not in known
        ],
        batch_size=BATCH_SIZE,
    )


# The decoded arrays of the last imports read by this process (``population_of``): unpacking the
# national population (50,000 IRIS, 4 MB compressed) costs about 0.1 s per diagnostic. An entry
# is found again only by the identity of the row it was read from, and only while that row is
# the same: the import (id, creation time, file SHA-256) and its stored arrays (id, format
# version, size in bytes). Those arrays are written once, with their import, and never updated:
# a new base is a new import, a replaced one is deleted. Deleting an import leaves an entry no
# key leads to any more (until it is pushed out); an id reused after a deletion (SQLite) comes
# with another creation time. The arrays are read-only (``packed.read_only``).
# At most DECODED_MAX_BYTES of arrays are kept (about 10 MB for the national tier's three tables),
# the least recently read going first; the last one read always stays.
DECODED_MAX_BYTES = 64 * 2**20
_decoded: OrderedDict[tuple, tuple[packed.Stored, int]] = OrderedDict()
_decoded_lock = threading.Lock()


def _nbytes(unpacked: packed.Stored) -> int:
    arrays = unpacked.total.nbytes + sum(v.nbytes + p.nbytes for _, v, p in unpacked.tables.values())
    return arrays + 80 * len(unpacked.codes)  # a code: a short str and its slot in the tuple


def _decoded_arrays(dataset: PopulationImport, stored: tuple[int, int, int] | None) -> packed.Stored | None:
    """The unpacked arrays of ``dataset`` (``stored``: its arrays' id, version and size; ``None``
    when it has none), from this process's cache when they were read before."""
    if stored is None:
        return None
    key = (dataset.pk, dataset.created_at, dataset.sha256, *stored)
    with _decoded_lock:
        if key in _decoded:
            _decoded.move_to_end(key)
            return _decoded[key][0]
    data = PopulationValeurs.objects.filter(pk=stored[0]).values_list("donnees", flat=True).first()
    if data is None:  # deleted since: nothing to keep
        return None
    unpacked = packed.read_only(packed.from_bytes(bytes(data)))
    with _decoded_lock:
        _decoded[key] = (unpacked, _nbytes(unpacked))
        while len(_decoded) > 1 and sum(size for _, size in _decoded.values()) > DECODED_MAX_BYTES:
            _decoded.popitem(last=False)
    return unpacked


def _stored_keys(datasets) -> dict[int, tuple[int, int, int]]:
    """Per import, the id, format version and size in bytes of its stored arrays (not the arrays)."""
    return {
        dataset_id: (pk, version, size)
        for dataset_id, pk, version, size in PopulationValeurs.objects.filter(dataset__in=datasets)
        .annotate(size=Length("donnees"))
        .values_list("dataset_id", "pk", "version", "size")
    }


def _dataset_population(
    dataset: PopulationImport, noms: Mapping[str, str], stored: tuple[int, int, int] | None = None
) -> insee.Population:
    if stored is None:
        stored = _stored_keys([dataset]).get(dataset.pk)
    return packed.to_population(
        _decoded_arrays(dataset, stored),
        tables=dataset.tables,
        noms=noms,
        total_derive=dataset.total_derive,
        millesime=dataset.millesime,
        fichiers=(dataset.fichier,),
    )


def population_of(structure) -> insee.Population | None:
    """The EPN's population: every imported base, merged (``None`` when nothing was imported)."""
    datasets = list(
        PopulationImport.objects.actives().filter(structure=structure).order_by("created_at", "id")
    )
    if not datasets:
        return None
    stored = _stored_keys(datasets)
    # No ORDER BY (the model orders by code): a dict needs none, and sorting 50,000 rows is not free.
    noms = dict(Secteur.objects.filter(structure=structure).order_by().values_list("code", "nom"))
    return insee.merge_populations([_dataset_population(d, noms, stored.get(d.pk)) for d in datasets])


def secteur_noms(structure, codes: Iterable[str] | None = None) -> dict[str, str]:
    """Code → label of the sectors an EPN's pages may name: its IRIS (``Secteur.nom``), its
    communes (the COG's name, else the commune's part of an IRIS name) and its quartiers (whose
    code is their name). ``codes``: only these (one query on the IRIS asked for). See
    ``territoire.libelles``."""
    rows = Secteur.objects.filter(structure=structure).order_by()
    wanted = None if codes is None else {c for c in codes if c}
    if wanted is not None:
        if not wanted:
            return {}
        rows = rows.filter(code__in=[c for c in wanted if libelles.IRIS_CODE.match(c)])
    noms: dict[str, str] = {}
    for code, nom in rows.values_list("code", "nom"):
        noms[code] = libelles.libelle_secteur(code, nom)
        commune = code[:5]
        if commune not in noms:
            noms[commune] = _commune_name(commune, nom if nom != code else "")
    if wanted is None:
        for nom in Quartier.objects.filter(structure=structure).values_list("nom", flat=True):
            noms[nom] = nom
        return noms
    for code in wanted - noms.keys():
        if libelles.COMMUNE_CODE.match(code):
            noms[code] = _commune_name(code, "")
    return {c: n for c, n in noms.items() if c in wanted}


def _commune_name(code: str, iris_nom: str) -> str:
    try:
        return cog.commune(code).nom
    except cog.UnknownCode:
        return libelles.commune_of_nom(iris_nom) if iris_nom else code


def secteur_choices(structure, extra: Iterable[str] = (), noms: Mapping[str, str] | None = None):
    """The sectors a form offers for an EPN, named: its quartiers, then its communes, then its
    IRIS (each « name (code) »), plus the codes already chosen that the territory no longer has."""
    names = dict(noms or {})
    names.update(secteur_noms(structure))
    quartiers = set(Quartier.objects.filter(structure=structure).values_list("nom", flat=True))
    iris = [c for c in names if libelles.IRIS_CODE.match(c) and c not in quartiers]
    communes = [c for c in names if libelles.COMMUNE_CODE.match(c) and c not in quartiers]
    # A territory of one commune has nothing to choose between its communes.
    groups = [("Quartiers", sorted(quartiers))]
    if len(communes) > 1 or not iris:
        groups.append(("Communes", sorted(communes, key=lambda c: names[c])))
    groups.append(("IRIS", sorted(iris, key=lambda c: (names[c], c))))
    choices, offered = [], set()
    for title, codes in groups:
        options = [(c, names[c] if c in quartiers else libelles.OptionLabel(names[c], c)) for c in codes]
        if options:
            choices.append((title, options))
            offered.update(codes)
    others = [(c, libelles.libelle_secteur(c, names.get(c))) for c in extra if c not in offered]
    if others:
        choices.append(("Autres secteurs déjà choisis", others))
    return choices


def known_sector_codes(structure) -> set[str]:
    """IRIS, communes and quartier names an attendance file of this EPN may refer to."""
    codes = set(Secteur.objects.filter(structure=structure).values_list("code", flat=True))
    codes |= {c[:5] for c in codes}
    codes |= set(Quartier.objects.filter(structure=structure).values_list("nom", flat=True))
    return codes


@transaction.atomic
def population_delete(*, acting_user, dataset: PopulationImport) -> None:
    """Withdraw a base from the EPN's population. It is kept, with its figures, among the bases
    withdrawn, and can be restored (``population_restore``); the audit trail records both."""
    dataset.refresh_from_db(fields=["retiree_le"])
    if dataset.retiree_le is not None:
        raise ValidationError(f"La base « {dataset.fichier} » est déjà retirée.")
    audit_record(
        acting_user=acting_user,
        action=AuditAction.DELETE,
        obj=dataset,
        structure=dataset.structure,
        changes={"retiree": True, "fichier": dataset.fichier},
    )
    PopulationImport.objects.filter(pk=dataset.pk).update(retiree_le=timezone.now())


@transaction.atomic
def population_restore(*, acting_user, dataset: PopulationImport) -> PopulationImport:
    """Put a replaced or withdrawn base back in the EPN's population; the active bases that carry
    one of its tables are withdrawn in its place (and can be restored in turn)."""
    dataset.refresh_from_db(fields=["retiree_le"])
    if dataset.retiree_le is None:
        raise ValidationError(f"La base « {dataset.fichier} » fait déjà partie de la population du lieu.")
    structure = dataset.structure
    actives = list(PopulationImport.objects.actives().filter(structure=structure))
    remplacees = [p for p in actives if set(p.tables) & set(dataset.tables)]
    conservees = [p for p in actives if p not in remplacees]
    autres = sorted({p.millesime for p in conservees if p.millesime and p.millesime != dataset.millesime})
    if autres and dataset.millesime:
        raise ValidationError(
            f"La base « {dataset.fichier} » est du millésime {dataset.millesime}, les autres bases du lieu "
            "du millésime " + ", ".join(str(m) for m in autres) + " : retirez-les d'abord."
        )
    now = timezone.now()
    for old in remplacees:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=old,
            structure=structure,
            changes={"retiree": True, "remplacee_par": dataset.fichier},
        )
    PopulationImport.objects.filter(pk__in=[p.pk for p in remplacees]).update(retiree_le=now)
    PopulationImport.objects.filter(pk=dataset.pk).update(retiree_le=None)
    dataset.refresh_from_db()
    population = _dataset_population(
        dataset, dict(Secteur.objects.filter(structure=structure).order_by().values_list("code", "nom"))
    )
    _secteurs_create(structure, population)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=dataset,
        structure=structure,
        changes={"retablie": True, "fichier": dataset.fichier, "remplace": [p.pk for p in remplacees]},
    )
    return dataset


# --- QPV, quartiers, outlines ---------------------------------------------------------------------


def parse_iris_list(text: str) -> list[str]:
    """Codes separated by spaces, commas, semicolons or new lines."""
    return [insee.normalise_iris(c) for c in text.replace(",", " ").replace(";", " ").split() if c.strip()]


def _check_known(structure, codes: Iterable[str], field: str) -> list[str]:
    codes = list(dict.fromkeys(codes))
    known = set(Secteur.objects.filter(structure=structure, code__in=codes).values_list("code", flat=True))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationError(
            {
                field: "Code(s) IRIS inconnu(s) : "
                + ", ".join(unknown[:20])
                + (" …" if len(unknown) > 20 else "")
                + ". Importez d'abord la population de ces IRIS."
            }
        )
    return codes


@transaction.atomic
def secteurs_set_qpv(*, acting_user, structure, codes: Iterable[str], source: str = Secteur.QpvSource.MANUEL):
    """Flag exactly ``codes`` as QPV sectors of ``structure`` (the others lose the flag)."""
    codes = _check_known(structure, codes, "codes")
    secteurs = Secteur.objects.filter(structure=structure)
    before = sorted(secteurs.filter(qpv=True).values_list("code", flat=True))
    secteurs.exclude(code__in=codes).update(qpv=False, qpv_source="")
    secteurs.filter(code__in=codes).update(qpv=True, qpv_source=source)
    after = sorted(codes)
    if before != after:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=structure,
            structure=structure,
            changes={"secteurs_qpv": [before, after], "origine": source},
        )
    return after


@transaction.atomic
def quartier_save(*, acting_user, structure, nom: str, iris: Iterable[str], quartier: Quartier | None = None):
    nom = nom.strip()
    if not nom:
        raise ValidationError({"nom": "Donnez un nom au quartier."})
    codes = _check_known(structure, iris, "iris")
    if not codes:
        raise ValidationError({"iris": "Un quartier regroupe au moins un IRIS."})
    others = Quartier.objects.filter(structure=structure).exclude(pk=quartier.pk if quartier else None)
    taken = {c: q.nom for q in others for c in q.iris if c in codes}
    if taken:
        code, other = next(iter(taken.items()))
        raise ValidationError({"iris": f"L'IRIS {code} appartient déjà au quartier « {other} »."})
    if others.filter(nom=nom).exists():
        raise ValidationError({"nom": f"Un quartier s'appelle déjà « {nom} »."})
    created = quartier is None
    quartier = quartier or Quartier(structure=structure)
    quartier.nom, quartier.iris = nom, codes
    quartier.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=quartier,
        structure=structure,
        changes={"nom": nom, "iris": codes},
    )
    return quartier


@transaction.atomic
def quartiers_import(*, acting_user, structure, mapping: Mapping[str, str]) -> list[Quartier]:
    """Replace the EPN's quartiers by those of a ``code_iris;quartier`` file."""
    _check_known(structure, mapping.keys(), "iris")
    Quartier.objects.filter(structure=structure).delete()
    groups: dict[str, list[str]] = {}
    for code, nom in mapping.items():
        groups.setdefault(nom, []).append(code)
    quartiers = [Quartier.objects.create(structure=structure, nom=n, iris=c) for n, c in groups.items()]
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=structure,
        structure=structure,
        changes={"quartiers": sorted(groups)},
    )
    return quartiers


@transaction.atomic
def quartier_delete(*, acting_user, quartier: Quartier) -> None:
    audit_record(
        acting_user=acting_user, action=AuditAction.DELETE, obj=quartier, structure=quartier.structure
    )
    quartier.delete()


def _contours_version_key(structure_id: int) -> str:
    return f"territoire-contours-version:{structure_id}"


def contours_version(structure_id: int) -> int:
    """Changes whenever the structure's outlines are imported (0 until then)."""
    return cache.get(_contours_version_key(structure_id), 0)


def _placeholder_name(secteur: Secteur) -> bool:
    """A name the INSEE reader made up for want of LIBIRIS: the code, or "Commune (IRIS 0101)"."""
    nom = secteur.nom.strip()
    return not nom or nom == secteur.code or nom.endswith(f"(IRIS {secteur.code[5:]})")


@transaction.atomic
def contours_import(
    *,
    acting_user,
    structure,
    contours: Mapping[str, dict],
    fichier: str,
    noms: Mapping[str, str] | None = None,
) -> int:
    """Store the outline of each sector (GeoJSON geometry); sectors absent from the file keep theirs.

    ``noms``: the IRIS names the outline file carries (IGN's NOM_IRIS); they replace the names an
    INSEE base without LIBIRIS left ("Villeurbanne (IRIS 1101)"), never a real one.
    """
    _check_known(structure, contours.keys(), "contours")
    secteurs = {s.code: s for s in Secteur.objects.filter(structure=structure, code__in=list(contours))}
    renamed = 0
    for code, geometry in contours.items():
        secteur = secteurs[code]
        secteur.contour = geometry
        nom = (noms or {}).get(code, "").strip()
        if nom and _placeholder_name(secteur):
            secteur.nom = nom[:200]
            renamed += 1
    Secteur.objects.bulk_update(list(secteurs.values()), ["contour", "nom"], batch_size=500)
    # Pages that keep a rendering with the map (the diagnostic page) see the new outlines.
    transaction.on_commit(lambda: cache.set(_contours_version_key(structure.pk), time.time_ns(), None))
    changes = {"contours": len(secteurs), "fichier": fichier}
    if renamed:
        changes["noms_repris"] = renamed
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=structure,
        structure=structure,
        changes=changes,
    )
    return len(secteurs)


# --- Table de passage between IRIS geographies ------------------------------------------------------


@transaction.atomic
def passage_replace(*, acting_user, structure, correspondances: Mapping[str, str], fichier: str):
    """Keep ``correspondances`` (``insee.read_passage_iris``) as the EPN's table de passage."""
    passage, _ = PassageIris.objects.update_or_create(
        structure=structure,
        defaults={
            "fichier": fichier[:255],
            "correspondances": dict(correspondances),
            "created_by": acting_user if acting_user is not None and acting_user.is_authenticated else None,
        },
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=passage,
        structure=structure,
        changes={"fichier": fichier, "codes": len(correspondances)},
    )
    return passage


@transaction.atomic
def passage_delete(*, acting_user, structure) -> None:
    passage = PassageIris.objects.filter(structure=structure).first()
    if passage is None:
        return
    audit_record(acting_user=acting_user, action=AuditAction.DELETE, obj=passage, structure=structure)
    passage.delete()


def passage_of(structure) -> dict[str, str] | None:
    """The EPN's table de passage (``None`` without one)."""
    return PassageIris.objects.filter(structure=structure).values_list("correspondances", flat=True).first()
