"""E-mails of a convention's circuit and lifecycle, sent by tasks (django-tasks) once they commit.

The services call one hook each (``submitted``, ``decided``, ``refused``, ``delegated``,
``sealed``); a hook only enqueues a task after the commit, so that a rolled-back decision never
announces anything and the request never waits for the mail server. The task reads what was
committed, asks the pure ``destinataires`` module who to tell, and sends one message per
person, each with a direct link (``ANCRAGE_SITE_URL``), under a key of ``Envoi`` whose unique
constraint makes it go once.

``daily`` is the periodic task (``ancrage planificateur`` enqueues it every morning): the
reminders of people who have not answered for ``ANCRAGE_REMINDER_DAYS`` days, and the échéance
alerts and tacit-renewal notices (``ANCRAGE_EXPIRY_ALERT_DAYS``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from ancrage.accounts.models import User
from ancrage.audit.enums import AuditAction
from ancrage.audit.models import AuditEntry
from ancrage.conventions import circuit as pure
from ancrage.conventions import destinataires, selectors
from ancrage.conventions.enums import DecisionChoice, Etat
from ancrage.conventions.models import Convention, Decision, Envoi
from ancrage.core import mail
from ancrage.core.wording import nombre
from ancrage.organisations import permissions
from ancrage.organisations.models import Membership

logger = logging.getLogger(__name__)

DEMANDE, REFUS, SIGNATURE, FIN = "demande", "refus", "signature", "fin"
DELEGATION = "delegation"
RELANCE = "relance"


# --- Hooks: one line each in services.py -------------------------------------------------------------


def _enqueue(event: str, convention: Convention, **ids) -> None:
    convention_id, tour = convention.pk, convention.tour
    # Robust: the decision is committed; a queue that cannot be written to is logged, not raised.
    transaction.on_commit(lambda: notify.enqueue(event, convention_id, tour, **ids), robust=True)


def submitted(convention: Convention) -> None:
    """A new round: its first step(s) are asked for."""
    progress = selectors.circuit_progress(convention)
    for step in sorted(destinataires.newly_opened(None, progress)):
        _enqueue(DEMANDE, convention, step=step)


def decided(
    convention: Convention, decision: Decision, before: pure.CircuitProgress, after: pure.CircuitProgress
) -> None:
    """A decision: a signature is told to the EPN's staff; the steps it opened are asked for."""
    if decision.nature == pure.StepKind.SIGNATURE and decision.decision == DecisionChoice.VALIDER:
        _enqueue(SIGNATURE, convention, decision_id=decision.pk)
    for step in sorted(destinataires.newly_opened(before, after)):
        _enqueue(DEMANDE, convention, step=step)


def refused(convention: Convention, decision: Decision) -> None:
    _enqueue(REFUS, convention, decision_id=decision.pk)


def delegated(convention: Convention, delegation) -> None:
    """A deputy is named for a step: the deputy is asked, in the delegator's name."""
    _enqueue(DELEGATION, convention, delegation_id=delegation.pk)


def sealed(convention: Convention) -> None:
    """The circuit is over: every party gets the sealed PDF."""
    _enqueue(FIN, convention)


# --- Who: the people behind the circuit's persons and the parties -------------------------------------


def _active(memberships) -> frozenset[int]:
    return frozenset(memberships.filter(user__is_active=True).values_list("user_id", flat=True))


def users_for_person(key: str) -> frozenset[int]:
    """The users who may act for a person of the circuit (``partenaire-<id>``, ``user-<id>``)."""
    kind, _, number = key.rpartition("-")
    if not number.isdigit():
        return frozenset()
    if kind == "partenaire":
        return _active(
            Membership.objects.active().filter(role=permissions.CONVENTION_VISA, structure_id=int(number))
        )
    if kind == "user":
        return frozenset(User.objects.filter(pk=int(number), is_active=True).values_list("pk", flat=True))
    return frozenset()


def people_of(convention: Convention) -> dict[str, frozenset[int]]:
    persons = {key for step in convention.circuit.get("steps", []) for key in step["people"]}
    return {key: users_for_person(key) for key in persons}


def parties_of(convention: Convention) -> destinataires.Parties:
    members = Membership.objects.active()
    collectivite = frozenset()
    if convention.collectivite_id:
        collectivite = _active(
            members.filter(
                collectivite_id=convention.collectivite_id, role__in=permissions.COLLECTIVITE_PEOPLE
            )
        )
    return destinataires.Parties(
        epn_staff=_active(
            members.filter(structure_id=convention.structure_id, role__in=permissions.EPN_TEAM)
        ),
        partners={
            selectors.partner_key(pk): _active(
                members.filter(structure_id=pk, role__in=permissions.PARTNER_PEOPLE)
            )
            for pk in convention.partenaires.values_list("pk", flat=True)
        },
        collectivite=collectivite,
    )


