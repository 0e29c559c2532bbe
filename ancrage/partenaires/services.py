"""Writes on the partner directory: entries, contacts, imports. Each is atomic and audited."""

from __future__ import annotations

import re
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

#: A directory entry's fields that the national standard carries.
STANDARD_FIELDS = (
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
)

PARTENAIRE_FIELDS = (
    *STANDARD_FIELDS,
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


def find_duplicate(
    *, epn: Structure, nom: str, commune: str, siret: str = "", adresse: str = "", exclude_pk=None
):
    """The entry of the EPN's directory this one would duplicate, with the reason, or None.

    Same SIRET *at the same address of the same commune* (the standard lets one SIRET have places
    in several communes), or same name in the same commune.
    """
    entries = Partenaire.objects.of_epn(epn).select_related("structure")
    if exclude_pk is not None:
        entries = entries.exclude(pk=exclude_pk)
    if siret:
        here = (standard.commune_key(commune), standard.address_key(adresse, "", commune))
        for existing in entries.filter(siret=siret):
            there = (
                standard.commune_key(existing.commune),
                standard.address_key(existing.adresse, existing.code_postal, existing.commune),
            )
            if there == here:
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
            f"Ce SIRET, à cette adresse, est déjà celui de « {existing.nom} » dans l’annuaire "
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
    duplicate = find_duplicate(
        epn=epn,
        nom=nom,
        commune=fields.get("commune", ""),
        siret=fields["siret"],
        adresse=fields.get("adresse", ""),
    )
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
        adresse=fields.get("adresse", ""),
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
        adresse=fields.get("adresse", partenaire.adresse),
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


#: The downloads of a directory: the standard's CSV and JSON (to the letter: no BOM, no formula
#: escape, so that ``+33492913860`` and ``-0.239218`` stay what the schema expects), and the
#: "tableur" CSV for spreadsheets (BOM, formulas escaped: ``'+33…``), which is not the standard.
EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", ".csv"),
    "json": ("application/json; charset=utf-8", ".json"),
    "tableur": ("text/csv; charset=utf-8", "-tableur.csv"),
}


def export_bytes(lieux: list[standard.Lieu], fmt: str) -> bytes:
    """The places as a download in ``fmt`` (``EXPORT_FORMATS``); raises ``StandardExportError``
    if the standard's CSV would not validate."""
    if fmt == "csv":
        return standard.write_csv_bytes(lieux)
    if fmt == "json":
        return standard.write_cartographie_json(lieux).encode("utf-8")
    if fmt == "tableur":
        return standard.write_csv_bytes(lieux, bom=True, escape_formulas=True)
    raise ValueError(f"Unknown export format {fmt!r}")


def annuaire_export(*, acting_user, epn: Structure, fmt: str, entries=None) -> bytes:
    """The EPN's directory as a download, logged: it holds contact details that may be a
    person's. ``entries``: the entries the caller may see (all of the EPN's by default)."""
    if entries is None:
        entries = Partenaire.objects.of_epn(epn)
    lieux = export_lieux(entries.select_related("structure").order_by("structure__nom", "pk"))
    body = export_bytes(lieux, fmt)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.EXPORT,
        obj=epn,
        structure=epn,
        changes={"objet": "annuaire des partenaires", "format": fmt, "lieux": len(lieux)},
    )
    return body


def lieu_epn_export(*, acting_user, epn: Structure, lieu: Partenaire, fmt: str) -> bytes:
    """The EPN's own place, in the standard (for the Cartographie nationale), logged like the
    directory's exports and written by the same writer."""
    body = export_bytes([lieu_of(lieu)], fmt)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.EXPORT,
        obj=epn,
        structure=epn,
        changes={"objet": "lieu de l’EPN", "format": fmt, "lieux": 1},
    )
    return body


# --------------------------------------------------------------------------------------------
# Import: read, match every place by indexed keys, show the analysis, then apply in one transaction
# --------------------------------------------------------------------------------------------

#: What the user may decide for a doubtful place (the review list of the analysis).
DECISION_IGNORER = "ignorer"
DECISION_DISTINCT = "distinct"
DECISION_FUSIONNER = "fusionner"
DECISIONS = {
    DECISION_IGNORER: "Laisser de côté",
    DECISION_DISTINCT: "Importer comme un lieu distinct",
    DECISION_FUSIONNER: "Fusionner avec l’autre lieu",
}

