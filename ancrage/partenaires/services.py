"""Writes on the partner directory: entries, contacts, imports. Each is atomic and audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record, model_changes, snapshot
from ancrage.core.importing import ImportIssue
from ancrage.organisations import cog
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission
from ancrage.organisations.scoping import check_may
from ancrage.organisations.services import structure_create, structure_update
from ancrage.partenaires import standard
from ancrage.partenaires.identifiers import InvalidIdentifier, pivot_kind, validate_rna, validate_siret
from ancrage.partenaires.models import (
    STANDARD_LIST_FIELDS,
    STANDARD_TEXT_FIELDS,
    Contact,
    ImportAnnuaire,
    Partenaire,
)

NOM_MAX_LENGTH = Structure._meta.get_field("nom").max_length

PARTENAIRE_FIELDS = (
    "identifiant",
    "typologies",
    "siret",
    "rna",
    "autre_identifiant",
    "adresse",
    "code_postal",
    "commune",
    "code_insee",
    "latitude",
    "longitude",
    "telephone",
    "date_maj",
    *STANDARD_TEXT_FIELDS,
    *STANDARD_LIST_FIELDS,
    "familles",
    "publics_touches",
    "secteurs",
    "savoir_faire",
    "notes",
    "hors_standard",
)


def _check_writable(acting_user, epn: Structure) -> None:
    """Only the staff of the EPN (animateur, responsable) write in its directory."""
    check_may(acting_user, Permission.ANNUAIRE_WRITE, epn.pk)


def _clean_identifiers(fields: dict) -> None:
    errors = {}
    for name, validate in (("siret", validate_siret), ("rna", validate_rna)):
        value = (fields.get(name) or "").strip()
        if value:
            try:
                fields[name] = validate(value)
            except InvalidIdentifier as error:
                errors[name] = str(error)
        else:
            fields[name] = ""
    if errors:
        raise ValidationError(errors)


def find_duplicate(*, epn: Structure, nom: str, commune: str, siret: str = "", exclude_pk=None):
    """The entry of the EPN's directory this one would duplicate, with the reason, or None."""
    entries = Partenaire.objects.of_epn(epn).select_related("structure")
    if exclude_pk is not None:
        entries = entries.exclude(pk=exclude_pk)
    if siret:
        existing = entries.filter(siret=siret).first()
        if existing:
            return existing, "siret"
    key = standard.name_commune_key(nom, commune)
    if key.split("@")[0]:
        for existing in entries:
            if standard.name_commune_key(existing.nom, existing.commune) == key:
                return existing, "nom"
    return None


def duplicate_message(existing: Partenaire, reason: str) -> str:
    if reason == "siret":
        return (
            f"Ce SIRET est déjà celui de « {existing.nom} » dans l’annuaire "
            f"(fiche n° {existing.pk}) : complétez cette fiche plutôt que d’en créer une autre."
        )
    return (
        f"« {existing.nom} » existe déjà à {existing.commune or 'cette commune'} dans l’annuaire "
        f"(fiche n° {existing.pk}) : complétez cette fiche plutôt que d’en créer une autre."
    )


def _code_commune(code_insee: str) -> str:
    """The COG commune of the Structure, when the standard's code INSEE is a known commune."""
    if not code_insee:
        return ""
    try:
        cog.commune(code_insee)
    except cog.UnknownCode:
        return ""
    return code_insee


@transaction.atomic
def partenaire_create(*, acting_user, epn: Structure, nom: str, **fields) -> Partenaire:
    """Create a partner organisation and its directory entry in the EPN's directory.

    Refuses a duplicate (same SIRET, or same name in the same commune) with a message naming the
    existing entry.
    """
    _check_writable(acting_user, epn)
    unknown = set(fields) - set(PARTENAIRE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown partenaire fields: {sorted(unknown)}")
    nom = (nom or "").strip()
    if not nom:
        raise ValidationError({"nom": "Le nom est obligatoire."})
    _clean_identifiers(fields)
    # An entry typed in Ancrage is up to date today; an imported one keeps its file's date.
    fields.setdefault("date_maj", timezone.localdate())
    duplicate = find_duplicate(epn=epn, nom=nom, commune=fields.get("commune", ""), siret=fields["siret"])
    if duplicate:
        raise ValidationError({"nom" if duplicate[1] == "nom" else "siret": duplicate_message(*duplicate)})
    structure = structure_create(
        acting_user=acting_user,
        reseau=epn.reseau,
        nom=nom,
        kind=StructureKind.PARTENAIRE,
        typologie="|".join(fields.get("typologies") or [])[:100],
        code_commune=_code_commune(fields.get("code_insee", "")),
        siret=fields["siret"],
        referencee_par=epn,
    )
    return _create_entry(acting_user=acting_user, structure=structure, fields=fields)


def _create_entry(*, acting_user, structure: Structure, fields: dict) -> Partenaire:
    partenaire = Partenaire.objects.create(structure=structure, **fields)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=partenaire,
        structure=structure.referencee_par,
        changes=model_changes(partenaire, PARTENAIRE_FIELDS, {}),
    )
    return partenaire


