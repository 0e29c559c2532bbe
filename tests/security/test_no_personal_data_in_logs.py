"""No usager's data reaches the logs: imports (good, bad and buggy files) and the main pages are run
under a log capture at DEBUG level, and no identifiant, e-mail or birth year appears in any record."""

import io
import logging
from pathlib import Path

import pytest
from django.urls import reverse

from ancrage.core.log_privacy import MaskPersonalData, mask
from ancrage.diagnostic.models import ImportJob
from ancrage.frequentation import readers
from ancrage.organisations.enums import Role
from tests.organisations.factories import MembershipFactory

FIXTURES = Path(__file__).parents[1] / "fixtures"
HEADER = ";".join(readers.USAGERS_COLUMNS)
SECRETS = ["jeanne.secrete@exemple.org", "ZQXW-4417", "1917", "1923"]
GOOD = "\n".join(
    [
        HEADER,
        "jeanne.secrete@exemple.org;1917;;F;7;retraité;352380101;35238;2024-09-12;CCAS",
        "ZQXW-4417;1923;;H;;;352380102;35238;2024-10-03;",
    ]
).encode()
# Bad cells quoting the data: the refusal message quotes them to the user, never to the logs.
BAD = "\n".join(
    [HEADER, "ZQXW-4417;19x17;;Q;;;999999999;35238;2024-99-12;", "jeanne.secrete@exemple.org;1923"]
).encode()


def _text(records) -> str:
    lines = []
    for record in records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def _upload(client, epn, kind, data, name):
    upload = io.BytesIO(data)
    upload.name = name
    client.post(reverse("diagnostic:import", args=[epn.pk, kind]), {"fichier": upload, "format": "ancrage"})
    return ImportJob.objects.latest("id")


def test_imports_and_pages_log_no_usager_data(client, db, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    membership = MembershipFactory(role=Role.RESPONSABLE)
    user, epn = membership.user, membership.structure
    client.force_login(user)
    job = _upload(
        client, epn, "population", (FIXTURES / "insee" / "rennes-iris-2016.csv").read_bytes(), "p.csv"
    )
    client.post(job.get_absolute_url(), {"action": "confirmer"})

    job = _upload(client, epn, "frequentation", GOOD, "usagers.csv")
    client.get(job.get_absolute_url())
    client.post(job.get_absolute_url(), {"action": "confirmer"})
    job.refresh_from_db()
    assert job.state == ImportJob.State.TERMINE, job.erreurs
    bad = _upload(client, epn, "frequentation", BAD, "usagers.csv")
    assert bad.state == ImportJob.State.REFUSE
    client.get(bad.get_absolute_url())

    # A reader bug whose message quotes a cell: logged with its traceback, not its message.
    # (Built from SECRETS: the traceback shows this source line, which must not hold them itself.)
    quoted = f"invalid literal for int() with base 10: '{SECRETS[1]}' ({SECRETS[0]})"

    def buggy(*args, **kwargs):
        raise ValueError(quoted)

    monkeypatch.setattr(readers, "scan_usagers", buggy)  # what the job reads the usagers file with
    buggy_job = _upload(client, epn, "frequentation", GOOD, "usagers.csv")
    assert buggy_job.state == ImportJob.State.REFUSE
    monkeypatch.undo()

    client.get(reverse("diagnostic:epn", args=[epn.pk]))
    url = reverse("frequentation:usager", args=[epn.pk])
    client.post(url, {"identifiant": "ZQXW-4417", "action": "rechercher"})
    client.post(url, {"identifiant": "ZQXW-4417", "action": "exporter"})
    client.post(url, {"identifiant": "ZQXW-4417", "action": "effacer"})  # no confirmation: 400, logged
    client.post(url, {"identifiant": "ZQXW-4417", "action": "effacer", "confirmation": "on"})
    client.post(url, {"identifiant": "inconnu@exemple.org", "action": "exporter"})

    logged = _text(caplog.records)
    assert any("unexpected ValueError" in r.getMessage() for r in caplog.records)
    for secret in SECRETS:
        assert secret not in logged, secret


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("AXES: login failed for jeanne.dupont@exemple.fr from 10.0.0.1", "j…@exemple.fr"),
        ("rien à masquer", "rien à masquer"),
    ],
)
def test_the_log_filter_masks_e_mail_addresses(message, expected):
    record = logging.LogRecord("axes", logging.WARNING, __file__, 1, "%s", (message,), None)
    assert MaskPersonalData().filter(record) is True
    assert expected in record.getMessage() and "jeanne.dupont" not in record.getMessage()
    assert mask("a@b.fr, c.d@e.org") == "a…@b.fr, c…@e.org"