#: The fields an update from a file refreshes: the standard's. What Ancrage adds (familles,
#: publics touchés, secteurs, savoir-faire, notes) is the EPN's own and is never touched.
UPDATED_FIELDS = (
    *STANDARD_FIELDS,
    "hors_standard",
)

_RECORD_NUMBER = re.compile(r"^Lieu n° (\d+)")


def _issue_json(issue: ImportIssue) -> dict:
    """A refused row, located: file, row (a CSV line, or the n-th place of a JSON array), column."""
    ligne = f"ligne {issue.line}" if issue.line is not None else ""
    found = _RECORD_NUMBER.match(issue.message)
    if not ligne and found:
        ligne = f"lieu n° {found.group(1)}"
    return {
        "fichier": issue.file or "",
        "ligne": ligne,
        "colonne": issue.column or "",
        "raison": issue.message,
    }


@dataclass
class _Target:
    """One entry the import writes: created from ``lieu``, or the entry ``pk`` updated with it."""

    lieu: standard.Lieu
    pk: int | None = None
    sources: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    """What an import would do: the entries to create and update, the places merged, the doubtful
    pairs to review, and every place left out with its reason."""

    targets: list[_Target] = field(default_factory=list)
    merged: list[dict] = field(default_factory=list)
    doubtful: list[dict] = field(default_factory=list)
    rejected: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    records_read: int = 0
    changes: dict[int, list[str]] = field(default_factory=dict)

    @property
    def to_create(self) -> list[standard.Lieu]:
        return [target.lieu for target in self.targets if target.pk is None]

    @property
    def to_update(self) -> list[_Target]:
        return [target for target in self.targets if target.pk is not None]

    def as_json(self) -> dict:
        return {
            "lus": self.records_read,
            "a_creer": [
                {"nom": lieu.nom, "commune": lieu.commune, "id": lieu.id, "pivot": lieu.pivot}
                for lieu in self.to_create
            ],
            "a_mettre_a_jour": [
                {
                    "nom": target.lieu.nom,
                    "commune": target.lieu.commune,
                    "id": target.lieu.id,
                    "fiche": target.pk,
                    "champs": self.changes.get(target.pk, []),
                }
                for target in self.to_update
            ],
            "fusions": self.merged,
            "douteux": self.doubtful,
            "rejetes": [_issue_json(issue) for issue in self.rejected],
            "avertissements": [str(issue) for issue in self.warnings],
        }