@transaction.atomic
def partenaire_fiche_create(*, acting_user, structure: Structure, **fields) -> Partenaire:
    """Give an existing partner organisation (created without one) its directory entry."""
    if structure.kind != StructureKind.PARTENAIRE or structure.referencee_par_id is None:
        raise ValidationError(
            "Seule une organisation partenaire référencée par un EPN a une fiche d’annuaire."
        )
    _check_writable(acting_user, structure.referencee_par)
    unknown = set(fields) - set(PARTENAIRE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown partenaire fields: {sorted(unknown)}")
    if Partenaire.objects.filter(structure=structure).exists():
        raise ValidationError(f"« {structure.nom} » a déjà sa fiche dans l’annuaire.")
    fields.setdefault("siret", structure.siret)
    _clean_identifiers(fields)
    duplicate = find_duplicate(
        epn=structure.referencee_par,
        nom=structure.nom,
        commune=fields.get("commune", ""),
        siret=fields["siret"],
    )
    if duplicate:
        raise ValidationError(duplicate_message(*duplicate))
    return _create_entry(acting_user=acting_user, structure=structure, fields=fields)


@transaction.atomic
def partenaire_update(*, acting_user, partenaire: Partenaire, nom: str | None = None, **fields) -> Partenaire:
    epn = partenaire.epn
    _check_writable(acting_user, epn)
    unknown = set(fields) - set(PARTENAIRE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown partenaire fields: {sorted(unknown)}")
    fields.setdefault("siret", partenaire.siret)
    fields.setdefault("rna", partenaire.rna)
    fields.setdefault("date_maj", timezone.localdate())
    _clean_identifiers(fields)
    new_nom = (nom if nom is not None else partenaire.nom).strip()
    if not new_nom:
        raise ValidationError({"nom": "Le nom est obligatoire."})
    duplicate = find_duplicate(
        epn=epn,
        nom=new_nom,
        commune=fields.get("commune", partenaire.commune),
        siret=fields["siret"],
        exclude_pk=partenaire.pk,
    )
    if duplicate:
        raise ValidationError({"nom" if duplicate[1] == "nom" else "siret": duplicate_message(*duplicate)})
    before = snapshot(partenaire, PARTENAIRE_FIELDS)
    for name, value in fields.items():
        setattr(partenaire, name, value)
    partenaire.save()
    structure_update(
        acting_user=acting_user,
        structure=partenaire.structure,
        nom=new_nom,
        typologie="|".join(partenaire.typologies)[:100],
        siret=partenaire.siret,
        code_commune=_code_commune(partenaire.code_insee),
    )
    changes = model_changes(partenaire, PARTENAIRE_FIELDS, before)
    if changes:
        audit_record(
            acting_user=acting_user, action=AuditAction.UPDATE, obj=partenaire, structure=epn, changes=changes
        )
    return partenaire


CONTACT_FIELDS = ("nom", "fonction", "courriel", "telephone", "notes")


@transaction.atomic
def contact_create(*, acting_user, partenaire: Partenaire, nom: str, **fields) -> Contact:
    _check_writable(acting_user, partenaire.epn)
    contact = Contact.objects.create(partenaire=partenaire, nom=nom.strip(), **fields)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE,
        obj=contact,
        structure=partenaire.epn,
        changes={"partenaire": partenaire.nom, **model_changes(contact, CONTACT_FIELDS, {})},
    )
    return contact


@transaction.atomic
def contact_delete(*, acting_user, contact: Contact) -> None:
    epn = contact.partenaire.epn
    _check_writable(acting_user, epn)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.DELETE,
        obj=contact,
        structure=epn,
        changes={"partenaire": contact.partenaire.nom, "nom": contact.nom},
    )
    contact.delete()


# --------------------------------------------------------------------------------------------
# The EPN's own place, as the standard describes it (for the Cartographie nationale)
# --------------------------------------------------------------------------------------------

LIEU_EPN_FIELDS = tuple(
    name for name in PARTENAIRE_FIELDS if name not in ("secteurs", "notes", "hors_standard")
)


def lieu_epn_of(epn: Structure) -> Partenaire | None:
    """The EPN's own place (a ``Partenaire`` row whose organisation is the EPN itself), if any.

    It never shows in a directory: directories list the organisations an EPN references
    (``of_epn``), and an EPN references no one's place but its partners'."""
    return Partenaire.objects.filter(structure=epn).select_related("structure").first()


