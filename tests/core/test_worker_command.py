"""The base of the worker commands: requeue the stale jobs, run what waits, say how many."""

from io import StringIO

import pytest
from django.core.management import call_command, load_command_class

from ancrage.conventions import jobs as conventions_jobs
from ancrage.core import jobs as core_jobs
from ancrage.core.jobs import WorkerCommand
from ancrage.diagnostic import jobs as diagnostic_jobs
from ancrage.partenaires import jobs as partenaires_jobs


class FakeJobs:
    def __init__(self, recovered, done):
        self.counts = {"recover_stale": recovered, "run_pending": done}
        self.calls = []

    def recover_stale(self):
        self.calls.append("recover_stale")
        return self.counts["recover_stale"]

    def run_pending(self):
        self.calls.append("run_pending")
        return self.counts["run_pending"]


def _command(fake):
    class Command(WorkerCommand):
        recovered_message = ("{n} relancé.", "{n} relancés.")
        done_message = ("{n} traité.", "{n} traités.")

    Command.jobs = fake
    return Command()


def test_one_pass_requeues_first_then_runs_and_says_how_many():
    fake, out = FakeJobs(recovered=2, done=3), StringIO()
    call_command(_command(fake), "--once", stdout=out)
    assert fake.calls == ["recover_stale", "run_pending"]
    assert out.getvalue().splitlines() == ["2 relancés.", "3 traités."]


def test_a_pass_with_nothing_to_do_prints_nothing():
    fake, out = FakeJobs(recovered=0, done=0), StringIO()
    call_command(_command(fake), "--once", stdout=out)
    assert fake.calls == ["recover_stale", "run_pending"] and out.getvalue() == ""


def test_without_once_it_passes_again_after_each_interval(monkeypatch):
    fake, pauses = FakeJobs(recovered=0, done=1), []

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 2:
            raise KeyboardInterrupt  # the operator stops the worker

    monkeypatch.setattr(core_jobs.time, "sleep", sleep)
    with pytest.raises(KeyboardInterrupt):
        call_command(_command(fake), "--interval", "0.5", stdout=StringIO())
    assert pauses == [0.5, 0.5] and fake.calls == ["recover_stale", "run_pending"] * 2


@pytest.mark.parametrize(
    ("app", "name", "queue"),
    [
        ("ancrage.diagnostic", "worker-diagnostic", diagnostic_jobs),
        ("ancrage.conventions", "worker-conventions", conventions_jobs),
        ("ancrage.partenaires", "worker-partenaires", partenaires_jobs),
    ],
)
def test_each_worker_command_runs_its_own_queue(app, name, queue):
    command = load_command_class(app, name)
    assert isinstance(command, WorkerCommand) and command.jobs is queue
    assert all("{n}" in form for form in (*command.recovered_message, *command.done_message))
