"""E-mails of the examination: to the référents when the EPN (re)submits, to the EPN's staff when
the référent asks for a correction or decides. Sent once the transaction commits, so that a
rolled-back transition never announces anything (``core.mail.send_on_commit``)."""

from ancrage.core import mail
from ancrage.dossiers import selectors
from ancrage.dossiers.enums import CREER
from ancrage.dossiers.models import Dossier, Traitement
from ancrage.dossiers.workflow import DECIDED_STATES, DossierAction, DossierState

SUBJECTS = {
    DossierAction.DEPOSER: "Nouveau dossier déposé : {titre}",
    DossierAction.REDEPOSER: "Dossier corrigé et redéposé : {titre}",
    DossierAction.DEMANDER_CORRECTION: "Correction demandée sur votre dossier : {titre}",
    "decision": "Décision sur votre dossier : {titre}",
}


def _kind(entry: Traitement) -> str | None:
    if entry.operation == CREER:
        return None
    action = DossierAction(entry.operation)
    if action in (DossierAction.DEPOSER, DossierAction.REDEPOSER, DossierAction.DEMANDER_CORRECTION):
        return action
    if DossierState(entry.etat_apres) in DECIDED_STATES:
        return "decision"
    return None


def recipients(dossier: Dossier, kind: str) -> list[str]:
    if kind in (DossierAction.DEPOSER, DossierAction.REDEPOSER):
        return selectors.referent_emails(dossier.structure)
    return selectors.epn_staff_emails(dossier.structure)


def notify(dossier: Dossier, entry: Traitement, *, site_url: str = "") -> None:
    kind = _kind(entry)
    if kind is None:
        return
    to = recipients(dossier, kind)
    if not to:
        return
    context = {
        "dossier": dossier,
        "entry": entry,
        "kind": str(kind),
        "url": f"{site_url.rstrip('/')}{dossier.get_absolute_url()}"
        if site_url
        else mail.site_url(dossier.get_absolute_url()),
    }
    subject = SUBJECTS[kind].format(titre=dossier.titre)
    email = mail.message(to=to, subject=subject, template="dossiers/emails/notification.txt", context=context)
    mail.send_on_commit(lambda: [email])
