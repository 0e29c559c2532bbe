"""The circuit's e-mails, the reminders and the échéance alerts: each sent once, to the right
people and no one else (Django's locmem outbox), with a direct link; the periodic ones through
the scheduled task, on a frozen clock (time-machine)."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from ancrage.conventions import notifications, services
from ancrage.conventions.content import add_months
from ancrage.conventions.enums import Etat
from ancrage.conventions.models import Convention, Envoi
from ancrage.exploitation import schedule
from ancrage.organisations.enums import Role
from tests.conventions.test_services import draft, generate, read
from tests.conventions.world import _member, sign_with_code

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)


def sent_to(outbox) -> list[str]:
    """Each message has one recipient: the sorted list of them."""
    assert all(len(m.to) == 1 for m in outbox), [m.to for m in outbox]
    return sorted(m.to[0] for m in outbox)


def emails(*users) -> list[str]:
    return sorted(u.email for u in users)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a service as a request would: its hooks' tasks run once it commits."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def submit(world, commit):
    convention = draft(world)
    generate(world, convention)
    return commit(services.convention_submit, acting_user=world.animateur, convention=convention)


def decide(commit, user, convention, decision="valider", commentaire=""):
    return commit(
        services.convention_decide,
        acting_user=user,
        convention=convention,
        decision=decision,
        commentaire=commentaire,
    )


def sign(commit, user, convention):
    """Sign with the one-time code (caught, not e-mailed: the circuit's own e-mails are counted)."""
    return commit(sign_with_code, user=user, convention=convention)


def test_a_round_asks_each_step_then_tells_each_signature_and_sends_the_signed_pdf_to_every_party(
    world, commit, mailoutbox
):
    elu2 = _member(Role.ELU, collectivite=world.rennes)
    outsiders = {world.other_animateur.email, world.other_partner_user.email}

    convention = submit(world, commit)
    # The first group, side by side: the EPN's, the association's and the CCAS's signatures; each
    # party's people, once, with a direct link.
    assert sent_to(mailoutbox) == emails(world.responsable, world.asso_user, world.ccas_user)
    assert all(m.subject.startswith("Signature demandée") for m in mailoutbox)
    link = f"https://ancrage.test/conventions/{convention.pk}/"
    assert all(link in m.body for m in mailoutbox)

    mailoutbox.clear()
    sign(commit, world.asso_user, convention)
    # Each signature is told to the EPN's staff; nothing opens while the group is incomplete.
    assert sent_to(mailoutbox) == emails(world.animateur, world.responsable)
    assert all(m.subject.startswith("Nouvelle signature") for m in mailoutbox)
    mailoutbox.clear()
    sign(commit, world.responsable, convention)
    assert sent_to(mailoutbox) == emails(world.animateur)  # not to the signer
    mailoutbox.clear()
    sign(commit, world.ccas_user, convention)
    # The group is complete: the collectivité's signature (mode « un »), every élu who may sign.
    requests = [m for m in mailoutbox if m.subject.startswith("Signature demandée")]
    assert sent_to(requests) == emails(world.elu, elu2)
    assert "une seule signature suffit" in requests[0].body
    assert sent_to([m for m in mailoutbox if m not in requests]) == emails(world.animateur, world.responsable)

    mailoutbox.clear()
    sign(commit, elu2, convention)
    convention.refresh_from_db()
    assert convention.etat == Etat.SIGNEE
    signature = [m for m in mailoutbox if m.subject.startswith("Nouvelle signature")]
    end = [m for m in mailoutbox if m.subject.startswith("Convention signée par toutes les parties")]
    assert len(signature) + len(end) == len(mailoutbox)
    assert sent_to(signature) == emails(world.animateur, world.responsable)
    assert sent_to(end) == emails(
        world.animateur, world.responsable, world.asso_user, world.ccas_user, world.elu, elu2
    )
    pdf = read(convention.pdf_signe)
    for message in end:
        [(name, content, mimetype)] = message.attachments
        assert (content, mimetype) == (pdf, "application/pdf") and name.endswith("-signee.pdf")
        assert convention.pdf_signe_sha256 in message.body
    assert not outsiders & {m.to[0] for m in mailoutbox}

    # Each went once: the same events again send nothing.
    count = len(mailoutbox)
    notifications.notify.call("fin", convention.pk, convention.tour)
    notifications.notify.call(
        "demande", convention.pk, convention.tour, step=len(convention.circuit["steps"]) - 1
    )
    assert len(mailoutbox) == count
    # 4 requests (3 parties side by side, then the élus), 4 signatures, the end.
    assert Envoi.objects.filter(convention=convention).count() == 9


def test_a_refusal_tells_the_submitter_and_the_parties_consulted_and_nobody_else(world, commit, mailoutbox):
    convention = submit(world, commit)
    sign(commit, world.asso_user, convention)
    mailoutbox.clear()
    decide(commit, world.ccas_user, convention, "rejeter", "Le montant de notre participation est faux.")
    # The animateur submitted; the association signed; the EPN's responsable was asked beside
    # them; the CCAS refused; the élu's step never opened.
    assert sent_to(mailoutbox) == emails(world.animateur, world.asso_user, world.responsable)
    assert all("Le montant de notre participation est faux." in m.body for m in mailoutbox)
    assert all(m.subject.startswith("Convention refusée") for m in mailoutbox)


def test_a_rolled_back_submission_announces_nothing(world, mailoutbox, django_capture_on_commit_callbacks):
    convention = draft(world)
    generate(world, convention)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.convention_submit(acting_user=world.animateur, convention=convention)
            raise RuntimeError("the request fails after the submission")
    assert mailoutbox == []


def test_reminders_every_period_without_an_answer_once_each_and_stop_when_answered(
    world, commit, mailoutbox, settings
):
    settings.ANCRAGE_REMINDER_DAYS = 7
    with time_machine.travel(MONDAY, tick=False) as clock:
        convention = submit(world, commit)
        mailoutbox.clear()

        clock.move_to(MONDAY + dt.timedelta(days=6, hours=23))
        schedule.enqueue_all()
        assert mailoutbox == []  # not 7 days yet

        clock.move_to(MONDAY + dt.timedelta(days=7, hours=1))
        schedule.enqueue_all()
        assert sent_to(mailoutbox) == emails(world.responsable, world.asso_user, world.ccas_user)
        assert all(m.subject.startswith("Rappel : votre signature est attendue") for m in mailoutbox)
        assert "depuis 7 jours" in mailoutbox[0].body
        schedule.enqueue_all()  # a second run the same period
        assert len(mailoutbox) == 3

        clock.move_to(MONDAY + dt.timedelta(days=8))
        sign(commit, world.asso_user, convention)
        mailoutbox.clear()
        clock.move_to(MONDAY + dt.timedelta(days=14, hours=1))
        schedule.enqueue_all()
        schedule.enqueue_all()
        # The association answered: the EPN and the CCAS are reminded, once, for the second period.
        assert sent_to(mailoutbox) == emails(world.responsable, world.ccas_user)


def signed_convention(world, **fields) -> Convention:
    """A convention in force, as the seal leaves it (the alerts read its state and dates only)."""
    convention = draft(world, **fields)
    Convention.objects.filter(pk=convention.pk).update(etat=Etat.SIGNEE)
    convention.refresh_from_db()
    return convention


def test_a_convention_60_days_from_its_end_is_alerted_by_the_scheduled_task_once(world, mailoutbox, settings):
    settings.ANCRAGE_EXPIRY_ALERT_DAYS = [90, 60, 30]
    today = dt.date(2026, 11, 2)
    start = add_months(today + dt.timedelta(days=60 + 1), -12)  # 12 months ending in 60 days
    convention = signed_convention(world, date_debut=start, duree_mois=12, reconduction_tacite=False)
    assert convention.date_fin == today + dt.timedelta(days=60)
    with time_machine.travel(dt.datetime(2026, 11, 2, 7, 0, tzinfo=PARIS), tick=False) as clock:
        # As the scheduler runs it: its job enqueues the daily task (run at once by the test backend).
        [job] = schedule.build(_NoStartScheduler).get_jobs()
        job.func()
        assert sent_to(mailoutbox) == emails(world.animateur, world.responsable)
        [first, _] = mailoutbox
        assert first.subject == f"Échéance dans 60 jours : {convention.titre}"
        assert "Elle ne sera pas reconduite" in first.body
        assert f"https://ancrage.test/conventions/{convention.pk}/" in first.body
        job.func()
        schedule.enqueue_all()
        assert len(mailoutbox) == 2  # a second run sends nothing

        clock.move_to(dt.datetime(2026, 12, 2, 7, 0, tzinfo=PARIS))  # 30 days left
        schedule.enqueue_all()
        assert len(mailoutbox) == 4 and mailoutbox[-1].subject.startswith("Échéance dans 30 jours")


def test_a_tacit_renewal_is_notified_to_every_party_before_the_last_day_to_denounce(world, mailoutbox):
    today = dt.date(2026, 11, 2)
    # Ends on 31 January 2027 with two months' notice: the last day to denounce is 30 November.
    convention = signed_convention(
        world, date_debut=dt.date(2026, 2, 1), duree_mois=12, reconduction_tacite=True, preavis_mois=2
    )
    with time_machine.travel(dt.datetime(2026, 11, 2, 7, 0, tzinfo=PARIS), tick=False):
        schedule.enqueue_all()
        schedule.enqueue_all()
    assert sent_to(mailoutbox) == emails(
        world.animateur, world.responsable, world.asso_user, world.ccas_user, world.elu
    )
    assert "dénonciation avant le 30/11/2026" in mailoutbox[0].subject
    assert "reconduite tacitement jusqu’au 31 janvier 2028" in mailoutbox[0].body
    assert today < dt.date(2026, 11, 30)
    assert Envoi.objects.get(convention=convention).cle == f"reconduction:{convention.pk}:2026-11-30:30"


def test_the_database_worker_runs_what_the_scheduler_enqueued(world, mailoutbox, settings, monkeypatch):
    """With production's backend: the scheduler's job writes a task row, `db_worker` runs it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    # Inside the test's transaction (autocommit off), the worker's close_old_connections() would
    # close PostgreSQL's connection: the rows it must read live in that transaction.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    start = add_months(dt.date(2026, 11, 2) + dt.timedelta(days=61), -12)
    signed_convention(world, date_debut=start, duree_mois=12)
    with time_machine.travel(dt.datetime(2026, 11, 2, 7, 0, tzinfo=PARIS), tick=False):
        [job] = schedule.build(_NoStartScheduler).get_jobs()
        job.func()
        assert mailoutbox == [] and DBTaskResult.objects.count() == 1
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert sent_to(mailoutbox) == emails(world.animateur, world.responsable)


class _NoStartScheduler:
    """Collects the jobs ``schedule.build`` adds, as APScheduler would, without starting."""

    def __init__(self, timezone):
        self.jobs = []

    def add_job(self, func, trigger, **kwargs):
        from types import SimpleNamespace

        self.jobs.append(SimpleNamespace(func=func, trigger=trigger, **kwargs))

    def get_jobs(self):
        return self.jobs