@transaction.atomic
def lieu_epn_save(*, acting_user, epn: Structure, **fields) -> Partenaire:
    """Create or update the EPN's own place: its address, coordinates, services, publics… as the
    national standard describes a lieu de médiation numérique. Its coordinates also measure the
    distance of each partner in the recommendations."""
    if epn.kind != StructureKind.EPN:
        raise ValidationError("Seul un lieu de médiation numérique (EPN) a sa propre fiche de lieu.")
    _check_writable(acting_user, epn)
    unknown = set(fields) - set(LIEU_EPN_FIELDS)
    if unknown:
        raise TypeError(f"Unknown lieu fields: {sorted(unknown)}")
    lieu = Partenaire.objects.select_for_update().filter(structure=epn).first()
    fields.setdefault("siret", lieu.siret if lieu else epn.siret)
    fields.setdefault("rna", lieu.rna if lieu else "")
    fields["date_maj"] = timezone.localdate()
    _clean_identifiers(fields)
    if lieu is None:
        lieu = Partenaire.objects.create(structure=epn, **fields)
        audit_record(
            acting_user=acting_user,
            action=AuditAction.CREATE,
            obj=lieu,
            structure=epn,
            changes={"objet": "lieu de l’EPN", **model_changes(lieu, LIEU_EPN_FIELDS, {})},
        )
        return lieu
    before = snapshot(lieu, LIEU_EPN_FIELDS)
    for name, value in fields.items():
        setattr(lieu, name, value)
    lieu.save()
    changes = model_changes(lieu, LIEU_EPN_FIELDS, before)
    if changes:
        audit_record(
            acting_user=acting_user,
            action=AuditAction.UPDATE,
            obj=lieu,
            structure=epn,
            changes={"objet": "lieu de l’EPN", **changes},
        )
    return lieu


# --------------------------------------------------------------------------------------------
# The national standard: a directory entry <-> a Lieu
# --------------------------------------------------------------------------------------------


def lieu_of(partenaire: Partenaire) -> standard.Lieu:
    """The entry as a place of the standard (what the exports write)."""
    values = {name: getattr(partenaire, name) for name in (*STANDARD_TEXT_FIELDS, *STANDARD_LIST_FIELDS)}
    return standard.lieu_from_values(
        id=partenaire.identifiant or f"ancrage-{partenaire.pk}",
        nom=partenaire.nom,
        commune=partenaire.commune,
        code_postal=partenaire.code_postal,
        adresse=partenaire.adresse,
        pivot=partenaire.pivot,
        code_insee=partenaire.code_insee,
        latitude=partenaire.latitude,
        longitude=partenaire.longitude,
        typologie=partenaire.typologies,
        telephone=partenaire.telephone,
        # None is written as the standard's placeholder date, which reads back as None.
        date_maj=partenaire.date_maj,
        **values,
    )


def fields_of(lieu: standard.Lieu) -> dict:
    """The entry's fields for a place read from a file of the standard."""
    kind = pivot_kind(lieu.pivot) if lieu.pivot else None
    fields = {
        "identifiant": lieu.id,
        "typologies": list(lieu.typologie),
        "siret": lieu.pivot if kind == "siret" else "",
        "rna": lieu.pivot if kind == "rna" else "",
        "autre_identifiant": lieu.pivot if lieu.pivot and kind not in ("siret", "rna") else "",
        "adresse": lieu.adresse,
        "code_postal": lieu.code_postal,
        "commune": lieu.commune,
        "code_insee": lieu.code_insee,
        "latitude": lieu.latitude,
        "longitude": lieu.longitude,
        "telephone": lieu.telephone,
        "date_maj": lieu.date_maj,
        "hors_standard": [list(pair) for pair in lieu.legacy],
    }
    for name in STANDARD_TEXT_FIELDS:
        fields[name] = getattr(lieu, name)
    for name in STANDARD_LIST_FIELDS:
        fields[name] = list(getattr(lieu, name))
    return fields


def export_lieux(partenaires) -> list[standard.Lieu]:
    return [lieu_of(partenaire) for partenaire in partenaires]


# --------------------------------------------------------------------------------------------
# Import: read, check every place, show a dry run, then apply in one transaction
# --------------------------------------------------------------------------------------------


