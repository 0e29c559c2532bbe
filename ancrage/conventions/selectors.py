"""Reads that turn the models into the pure modules' inputs: the convention's content (for the
documents), its terms (for the lifecycle and the alerts) and its circuit (for the validation).
No writes here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from ancrage.actions.selectors import budget_summary_for_action
from ancrage.conventions import circuit as pure
from ancrage.conventions import financement
from ancrage.conventions.content import (
    BudgetLine,
    Commitment,
    ConventionContent,
    Duration,
    FinancialTerms,
    Party,
    PartyKind,
    Premises,
    Representative,
    SchoolDetails,
    Signatory,
    TaskAssignment,
    TaskRole,
    add_months,
    commitments_from_tasks,
    format_amount,
)
from ancrage.conventions.enums import Etat
from ancrage.organisations import permissions
from ancrage.organisations.enums import CollectiviteType
from ancrage.organisations.models import Membership
from ancrage.organisations.scoping import scope_for

EPN_KEY = "epn"
COLLECTIVITE_KEY = "collectivite"

# Task-matrix tasks (actions.tasks.Task) as the convention words them. Keys known to
# content._DOMAIN_PHRASES are passed as they are; the others as a French phrase.
TASK_DOMAINS = {
    "pilotage": "le pilotage et la gestion du projet",
    "suivi": "le suivi de l'action et des participants",
    "communication": "communication",
    "evaluation": "evaluation",
    "mobilisation": "mobilisation",
    "animation": "animation",
    "logistique": "logistique",
    "financement": "financement",
}
COLLECTIVITE_DESIGNATIONS = {
    CollectiviteType.COMMUNE: "la Commune",
    CollectiviteType.EPCI: "l'Intercommunalité",
    CollectiviteType.DEPARTEMENT: "le Département",
}


def today() -> dt.date:
    return timezone.localdate()


def partner_key(structure_id: int) -> str:
    return f"partenaire-{structure_id}"


def user_key(user_id: int) -> str:
    return f"user-{user_id}"


# --- Parties and content --------------------------------------------------------------------------


def _full_name(user) -> str:
    return user.get_full_name() or user.email


def _first_member(**filters):
    membership = (
        Membership.objects.active()
        .filter(**filters)
        .select_related("user")
        .order_by("created_at", "id")
        .first()
    )
    return membership.user if membership else None


def parties_of(convention) -> list[Party]:
    """EPN first, then the partners (by name), then the collectivité: the order of the document."""
    epn = convention.structure
    responsable = _first_member(structure=epn, role=permissions.CONVENTION_SIGNER_FOR_EPN)
    parties = [
        Party(
            key=EPN_KEY,
            name=epn.nom,
            kind=PartyKind.EPN,
            designation="l'EPN",
            siret=epn.siret,
            representative=Representative(_full_name(responsable), "Responsable de l'EPN")
            if responsable
            else None,
        )
    ]
    ecole = convention.modele == "partenariat_ecole"
    partners = sorted(convention.partenaires.all(), key=lambda s: s.nom)
    for structure in partners:
        fiche = getattr(structure, "fiche_partenaire", None)
        contact = fiche.contacts.order_by("id").first() if fiche is not None else None
        # The partner's representative is the member who signs for it in Ancrage; the directory's
        # contact only when the partner has no account yet.
        member = _first_member(structure=structure, role=permissions.CONVENTION_SIGNER_FOR_PARTNER)
        address = ""
        if fiche is not None and fiche.adresse:
            address = f"{fiche.adresse}, {fiche.code_postal} {fiche.commune}".strip(", ")
        parties.append(
            Party(
                key=partner_key(structure.pk),
                name=structure.nom,
                kind=PartyKind.ECOLE if ecole else PartyKind.PARTENAIRE,
                designation=("l'École" if ecole and len(partners) == 1 else structure.nom),
                address=address,
                siret=structure.siret or (fiche.siret if fiche else ""),
                representative=Representative(
                    _full_name(member),
                    contact.fonction
                    if contact and contact.nom == _full_name(member) and contact.fonction
                    else "représentant(e)",
                )
                if member
                else Representative(contact.nom, contact.fonction or "représentant(e)")
                if contact
                else None,
            )
        )
    if convention.collectivite_id:
        collectivite = convention.collectivite
        elu = _first_member(collectivite=collectivite, role=permissions.CONVENTION_SIGNER_FOR_COLLECTIVITE)
        parties.append(
            Party(
                key=COLLECTIVITE_KEY,
                name=collectivite.nom,
                kind=PartyKind.COLLECTIVITE,
                designation=COLLECTIVITE_DESIGNATIONS.get(collectivite.type, "la Collectivité"),
                legal_form="collectivité territoriale",
                representative=Representative(_full_name(elu), "élu(e) signataire") if elu else None,
            )
        )
    return parties


def party_names(convention) -> dict[str, str]:
    return {party.key: party.name for party in parties_of(convention)}


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def content_for(convention, *, version: int = 1) -> ConventionContent:
    """The convention as the document models read it. Raises ``ContentError`` (French)."""
    parties = parties_of(convention)
    keys = {party.key for party in parties}
    commitments = tuple(
        Commitment(e["partie"], e["texte"], e.get("domaine", ""))
        for e in convention.engagements
        if e.get("partie") in keys and e.get("texte", "").strip()
    )
    finances = None
    # Modalités de versement typed without budget lines still reach the document (the financial
    # article decides what they mean: ``financement.decide``).
    if convention.finances or convention.modalites_versement.strip():
        finances = FinancialTerms(
            lines=tuple(
                BudgetLine(
                    line["libelle"],
                    _decimal(line["montant"]),
                    bool(line.get("ressource")),
                    line.get("partie") if line.get("partie") in keys else None,
                    bool(line.get("en_nature")),
                    line.get("contributeur", ""),
                )
                for line in convention.finances
            ),
            payment_terms=convention.modalites_versement,
        )
    signatories = tuple(
        Signatory(party.key, party.representative.name, party.representative.title)
        for party in parties
        if party.representative is not None
    )
    premises = None
    if convention.locaux:
        premises = Premises(
            place=convention.locaux,
            equipment=tuple(line.strip() for line in convention.equipements.splitlines() if line.strip()),
            schedule=convention.creneaux,
        )
    school = None
    if convention.classes:
        school = SchoolDetails(
            classes=convention.classes, schedule=convention.creneaux, supervision=convention.encadrement
        )
    return ConventionContent(
        title=convention.titre,
        reference=convention.reference,
        parties=tuple(parties),
        action_title=convention.action.titre if convention.action_id else convention.titre,
        purpose=convention.objet,
        objectives=tuple(convention.objectifs),
        target_publics=tuple(convention.publics),
        duration=Duration(
            start_date=convention.date_debut,
            months=convention.duree_mois,
            tacit_renewal=convention.reconduction_tacite,
            max_renewals=convention.reconductions_max,
            notice_months=convention.preavis_mois,
        ),
        commitments=commitments,
        finances=finances,
        evaluation_indicators=tuple(convention.indicateurs),
        signatories=signatories,
        place_of_signature=convention.lieu_signature or convention.structure.commune_nom or "…",
        jurisdiction=convention.juridiction,
        premises=premises,
        school=school,
        version=version,
    )


# --- Prefill from an action -----------------------------------------------------------------------


def commitments_of_action(action) -> list[dict]:
    """The task matrix as commitment sentences (``content.commitments_from_tasks``)."""
    partner_ids = {p.partenaire_id for p in action.participations.all()}
    assignments = []
    for cell in action.affectations.all().order_by("id"):
        if cell.partie_type == "partenaire" and cell.partenaire_id not in partner_ids:
            continue
        key = partner_key(cell.partenaire_id) if cell.partie_type == "partenaire" else cell.partie_type
        role = TaskRole.PILOTE if cell.role == "responsable" else TaskRole.CONTRIBUTEUR
        assignments.append(TaskAssignment(TASK_DOMAINS.get(cell.tache, cell.tache), key, role))
    return [
        {"partie": c.party_key, "texte": c.text, "domaine": c.domain}
        for c in commitments_from_tasks(assignments)
    ]


def budget_of_action(action, parties: dict[str, str] | None = None) -> list[dict]:
    """The action's budget as the convention's financial lines: the charges by compte, and the
    resources by contributor (cash and in kind apart). ``partie`` is the contributor's party key
    ("epn", "collectivite", "partenaire-<id>"), or None for a financeur outside the partnership;
    ``content_for`` keeps it only when that party is a party of the convention. [] without budget.
    ``parties`` is unused (the lines carry their party); kept for older callers."""
    summary = budget_summary_for_action(action)
    if summary is None:
        return []
    lines = [
        {
            "libelle": category.label,
            "montant": str(amount),
            "ressource": False,
            "partie": None,
            "en_nature": category.in_kind,
        }
        for category, amount in summary.charges_by_category.items()
        if amount
    ]
    for contribution in summary.contributions:
        for amount, in_kind in ((contribution.cash, False), (contribution.in_kind, True)):
            if amount:
                lines.append(
                    {
                        "libelle": "Contribution en nature" if in_kind else "Apport en numéraire",
                        "montant": str(amount),
                        "ressource": True,
                        "partie": contribution.party or None,
                        "contributeur": contribution.contributor,
                        "en_nature": in_kind,
                    }
                )
    return lines


def _financing_worded(engagements: list[dict], finances: list[dict]) -> list[dict]:
    """The financing cells of the task matrix worded from the budget, as the document words them
    (``financement.financing_commitment``), so that the form shows what the convention will say;
    a party that brings nothing to the budget gets no financing commitment."""
    cash: dict[str, Decimal] = {}
    in_kind: dict[str, Decimal] = {}
    for line in finances:
        if line.get("ressource") and line.get("partie"):
            into = in_kind if line.get("en_nature") else cash
            into[line["partie"]] = into.get(line["partie"], Decimal(0)) + _decimal(line["montant"])
    decision = financement.FinancialDecision(
        free=not any(amount for key, amount in cash.items() if key != EPN_KEY),
        beneficiary_key=EPN_KEY,
        paying=tuple(
            financement.Contributor(key, "", cash=amount) for key, amount in cash.items() if key != EPN_KEY
        ),
        in_kind=tuple(financement.Contributor(key, "", in_kind=amount) for key, amount in in_kind.items()),
        own_funds=cash.get(EPN_KEY, Decimal(0)),
        outside=(),
        total_charges=Decimal(0),
        total_resources=Decimal(0),
    )
    worded = []
    for engagement in engagements:
        if engagement.get("domaine") == "financement":
            text = financement.financing_commitment(decision, engagement["partie"], format_amount)
            if text is None or any(
                e["texte"] == text and e["partie"] == engagement["partie"] for e in worded
            ):
                continue
            engagement = {**engagement, "texte": text}
        worded.append(engagement)
    return worded


def prefill_from_action(action) -> dict:
    """The fields of a new convention drafted from an action."""
    start = today().replace(day=1)
    start = add_months(start, 1)
    objectifs = [
        f"{o.valeur_cible} {o.libelle}" + (f" ({o.critere})" if o.critere else "")
        for o in action.objectifs.all()
    ]
    partners = [p.partenaire for p in action.participations.select_related("partenaire")]
    finances = budget_of_action(action)
    return {
        "titre": f"Convention de partenariat « {action.titre} »",
        "modele": "partenariat_generique",
        "partenaires": partners,
        "objet": action.contenu or f"Mettre en œuvre ensemble l'action « {action.titre} ».",
        "objectifs": objectifs,
        "publics": action.publics_labels,
        "engagements": _financing_worded(commitments_of_action(action), finances),
        "finances": finances,
        "indicateurs": [f"{o.libelle} (objectif : {o.valeur_cible})" for o in action.objectifs.all()],
        "lieu_signature": action.structure.commune_nom,
        "date_debut": start,
    }


# --- Lifecycle --------------------------------------------------------------------------------------


def terms_of(convention) -> pure.ConventionTerms:
    return pure.ConventionTerms(
        id=convention.pk,
        title=convention.titre,
        state=convention.etat,
        start=convention.date_debut,
        end=convention.date_fin,
        tacit_renewal=convention.reconduction_tacite,
        max_renewals=convention.reconductions_max,
        notice_months=convention.preavis_mois,
        denounced_on=convention.denoncee_le,
        terminated_on=convention.resiliee_le,
        alert_days=convention.delai_alerte_jours,
        amends=convention.avenant_de_id,
    )


def effective_etat(convention, on: dt.date | None = None) -> str:
    return pure.effective_state(terms_of(convention), on or today()).value


def expiry_alerts(conventions, on: dt.date | None = None) -> list[pure.ExpiryAlert]:
    return pure.expiry_alerts([terms_of(c) for c in conventions], on or today())


def series_terms(convention) -> list[pure.ConventionTerms]:
    """The original and its avenants, in creation order, for ``circuit.check_new_avenant``."""
    from ancrage.conventions.models import Convention

    original = convention.original
    members = [original, *Convention.objects.filter(avenant_de=original).order_by("created_at", "id")]
    return [terms_of(c) for c in members]


# --- Circuit ----------------------------------------------------------------------------------------


def circuit_of(convention) -> pure.Circuit | None:
    if not convention.circuit:
        return None
    return pure.Circuit(
        tuple(
            pure.Step(s["label"], tuple(s["people"]), s["mode"], s["kind"], s.get("group"))
            for s in convention.circuit["steps"]
        )
    )


def round_delegations(convention, delegations=None) -> list[pure.Delegation]:
    if delegations is None:
        delegations = convention.delegations.filter(tour=convention.tour).order_by("id")
    return [
        pure.Delegation(d.etape, d.personne, d.delegataire_personne)
        for d in delegations
        if d.tour == convention.tour
    ]


def round_actions(convention, decisions=None) -> list[pure.CircuitAction]:
    if decisions is None:
        decisions = convention.decisions.filter(tour=convention.tour).order_by("id")
    return [
        pure.CircuitAction(
            step=d.etape,
            person=d.personne,
            decision=d.decision,
            comment=d.commentaire,
            at=d.at,
            origin=d.adresse_ip,
            document_hash=d.document_sha256,
            on_behalf_of=d.pour_le_compte_de or None,
        )
        for d in decisions
        if d.tour == convention.tour
    ]


def circuit_progress(convention, decisions=None, delegations=None) -> pure.CircuitProgress | None:
    circuit = circuit_of(convention)
    if circuit is None or convention.tour == 0:
        return None
    return pure.progress(
        circuit,
        round_actions(convention, decisions),
        delegations=round_delegations(convention, delegations),
    )


def person_keys_of(user, convention) -> set[str]:
    """The circuit identities ``user`` may act as: themself, and (circuits frozen before every
    party signed) their partner organisations."""
    scope = scope_for(user)
    return {partner_key(pid) for pid in scope.partner_ids} | {user_key(user.pk)}


@dataclass(frozen=True)
class Turn:
    """A step ``user`` may decide now: in their name, or for ``on_behalf_of`` (a delegation)."""

    step: int
    label: str
    kind: str
    person: str
    on_behalf_of: str | None
    party: str
    organisation: str
    qualite: str


def turns_for(user, convention, progress=None, delegations=None) -> list[Turn]:
    """Every (step, capacity) ``user`` may decide at this moment, in the circuit's order."""
    if convention.etat != Etat.EN_VALIDATION:
        return []
    progress = progress or circuit_progress(convention, delegations=delegations)
    if progress is None:
        return []
    mine = person_keys_of(user, convention)
    me = user_key(user.pk)
    people = convention.circuit.get("people", {})
    deputies = round_delegations(convention, delegations)
    turns = []
    for current in progress.current_steps:
        for person in current.waiting_for:
            who = people.get(person, {})
            kwargs = dict(
                step=current.index,
                label=current.step.label,
                kind=current.step.kind.value,
                party=who.get("partie", ""),
                organisation=who.get("organisation", ""),
                qualite=who.get("qualite", ""),
            )
            if person in mine:
                turns.append(Turn(person=person, on_behalf_of=None, **kwargs))
            elif pure.Delegation(current.index, person, me) in deputies:
                turns.append(Turn(person=me, on_behalf_of=person, **kwargs))
    return turns


def waiting_keys_for(user, convention, progress=None, delegations=None) -> list[str]:
    """The people of the current steps that ``user`` may decide for, in the circuit's order."""
    return [t.on_behalf_of or t.person for t in turns_for(user, convention, progress, delegations)]