def detect_format(filename: str, data: bytes) -> str:
    name = filename.lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    return "json" if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{") else "csv"


def _read(data: bytes, filename: str, fmt: str) -> standard.ImportResult:
    reader = standard.read_cartographie_json if fmt == "json" else standard.read_csv
    return reader(data, file=filename)


#: What the index of a directory reads of each entry: a few text columns, none of the JSON lists.
_INDEX_COLUMNS = (
    "pk",
    "structure__nom",
    "commune",
    "adresse",
    "code_postal",
    "siret",
    "rna",
    "autre_identifiant",
    "identifiant",
)


def _directory_index(epn: Structure) -> standard.DirectoryIndex:
    """The index of the EPN's directory, from one query over a few text columns."""
    index = standard.DirectoryIndex()
    rows = Partenaire.objects.of_epn(epn).order_by("pk").values_list(*_INDEX_COLUMNS)
    for pk, nom, commune, adresse, code_postal, siret, rna, autre, identifiant in rows.iterator(2000):
        index.add(
            standard.Known(
                nom=nom,
                commune=commune,
                adresse=adresse,
                code_postal=code_postal,
                pivot=siret or rna or autre,
                identifiant=identifiant,
                ref=pk,
            )
        )
    return index


def _known_in_file(lieu: standard.Lieu) -> standard.Known:
    return standard.Known(
        nom=lieu.nom,
        commune=lieu.commune,
        adresse=lieu.adresse,
        code_postal=lieu.code_postal,
        pivot=lieu.pivot,
        identifiant=lieu.id,
        lieu=lieu,
    )


def _updated_values(partenaire: Partenaire, lieu: standard.Lieu) -> dict:
    """The fields a place of the file changes in an entry: non-empty values replace, empty ones
    never erase what the EPN typed."""
    values = {}
    for name, value in fields_of(lieu).items():
        if name not in UPDATED_FIELDS or value in ("", None, [], ()):
            continue
        if name == "identifiant" and partenaire.identifiant:
            continue
        if getattr(partenaire, name) != value:
            values[name] = value
    return values


def _describe(known: standard.Known) -> dict:
    """The other place of a doubtful pair: a place higher in the file (its id) or an entry (its pk)."""
    return {
        "nom": known.nom,
        "commune": known.commune,
        "adresse": known.adresse,
        "id": known.identifiant if known.in_file else "",
        "fiche": None if known.in_file else known.ref,
    }


def _strongest(in_directory: standard.Match, in_file: standard.Match) -> standard.Match:
    """An entry of the directory that is surely this place wins; then a place of the file that
    surely is; then a doubtful pair (the file's first)."""
    if in_directory.kind == "maj":
        return in_directory
    if in_file.kind != "nouveau":
        return in_file
    return in_directory


def plan_import(
    *,
    epn: Structure,
    data: bytes,
    filename: str,
    fmt: str | None = None,
    decisions: dict[str, str] | None = None,
    progress=None,
) -> ImportPlan:
    """The dry run. Raises ``ImportRejected`` when the file cannot be read at all.

    Every place is matched against an index of the directory and of the places above it in the
    file (``standard.DirectoryIndex``): the cost is linear in the file and in the directory.
    ``decisions`` gives the user's choice for doubtful places, by their ``id`` in the file
    (``DECISIONS``; a place without one is left out). ``progress(done, total)`` is called as the
    places are matched.
    """
    fmt = fmt or detect_format(filename, data)
    decisions = decisions or {}
    result = _read(data, filename, fmt)
    plan = ImportPlan(rejected=list(result.rejected), warnings=list(result.warnings))
    plan.records_read = result.records_read
    directory = _directory_index(epn)
    in_file = standard.DirectoryIndex()
    by_entry: dict[int, _Target] = {}  # the update of each entry, so that two places merge into one
    by_source: dict[str, _Target] = {}  # the target of each place of the file, by its id
    total = len(result.lieux)
    for done, lieu in enumerate(result.lieux, start=1):
        if progress is not None:
            progress(done, total)
        if len(lieu.nom) > NOM_MAX_LENGTH:
            plan.rejected.append(
                ImportIssue(
                    f"« {lieu.nom[:60]}… » (id {lieu.id}) non importé : le nom dépasse "
                    f"{NOM_MAX_LENGTH} caractères.",
                    file=filename,
                    column="nom",
                )
            )
            continue
        match = _strongest(directory.match(lieu), in_file.match(lieu))
        if match.kind == "douteux":
            decision = decisions.get(lieu.id, DECISION_IGNORER)
            plan.doubtful.append(
                {
                    "id": lieu.id,
                    "nom": lieu.nom,
                    "commune": lieu.commune,
                    "adresse": lieu.adresse,
                    "pivot": lieu.pivot,
                    "raison": match.reason,
                    "avec": _describe(match.other),
                    "decision": decision,
                    "decision_label": DECISIONS.get(decision, decision),
                }
            )
            if decision == DECISION_IGNORER:
                continue
            if decision == DECISION_DISTINCT:
                match = standard.Match("nouveau")
            else:
                match = standard.Match("fusion" if match.other.in_file else "maj", match.other, match.reason)
        if match.kind == "fusion":
            target = by_source[match.other.identifiant]
            target.lieu = standard.merge_lieux(target.lieu, lieu)
            target.sources.append(lieu.id)
            by_source[lieu.id] = target
            plan.merged.append(
                {
                    "id": lieu.id,
                    "nom": lieu.nom,
                    "commune": lieu.commune,
                    "dans": match.other.identifiant,
                    "dans_nom": match.other.nom,
                    "raison": match.reason,
                }
            )
            continue
        if match.kind == "maj":
            target = by_entry.get(match.other.ref)
            if target is not None:
                target.lieu = standard.merge_lieux(target.lieu, lieu)
                target.sources.append(lieu.id)
                plan.merged.append(
                    {
                        "id": lieu.id,
                        "nom": lieu.nom,
                        "commune": lieu.commune,
                        "dans": target.lieu.id,
                        "dans_nom": match.other.nom,
                        "raison": match.reason,
                    }
                )
            else:
                target = _Target(lieu=lieu, pk=match.other.ref, sources=[lieu.id])
                by_entry[match.other.ref] = target
                plan.targets.append(target)
            by_source[lieu.id] = target
            in_file.add(_known_in_file(lieu))
            continue
        target = _Target(lieu=lieu, sources=[lieu.id])
        plan.targets.append(target)
        by_source[lieu.id] = target
        in_file.add(_known_in_file(lieu))
    # Only the entries the file updates are read whole, to say which of their fields change.
    existing = Partenaire.objects.select_related("structure").in_bulk([t.pk for t in plan.to_update])
    for target in plan.to_update:
        plan.changes[target.pk] = sorted(_updated_values(existing[target.pk], target.lieu))
    return plan


def _submitter(acting_user):
    return acting_user if acting_user is not None and acting_user.is_authenticated else None


@transaction.atomic
def annuaire_import_submit(*, acting_user, epn: Structure, data: bytes, filename: str) -> ImportAnnuaire:
    """Keep the uploaded file and queue its analysis (a background job); nothing enters the
    directory before the user confirms. Raises ``TooManyImports`` when the EPN already has
    ``ANCRAGE_IMPORT_MAX_ACTIVE`` imports waiting or running."""
    _check_writable(acting_user, epn)
    from ancrage.partenaires import jobs

    jobs.QUEUE.check_room(epn)
    batch = ImportAnnuaire.objects.create(
        structure=epn,
        nom_fichier=filename[:255],
        format=detect_format(filename, data),
        contenu=data,
        created_by=_submitter(acting_user),
    )
    jobs.QUEUE.schedule(batch.pk)
    return batch


def annuaire_import_analyse(*, batch: ImportAnnuaire, progress=None) -> dict:
    """The analysis of a kept file, as the page shows it. Raises ``ImportRejected``."""
    plan = plan_import(
        epn=batch.structure,
        data=bytes(batch.contenu),
        filename=batch.nom_fichier,
        fmt=batch.format,
        decisions=batch.decisions,
        progress=progress,
    )
    return plan.as_json()


@transaction.atomic
def annuaire_import_confirm(*, acting_user, batch: ImportAnnuaire, decisions: dict[str, str]) -> bool:
    """Queue the import of an analysed file, with the user's choice for each doubtful place;
    raises ``TooManyImports`` like ``annuaire_import_submit``."""
    _check_writable(acting_user, batch.structure)
    from ancrage.partenaires import jobs

    if batch.state == ImportAnnuaire.State.PRET:
        jobs.QUEUE.check_room(batch.structure, exclude_pk=batch.pk)
    clean = {str(key): value for key, value in decisions.items() if value in DECISIONS}
    updated = ImportAnnuaire.objects.filter(pk=batch.pk, state=ImportAnnuaire.State.PRET).update(
        state=ImportAnnuaire.State.IMPORT_DEMANDE,
        decisions=clean,
        progress_done=0,
        progress_total=0,
        updated_at=timezone.now(),
    )
    if updated:
        jobs.QUEUE.schedule(batch.pk)
    return bool(updated)


@transaction.atomic
def annuaire_import_cancel(*, acting_user, batch: ImportAnnuaire) -> bool:
    _check_writable(acting_user, batch.structure)
    return bool(
        ImportAnnuaire.objects.filter(
            pk=batch.pk, state__in=[ImportAnnuaire.State.PRET, ImportAnnuaire.State.REFUSE]
        ).update(state=ImportAnnuaire.State.ANNULE, contenu=b"")
    )


def _create_from_lieu(*, acting_user, epn: Structure, lieu: standard.Lieu) -> Partenaire:
    """Create the organisation and entry of a place already matched against the directory (the
    plan did it, by indexed keys: no per-row scan of the directory here)."""
    fields = fields_of(lieu)
    _clean_identifiers(fields)
    structure = structure_create(
        acting_user=acting_user,
        reseau=epn.reseau,
        nom=lieu.nom,
        kind=StructureKind.PARTENAIRE,
        typologie="|".join(fields.get("typologies") or [])[:100],
        code_commune=_code_commune(fields.get("code_insee", "")),
        siret=fields["siret"],
        referencee_par=epn,
    )
    structure.referencee_par = epn
    return _create_entry(acting_user=acting_user, structure=structure, fields=fields)


def _update_from_lieu(*, acting_user, partenaire: Partenaire, lieu: standard.Lieu) -> bool:
    values = _updated_values(partenaire, lieu)
    if not values:
        return False
    before = snapshot(partenaire, PARTENAIRE_FIELDS)
    for name, value in values.items():
        setattr(partenaire, name, value)
    partenaire.save()
    if "typologies" in values or "siret" in values or "code_insee" in values:
        structure_update(
            acting_user=acting_user,
            structure=partenaire.structure,
            typologie="|".join(partenaire.typologies)[:100],
            siret=partenaire.siret,
            code_commune=_code_commune(partenaire.code_insee),
        )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=partenaire,
        structure=partenaire.structure.referencee_par,
        changes=model_changes(partenaire, PARTENAIRE_FIELDS, before),
    )
    return True