@dataclass
class ImportPlan:
    """What an import would do: the places to create, and every line left out with its reason."""

    to_create: list[standard.Lieu] = field(default_factory=list)
    rejected: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    records_read: int = 0

    def as_json(self) -> dict:
        return {
            "lus": self.records_read,
            "a_creer": [{"nom": lieu.nom, "commune": lieu.commune, "id": lieu.id} for lieu in self.to_create],
            "rejetes": [str(issue) for issue in self.rejected],
            "avertissements": [str(issue) for issue in self.warnings],
        }


def detect_format(filename: str, data: bytes) -> str:
    name = filename.lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    return "json" if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{") else "csv"


def plan_import(*, epn: Structure, data: bytes, filename: str, fmt: str | None = None) -> ImportPlan:
    """The dry run. Raises ``ImportRejected`` when the file cannot be read at all."""
    fmt = fmt or detect_format(filename, data)
    reader = standard.read_cartographie_json if fmt == "json" else standard.read_csv
    result = reader(data, file=filename)
    plan = ImportPlan(rejected=list(result.rejected), warnings=list(result.warnings))
    plan.records_read = result.records_read
    existing = list(Partenaire.objects.of_epn(epn).select_related("structure"))
    by_siret = {p.siret: p for p in existing if p.siret}
    by_name = {standard.name_commune_key(p.nom, p.commune): p for p in existing}
    in_file_siret: dict[str, standard.Lieu] = {}
    in_file_name: dict[str, standard.Lieu] = {}
    for lieu in result.lieux:
        key = standard.name_commune_key(lieu.nom, lieu.commune)
        label = f"« {lieu.nom} » (id {lieu.id})"
        if len(lieu.nom) > NOM_MAX_LENGTH:
            reason = f"le nom dépasse {NOM_MAX_LENGTH} caractères."
        elif lieu.siret and lieu.siret in by_siret:
            reason = f"même SIRET que « {by_siret[lieu.siret].nom} », déjà dans l’annuaire."
        elif key in by_name:
            reason = f"même nom et même commune que « {by_name[key].nom} », déjà dans l’annuaire."
        elif lieu.siret and lieu.siret in in_file_siret:
            reason = f"même SIRET que « {in_file_siret[lieu.siret].nom} », plus haut dans le fichier."
        elif key in in_file_name:
            reason = (
                f"même nom et même commune que la fiche id {in_file_name[key].id}, plus haut dans le fichier."
            )
        else:
            reason = None
        if reason:
            plan.rejected.append(ImportIssue(f"{label} non importé : {reason}", file=filename))
            continue
        if lieu.siret:
            in_file_siret[lieu.siret] = lieu
        in_file_name[key] = lieu
        plan.to_create.append(lieu)
    return plan


@transaction.atomic
def annuaire_import_prepare(*, acting_user, epn: Structure, data: bytes, filename: str) -> ImportAnnuaire:
    """Keep the uploaded file and its dry run; nothing enters the directory yet.

    Raises ``ImportRejected`` when the file cannot be read at all: then nothing is kept.
    """
    _check_writable(acting_user, epn)
    fmt = detect_format(filename, data)
    plan = plan_import(epn=epn, data=data, filename=filename, fmt=fmt)
    batch = ImportAnnuaire.objects.create(
        structure=epn,
        nom_fichier=filename[:255],
        format=fmt,
        contenu=data,
        resultat=plan.as_json(),
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    return batch


@transaction.atomic
def annuaire_import_apply(*, acting_user, batch: ImportAnnuaire) -> list[Partenaire]:
    """Create every place the dry run accepts, all or nothing."""
    epn = batch.structure
    _check_writable(acting_user, epn)
    batch = ImportAnnuaire.objects.select_for_update().get(pk=batch.pk)
    if batch.statut != ImportAnnuaire.Statut.APERCU:
        raise ValidationError("Ce fichier a déjà été importé.")
    # Planned again: the directory may have changed since the preview.
    plan = plan_import(epn=epn, data=bytes(batch.contenu), filename=batch.nom_fichier, fmt=batch.format)
    created = [
        partenaire_create(acting_user=acting_user, epn=epn, nom=lieu.nom, **fields_of(lieu))
        for lieu in plan.to_create
    ]
    batch.statut = ImportAnnuaire.Statut.APPLIQUE
    batch.resultat = {**plan.as_json(), "crees": len(created)}
    batch.save(update_fields=["statut", "resultat"])
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=batch,
        structure=epn,
        changes={"fichier": batch.nom_fichier, "crees": len(created), "rejetes": len(plan.rejected)},
    )
    return created


def import_directly(*, acting_user, epn: Structure, data: bytes, filename: str) -> list[Partenaire]:
    """Prepare then apply at once (command line, tests)."""
    batch = annuaire_import_prepare(acting_user=acting_user, epn=epn, data=data, filename=filename)
    return annuaire_import_apply(acting_user=acting_user, batch=batch)