def submitters_of(convention: Convention, tour: int) -> frozenset[int]:
    """Who submitted round ``tour`` (the audit trail says), or the EPN's staff if nobody did."""
    entries = AuditEntry.objects.filter(
        object_type=Convention._meta.label_lower, object_id=str(convention.pk), action=AuditAction.TRANSITION
    ).order_by("-id")
    for entry in entries.only("actor_id", "changes"):
        changes = entry.changes or {}
        if changes.get("tour") == tour and changes.get("etat") == [Etat.BROUILLON, Etat.EN_VALIDATION]:
            if entry.actor_id is not None:
                staff = parties_of(convention).epn_staff
                if entry.actor_id in staff:
                    return frozenset({entry.actor_id})
            break
    return parties_of(convention).epn_staff


# --- Sending, once ---------------------------------------------------------------------------------


SUBJECTS = {
    (DEMANDE, pure.StepKind.VISA): "Visa demandé : {titre}",
    (DEMANDE, pure.StepKind.SIGNATURE): "Signature demandée : {titre}",
    (RELANCE, pure.StepKind.VISA): "Rappel : votre visa est attendu sur « {titre} »",
    (RELANCE, pure.StepKind.SIGNATURE): "Rappel : votre signature est attendue sur « {titre} »",
    REFUS: "Convention refusée : {titre}",
    SIGNATURE: "Nouvelle signature : {titre}",
    FIN: "Convention signée par toutes les parties : {titre}",
    destinataires.ExpiryKind.ECHEANCE: "Échéance dans {jours} : {titre}",
    destinataires.ExpiryKind.RECONDUCTION: "Reconduction tacite : {titre}, dénonciation avant le {date}",
}


def send_once(
    key: str,
    convention: Convention,
    nature: str,
    users,
    *,
    subject: str,
    template: str,
    context: dict,
    attachments=(),
) -> bool:
    """One message per user, under ``key``: the row and the sending share one transaction.

    Returns False when ``key`` was sent already (or nobody is to be told). A mail server that
    refuses rolls the row back and raises: the task fails, and a later run may try again.
    """
    recipients = list(User.objects.filter(pk__in=set(users), is_active=True).order_by("email"))
    if not recipients:
        return False
    link = mail.site_url(convention.get_absolute_url())
    messages = [
        mail.message(
            to=user.email,
            subject=subject,
            template=template,
            context={**context, "convention": convention, "url": link, "destinataire": user},
            attachments=attachments,
        )
        for user in recipients
    ]
    try:
        with transaction.atomic():
            Envoi.objects.create(cle=key, convention=convention, nature=nature, destinataires=len(messages))
            mail.send(messages)
    except IntegrityError:
        return False
    return True


def _round(convention: Convention, tour: int):
    decisions = list(convention.decisions.filter(tour=tour).order_by("id"))
    return selectors.circuit_progress(convention, decisions), decisions


@task()
def notify(  # noqa: C901 (one branch per event, each short)
    event: str,
    convention_id: int,
    tour: int,
    step: int | None = None,
    decision_id: int | None = None,
    delegation_id: int | None = None,
) -> bool:
    """The e-mail of one event of the circuit (enqueued by the hooks above)."""
    convention = (
        Convention.objects.select_related("structure", "collectivite").filter(pk=convention_id).first()
    )
    if convention is None:
        return False
    titre = convention.titre
    if event == DEMANDE:
        if convention.etat != Etat.EN_VALIDATION or convention.tour != tour:
            return False  # withdrawn or resubmitted before the worker ran: nothing to ask
        progress, _ = _round(convention, tour)
        if progress is None or step not in destinataires.open_steps(progress):
            return False
        current = progress.steps[step]
        users = destinataires.step_request_recipients(progress, step, people_of(convention))
        return send_once(
            f"{DEMANDE}:{convention.pk}:{tour}:{step}",
            convention,
            DEMANDE,
            users,
            subject=SUBJECTS[DEMANDE, current.step.kind].format(titre=titre),
            template="conventions/emails/demande.txt",
            context={"etape": current.step, "relance": False},
        )
    if event == DELEGATION:
        delegation = convention.delegations.filter(pk=delegation_id, tour=tour).first()
        if delegation is None or convention.etat != Etat.EN_VALIDATION or convention.tour != tour:
            return False
        progress, _ = _round(convention, tour)
        if progress is None or delegation.etape not in destinataires.open_steps(progress):
            return False
        current = progress.steps[delegation.etape]
        return send_once(
            f"{DELEGATION}:{delegation.pk}",
            convention,
            DEMANDE,
            [delegation.delegataire_id],
            subject=SUBJECTS[DEMANDE, current.step.kind].format(titre=titre),
            template="conventions/emails/demande.txt",
            context={"etape": current.step, "relance": False, "delegation": delegation},
        )
    if event == REFUS:
        decision = Decision.objects.filter(pk=decision_id, convention=convention).first()
        if decision is None:
            return False
        progress, _ = _round(convention, tour)
        users = destinataires.refusal_recipients(
            progress,
            people_of(convention),
            submitters=submitters_of(convention, tour),
            refused_by=decision.par_id,
        )
        return send_once(
            f"{REFUS}:{convention.pk}:{tour}",
            convention,
            REFUS,
            users,
            subject=SUBJECTS[REFUS].format(titre=titre),
            template="conventions/emails/refus.txt",
            context={"decision": decision},
        )
    if event == SIGNATURE:
        decision = Decision.objects.filter(pk=decision_id, convention=convention).first()
        if decision is None:
            return False
        users = destinataires.signature_recipients(parties_of(convention), signed_by=decision.par_id)
        return send_once(
            f"{SIGNATURE}:{decision.pk}",
            convention,
            SIGNATURE,
            users,
            subject=SUBJECTS[SIGNATURE].format(titre=titre),
            template="conventions/emails/signature.txt",
            context={"decision": decision},
        )
    if event == FIN:
        if not convention.pdf_signe:
            return False
        with convention.pdf_signe.open("rb") as handle:
            pdf = handle.read()
        name = f"{convention.reference or 'convention'}-signee.pdf"
        return send_once(
            f"{FIN}:{convention.pk}:{tour}",
            convention,
            FIN,
            destinataires.end_recipients(parties_of(convention)),
            subject=SUBJECTS[FIN].format(titre=titre),
            template="conventions/emails/fin.txt",
            context={"empreinte": convention.pdf_signe_sha256, "fichier": name},
            attachments=[(name, pdf, "application/pdf")],
        )
    raise ValueError(f"Unknown notification event: {event}")