@dataclass
class ImportOutcome:
    created: list[Partenaire] = field(default_factory=list)
    updated: list[Partenaire] = field(default_factory=list)
    plan: ImportPlan | None = None


def apply_plan(*, acting_user, epn: Structure, plan: ImportPlan, progress=None) -> ImportOutcome:
    """Write what ``plan`` says, in the caller's transaction. ``progress(done, total)`` as it goes."""
    _check_writable(acting_user, epn)
    outcome = ImportOutcome(plan=plan)
    entries = Partenaire.objects.select_related("structure", "structure__referencee_par").in_bulk(
        [target.pk for target in plan.to_update]
    )
    total = len(plan.targets)
    for done, target in enumerate(plan.targets, start=1):
        if target.pk is None:
            outcome.created.append(_create_from_lieu(acting_user=acting_user, epn=epn, lieu=target.lieu))
        elif _update_from_lieu(acting_user=acting_user, partenaire=entries[target.pk], lieu=target.lieu):
            outcome.updated.append(entries[target.pk])
        if progress is not None:
            progress(done, total)
    return outcome


def annuaire_import_apply(
    *, acting_user, batch: ImportAnnuaire, progress=None, tick=None, owns=None
) -> ImportOutcome:
    """Create and update every entry the analysis accepts, all or nothing (the apply step).

    Planned again: the directory may have changed since the analysis (``tick()`` is called at
    each place planned: the CPU budget of the job). ``owns()``, called inside
    the transaction once everything is written, says whether this attempt still owns the job; if
    not, everything is rolled back.
    """
    epn = batch.structure
    plan = plan_import(
        epn=epn,
        data=bytes(batch.contenu),
        filename=batch.nom_fichier,
        fmt=batch.format,
        decisions=batch.decisions,
        progress=(lambda done, total: tick()) if tick is not None else None,
    )
    with transaction.atomic():
        outcome = apply_plan(acting_user=acting_user, epn=epn, plan=plan, progress=progress)
        if owns is not None and not owns():
            raise Superseded
        resultat = {**plan.as_json(), "crees": len(outcome.created), "mis_a_jour": len(outcome.updated)}
        ImportAnnuaire.objects.filter(pk=batch.pk).update(
            state=ImportAnnuaire.State.TERMINE, resultat=resultat, contenu=b"", updated_at=timezone.now()
        )
        audit_record(
            acting_user=acting_user,
            action=AuditAction.IMPORT,
            obj=batch,
            structure=epn,
            changes={
                "fichier": batch.nom_fichier,
                "crees": len(outcome.created),
                "mis_a_jour": len(outcome.updated),
                "fusionnes": len(plan.merged),
                "douteux": len(plan.doubtful),
                "rejetes": len(plan.rejected),
            },
        )
    return outcome


class Superseded(Exception):
    """This attempt of a job was requeued meanwhile (its worker was only slow): nothing written."""


@transaction.atomic
def import_directly(
    *, acting_user, epn: Structure, data: bytes, filename: str, decisions: dict[str, str] | None = None
) -> ImportOutcome:
    """Plan then apply at once, in one transaction (the command line, tests, the bench)."""
    _check_writable(acting_user, epn)
    plan = plan_import(epn=epn, data=data, filename=filename, decisions=decisions)
    outcome = apply_plan(acting_user=acting_user, epn=epn, plan=plan)
    batch = ImportAnnuaire.objects.create(
        structure=epn,
        nom_fichier=filename[:255],
        format=detect_format(filename, data),
        contenu=b"",
        state=ImportAnnuaire.State.TERMINE,
        resultat={**plan.as_json(), "crees": len(outcome.created), "mis_a_jour": len(outcome.updated)},
        decisions=decisions or {},
        created_by=_submitter(acting_user),
    )
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=batch,
        structure=epn,
        changes={"fichier": filename, "crees": len(outcome.created), "mis_a_jour": len(outcome.updated)},
    )
    return outcome
