"""Reads of the suivi: the facts of the database turned into the pure modules' inputs.

``action_results`` gathers one action's participation for ``new_publics``;
``partnerships_of`` gathers, in a fixed number of queries, the facts of every partnership of an
EPN for ``health.score_partnership``; ``three_questions_of`` answers the seed's three questions
with them. No writes here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min
from django.utils import timezone

from ancrage.actions.models import Action, ActionPartenaire
from ancrage.conventions import circuit as convention_rules
from ancrage.conventions.enums import ETAT_LABELS, Etat
from ancrage.conventions.models import Convention
from ancrage.conventions.selectors import terms_of
from ancrage.diagnostic.models import Diagnostic
from ancrage.frequentation.readers import parse_age_band
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.partenaires.publics import covers, reaches, split_public
from ancrage.suivi import new_publics as pure
from ancrage.suivi.enums import SensPromotion
from ancrage.suivi.health import DEFAULT_CONTACT_DELAY_DAYS, HealthScore, PartnershipFacts, score_partnership
from ancrage.suivi.models import AvantApres, DelaiRelance, Echange, Evaluation, Participation, Promotion
from ancrage.territoire.models import Quartier

#: Joint results, promotion and new publics are counted over the twelve months before the day.
WINDOW_DAYS = 365
#: How many of the diagnostic's ranked targets count as "current targets" for the fit.
CURRENT_TARGETS = 10


def today() -> dt.date:
    return timezone.localdate()


# --- From records to the pure module's people and actions -------------------------------------------


def criteria_for_public(key: str, sectors: Iterable[str] = ()) -> pure.Criteria:
    """A target public (``"age:60-74"``, ``"activite:chomeur"``…) as criteria on a person."""
    dimension, categorie = split_public(key)
    sectors = frozenset(sectors)
    if dimension == "age":
        band = parse_age_band(categorie)
        if band is not None:
            return pure.Criteria(
                sectors=sectors, min_age=band[0], max_age=None if band[1] is None else band[1] - 1
            )
    if not dimension:
        return pure.Criteria(sectors=sectors)
    return pure.Criteria(categories=frozenset({key}), sectors=sectors)


def categories_of(beneficiaire) -> frozenset[str]:
    keys = set()
    if beneficiaire.sexe:
        keys.add(f"sexe:{beneficiaire.sexe}")
    if beneficiaire.csp:
        keys.add(f"csp:{beneficiaire.csp}")
    if beneficiaire.situation:
        keys.add(f"activite:{beneficiaire.situation}")
    return frozenset(keys)


def _level(sectors: Iterable[str]) -> str:
    sectors = list(sectors)
    return "commune" if sectors and all(len(s) == 5 for s in sectors) else "iris"


def usager_of(beneficiaire, level: str = "iris") -> pure.Usager:
    if level == "commune":
        sector = beneficiaire.code_iris[:5] or beneficiaire.code_commune or None
    else:
        sector = beneficiaire.code_iris or None
    return pure.Usager(
        id=beneficiaire.pk,
        birth_year=beneficiaire.annee_naissance,
        sex=beneficiaire.sexe or None,
        categories=categories_of(beneficiaire),
        sector=sector,
        first_visit=beneficiaire.premiere_visite,
    )


def _quartiers(epn_id: int) -> dict[str, list[str]]:
    return {q.nom: list(q.iris) for q in Quartier.objects.filter(structure_id=epn_id)}


def expand_sectors(codes: Iterable[str], quartiers: dict[str, list[str]]) -> frozenset[str]:
    """Sector codes; a quartier's name stands for its IRIS."""
    expanded = set()
    for code in codes:
        expanded |= set(quartiers.get(code, [code]))
    return frozenset(expanded)