# --- The daily task: reminders, échéance alerts, tacit-renewal notices ------------------------------------


def _opened_at(convention: Convention, step: int, decisions: list[Decision]) -> dt.datetime:
    """When ``step`` was asked for: its request's sending, else the decision that opened it."""
    sent = Envoi.objects.filter(cle=f"{DEMANDE}:{convention.pk}:{convention.tour}:{step}").first()
    if sent is not None:
        return sent.envoye_le
    earlier = [d.at for d in decisions if d.etape < step]
    return max(earlier) if earlier else convention.updated_at


def send_reminders(now: dt.datetime) -> int:
    sent = 0
    for convention in Convention.objects.filter(etat=Etat.EN_VALIDATION).select_related("structure"):
        progress, decisions = _round(convention, convention.tour)
        if progress is None:
            continue
        opened = {
            index: _opened_at(convention, index, decisions) for index in destinataires.open_steps(progress)
        }
        for reminder in destinataires.reminders_due(
            progress, opened, people_of(convention), now=now, period_days=settings.ANCRAGE_REMINDER_DAYS
        ):
            step = progress.steps[reminder.step]
            waited = (now - opened[reminder.step]).days
            sent += send_once(
                f"{RELANCE}:{convention.pk}:{convention.tour}:{reminder.step}:{reminder.user}:{reminder.period}",
                convention,
                RELANCE,
                [reminder.user],
                subject=SUBJECTS[RELANCE, step.step.kind].format(titre=convention.titre),
                template="conventions/emails/demande.txt",
                context={"etape": step.step, "relance": True, "jours": waited},
            )
    return sent


def send_expiry_notices(today: dt.date) -> int:
    sent = 0
    thresholds = settings.ANCRAGE_EXPIRY_ALERT_DAYS
    for convention in Convention.objects.filter(etat=Etat.SIGNEE).select_related("structure", "collectivite"):
        notice = destinataires.expiry_notice(selectors.terms_of(convention), today, thresholds)
        if notice is None:
            continue
        renewed_end = pure.next_term_end(notice.term_end, selectors.terms_of(convention).term_months)
        sent += send_once(
            f"{notice.kind}:{convention.pk}:{notice.reference.isoformat()}:{notice.threshold}",
            convention,
            str(notice.kind),
            destinataires.expiry_recipients(notice.kind, parties_of(convention)),
            subject=SUBJECTS[notice.kind].format(
                titre=convention.titre,
                jours=nombre(notice.days_left, "jour"),
                date=notice.reference.strftime("%d/%m/%Y"),
            ),
            template=f"conventions/emails/{notice.kind}.txt",
            context={"avis": notice, "fin_reconduite": renewed_end},
        )
    return sent


@task()
def daily() -> dict:
    """Every morning (``ancrage planificateur``): reminders, then échéance alerts and notices."""
    reminders = send_reminders(timezone.now())
    notices = send_expiry_notices(timezone.localdate())
    logger.info("Daily notifications: %s reminders, %s échéance notices", reminders, notices)
    return {"relances": reminders, "echeances": notices}