def _objective_sectors(objectif, action, quartiers) -> frozenset[str]:
    """The sector an objective names (a code, a sector's name or a quartier), as codes."""
    label = objectif.critere_secteur.strip()
    if not label:
        return frozenset()
    if label in action.secteurs:
        return expand_sectors([label], quartiers)
    by_name = [code for code, nom in (action.secteurs_noms or {}).items() if nom == label]
    if by_name:
        return expand_sectors(by_name, quartiers)
    if label in quartiers:
        return frozenset(quartiers[label])
    # An unknown label: the action's own sectors, rather than an objective nobody can reach.
    return expand_sectors(action.secteurs, quartiers)


def period_of(seances) -> tuple[dt.date, dt.date] | None:
    seances = list(seances)
    if not seances:
        return None
    start = min(timezone.localtime(s.debut).date() for s in seances)
    end = max(timezone.localtime(s.fin).date() for s in seances)
    return start, end


def pure_action(action, seances, objectifs, quartiers) -> pure.Action | None:
    """The action as ``new_publics`` reads it; None while it has no session (no period)."""
    period = period_of(seances)
    if period is None:
        return None
    sectors = expand_sectors(action.secteurs, quartiers)
    targets = tuple(criteria_for_public(key, sectors) for key in action.publics)
    if not targets and sectors:
        targets = (pure.Criteria(sectors=sectors),)
    objectives = []
    for o in objectifs:
        criteria = criteria_for_public(o.critere_public, _objective_sectors(o, action, quartiers))
        objectives.append(
            pure.Objective(
                label=o.libelle,
                target=o.valeur_cible,
                criteria=criteria,
                new_publics_only="nouveau" in o.libelle.lower() or "nouvelle" in o.libelle.lower(),
            )
        )
    return pure.Action(
        id=action.pk,
        title=action.titre,
        start=period[0],
        end=period[1],
        targets=targets,
        objectives=tuple(objectives),
    )


def attendance_of(participations, level: str) -> list[pure.Attendance]:
    return [
        pure.Attendance(
            usager=usager_of(p.beneficiaire, level),
            session_date=timezone.localtime(p.seance.debut).date(),
            present=p.present,
            oriented_by=p.oriente_par_id,
        )
        for p in participations
    ]


# --- One action --------------------------------------------------------------------------------------


@dataclass
class SessionLine:
    seance: object
    presents: int
    inscrits: int


@dataclass
class ActionResults:
    action: object
    pure_action: pure.Action | None
    sessions: list[SessionLine]
    participants: list[pure.Participant]
    new_publics: list[pure.Participant]
    results: list[pure.ObjectiveResult]
    #: (partner name, people sent, new publics among them), most first.
    oriented: list[tuple[str, int, int]]
    evaluation: object | None
    avant_apres: object | None
    presences: int = 0

    @property
    def objectives_met(self) -> int:
        return sum(1 for r in self.results if r.met)


def action_results(action) -> ActionResults:
    quartiers = _quartiers(action.structure_id)
    seances = list(action.seances.all())
    objectifs = list(action.objectifs.all())
    participations = list(
        Participation.objects.filter(seance__action=action).select_related(
            "beneficiaire", "seance", "oriente_par"
        )
    )
    the_action = pure_action(action, seances, objectifs, quartiers)
    level = _level(the_action.targets[0].sectors if the_action and the_action.targets else ())
    participants = pure.participants_from_attendance(attendance_of(participations, level))
    news = pure.new_publics(the_action, participants) if the_action else []
    results = pure.results_against_objectives(the_action, participants) if the_action else []
    presents = defaultdict(int)
    inscrits = defaultdict(int)
    for p in participations:
        inscrits[p.seance_id] += 1
        presents[p.seance_id] += p.present
    names = {p.oriente_par_id: p.oriente_par.nom for p in participations if p.oriente_par_id}
    new_ids = {p.usager.id for p in news}
    sent = defaultdict(lambda: [0, 0])
    for p in participants:
        if p.oriented_by is not None:
            sent[p.oriented_by][0] += 1
            sent[p.oriented_by][1] += p.usager.id in new_ids
    oriented = sorted(
        ((names[pid], n, new) for pid, (n, new) in sent.items()),
        key=lambda row: (-row[1], pure.name_key(row[0])),
    )
    return ActionResults(
        action=action,
        pure_action=the_action,
        sessions=[SessionLine(s, presents[s.pk], inscrits[s.pk]) for s in seances],
        participants=participants,
        new_publics=news,
        results=results,
        oriented=oriented,
        evaluation=Evaluation.objects.filter(action=action).first(),
        avant_apres=AvantApres.objects.filter(action=action).select_related("avant", "apres").first(),
        presences=sum(presents.values()),
    )


# --- Partnerships ------------------------------------------------------------------------------------


@dataclass
class Partnership:
    partner: Structure
    facts: PartnershipFacts
    health: HealthScore
    overview: pure.PartnershipOverview
    convention: Convention | None
    convention_status: str
    contact_delay_days: int
    joint_actions: list[Action] = field(default_factory=list)
    new_publics_sent: int = 0

    @property
    def reminder_due(self) -> bool:
        last = self.facts.last_contact
        return last is None or (self.facts.on - last).days > self.contact_delay_days

    @property
    def days_without_contact(self) -> int | None:
        return None if self.facts.last_contact is None else (self.facts.on - self.facts.last_contact).days

    @property
    def fiche(self):
        return getattr(self.partner, "fiche_partenaire", None)


def contact_delays(epn_id: int) -> tuple[int, dict[int, int]]:
    """(the EPN's default delay, {partner id: its own delay})."""
    default = DEFAULT_CONTACT_DELAY_DAYS
    own = {}
    for d in DelaiRelance.objects.filter(structure_id=epn_id):
        if d.partenaire_id is None:
            default = d.jours
        else:
            own[d.partenaire_id] = d.jours
    return default, own


def _fr(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def convention_facts(conventions: list[Convention], on: dt.date) -> dict:
    """What the conventions binding one partner say on ``on``: in force, end, renewals, status."""
    in_force = []
    states = []
    first_start = None
    for c in conventions:
        terms = terms_of(c)
        state = convention_rules.effective_state(terms, on)
        states.append((c, state, terms))
        if state in (Etat.SIGNEE, Etat.EN_VIGUEUR, Etat.EXPIREE, Etat.RESILIEE) and c.date_debut:
            first_start = min(first_start or c.date_debut, c.date_debut)
        if state == Etat.EN_VIGUEUR:
            end, renewals = convention_rules.current_term(terms, on)
            renews = convention_rules.denunciation_deadline(terms, on) is not None
            in_force.append((c, end, renewals, renews))
    if in_force:
        # The one that binds longest: no end first, then the latest end.
        c, end, renewals, renews = max(in_force, key=lambda row: row[1] or dt.date.max)
        status = "Convention en vigueur" + (f" jusqu’au {_fr(end)}" if end else ", sans terme")
        if renews:
            status += ", reconduction tacite"
        return {
            "in_force": True,
            "end": end,
            "renews": renews,
            "renewals": max(r for _, _, r, _ in in_force),
            "convention": c,
            "status": status,
            "since": first_start,
        }
    status = "Aucune convention"
    convention = None
    order = (Etat.SIGNEE, Etat.EN_VALIDATION, Etat.EXPIREE, Etat.RESILIEE, Etat.BROUILLON)
    for wanted in order:
        match = [(c, t) for c, s, t in states if s == wanted]
        if not match:
            continue
        convention, terms = max(match, key=lambda row: (row[0].date_debut or dt.date.min, row[0].pk))
        if wanted == Etat.SIGNEE:
            status = f"Convention signée, en vigueur à partir du {_fr(convention.date_debut)}"
        elif wanted == Etat.EXPIREE:
            end, _ = convention_rules.current_term(terms, on)
            status = f"Convention expirée le {_fr(end)}" if end else "Convention expirée"
        elif wanted == Etat.RESILIEE:
            status = "Convention résiliée"
        else:
            status = f"Convention non signée ({ETAT_LABELS[wanted].lower()})"
        break
    return {
        "in_force": False,
        "end": None,
        "renews": False,
        "renewals": 0,
        "convention": convention,
        "status": status,
        "since": first_start,
    }


def _reach_criteria(fiche, targets: list[pure.Criteria]) -> pure.Criteria:
    """What a partner reaches, in the words of the current targets (age bands may differ)."""
    if fiche is None:
        return pure.Criteria()
    publics = list(fiche.publics_touches or [])
    secteurs = list(fiche.secteurs or [])
    categories = set(publics)
    sectors = set(secteurs)
    for target in targets:
        categories |= {key for key in target.categories if reaches(publics, key)}
        sectors |= {code for code in target.sectors if covers(secteurs, code)}
    return pure.Criteria(categories=frozenset(categories), sectors=frozenset(sectors))


def current_targets(epn_id: int) -> tuple[Diagnostic | None, list[pure.Criteria]]:
    """The latest diagnostic's first ranked targets, as criteria (for the fit of partners)."""
    diagnostic = Diagnostic.objects.for_structure(epn_id).latest_first().first()
    if diagnostic is None:
        return None, []
    targets = []
    for cible in diagnostic.cibles[:CURRENT_TARGETS]:
        categories = (
            frozenset({f"{cible['dimension']}:{cible['categorie']}"}) if cible.get("dimension") else ()
        )
        sectors = frozenset({cible["secteur"]}) if cible.get("secteur") else ()
        targets.append(pure.Criteria(categories=categories, sectors=sectors))
    return diagnostic, targets


def partnerships_of(
    epn, on: dt.date | None = None, targets: list[pure.Criteria] | None = None
) -> list[Partnership]:
    """Every partnership of the EPN (a partner of its directory it has worked with: a joint action,
    a convention, an exchange, a promotion or a person sent), with its health on ``on``.

    A fixed number of queries, whatever the number of partners.
    """
    on = on or today()
    since = on - dt.timedelta(days=WINDOW_DAYS)
    targets = targets or []
    partners = {
        p.pk: p
        for p in Structure.objects.filter(kind=StructureKind.PARTENAIRE, referencee_par=epn).select_related(
            "fiche_partenaire"
        )
    }
    joint = defaultdict(list)
    joint_since = {}
    for ap in ActionPartenaire.objects.filter(action__structure=epn).select_related("action"):
        joint[ap.partenaire_id].append(ap.action)
        added = timezone.localtime(ap.added_at).date()
        joint_since[ap.partenaire_id] = min(joint_since.get(ap.partenaire_id, added), added)
    by_partner_conventions = defaultdict(list)
    for c in Convention.objects.filter(structure=epn).prefetch_related("partenaires"):
        for p in c.partenaires.all():
            by_partner_conventions[p.pk].append(c)
    contacts = {
        row["partenaire"]: row
        for row in Echange.objects.filter(structure=epn, date__lte=on)
        .values("partenaire")
        .annotate(last=Max("date"), first=Min("date"), n=Count("id"))
    }
    promotions = defaultdict(lambda: {SensPromotion.EPN: 0, SensPromotion.PARTENAIRE: 0})
    for row in (
        Promotion.objects.filter(structure=epn, date__gt=since, date__lte=on)
        .values("partenaire", "sens")
        .annotate(n=Count("id"))
    ):
        promotions[row["partenaire"]][row["sens"]] = row["n"]
    default_delay, own_delays = contact_delays(epn.pk)

    # Joint results: the participation in the EPN's sessions of the last twelve months.
    quartiers = _quartiers(epn.pk)
    actions = {a.pk: a for a in Action.objects.filter(structure=epn).prefetch_related("seances", "objectifs")}
    pure_actions = {
        pk: pure_action(a, a.seances.all(), a.objectifs.all(), quartiers) for pk, a in actions.items()
    }
    participations = defaultdict(list)
    for p in Participation.objects.filter(
        seance__action__structure=epn, seance__debut__date__gt=since, seance__debut__date__lte=on
    ).select_related("beneficiaire", "seance"):
        participations[p.seance.action_id].append(p)
    participants_by_action = {}
    for pk, rows in participations.items():
        the_action = pure_actions.get(pk)
        level = _level(the_action.targets[0].sectors if the_action and the_action.targets else ())
        participants_by_action[pk] = pure.participants_from_attendance(attendance_of(rows, level))
    new_ids_by_action = {
        pk: {p.usager.id for p in pure.new_publics(pure_actions[pk], people)}
        for pk, people in participants_by_action.items()
        if pure_actions.get(pk) is not None
    }
    sent_new = pure.new_publics_by_partner(
        (pure_actions[pk], people) for pk, people in participants_by_action.items() if pure_actions.get(pk)
    )
    oriented = defaultdict(set)
    for people in participants_by_action.values():
        for p in people:
            if p.oriented_by is not None:
                oriented[p.oriented_by].add(p.usager.id)

    result = []
    for pid, partner in partners.items():
        conventions = by_partner_conventions.get(pid, [])
        contact = contacts.get(pid)
        promo = promotions.get(pid)
        if not (joint.get(pid) or conventions or contact or promo or oriented.get(pid)):
            continue
        cf = convention_facts(conventions, on)
        joint_ids = {a.pk for a in joint.get(pid, [])}
        participants = set()
        news = set()
        for pk in joint_ids:
            participants |= {p.usager.id for p in participants_by_action.get(pk, [])}
            news |= new_ids_by_action.get(pk, set())
        starts = [d for d in (joint_since.get(pid), cf["since"], contact["first"] if contact else None) if d]
        delay = own_delays.get(pid, default_delay)
        facts = PartnershipFacts(
            partner=partner.nom,
            on=on,
            convention_in_force=cf["in_force"],
            convention_end=cf["end"],
            convention_renews=cf["renews"],
            last_contact=contact["last"] if contact else None,
            contact_delay_days=delay,
            participants=len(participants),
            new_publics=len(news),
            oriented_by=len(oriented.get(pid, ())),
            promotions_by_epn=promo[SensPromotion.EPN] if promo else 0,
            promotions_by_partner=promo[SensPromotion.PARTENAIRE] if promo else 0,
            since=min(starts) if starts else None,
            renewals=cf["renewals"],
        )
        health = score_partnership(facts)
        fiche = getattr(partner, "fiche_partenaire", None)
        overview = pure.PartnershipOverview(
            partner=pid,
            name=partner.nom,
            health=health,
            convention_in_force=cf["in_force"],
            convention_status="" if cf["in_force"] else cf["status"],
            new_publics_sent=sent_new.get(pid, 0),
            reaches=_reach_criteria(fiche, targets),
        )
        result.append(
            Partnership(
                partner=partner,
                facts=facts,
                health=health,
                overview=overview,
                convention=cf["convention"],
                convention_status=cf["status"],
                contact_delay_days=delay,
                joint_actions=sorted(joint.get(pid, []), key=lambda a: a.titre),
                new_publics_sent=sent_new.get(pid, 0),
            )
        )
    result.sort(key=lambda p: pure.name_key(p.partner.nom))
    return result


@dataclass
class Dashboard:
    epn: Structure
    on: dt.date
    diagnostic: Diagnostic | None
    partnerships: list[Partnership]
    questions: pure.ThreeQuestions
    reminders: list[Partnership]

    def partnership(self, partner_id) -> Partnership:
        return next(p for p in self.partnerships if p.partner.pk == partner_id)


def three_questions_of(epn, on: dt.date | None = None) -> Dashboard:
    on = on or today()
    diagnostic, targets = current_targets(epn.pk)
    partnerships = partnerships_of(epn, on, targets)
    questions = pure.three_questions([p.overview for p in partnerships], targets)
    reminders = sorted(
        (p for p in partnerships if p.reminder_due),
        key=lambda p: (p.facts.last_contact or dt.date.min, pure.name_key(p.partner.nom)),
    )
    return Dashboard(epn, on, diagnostic, partnerships, questions, reminders)
