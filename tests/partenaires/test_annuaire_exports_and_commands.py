"""The directory's exports against the standard's own schema (frictionless), and the operators'
commands ``annuaire-importer`` / ``annuaire-exporter`` on the same services as the pages."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from frictionless import Resource, Schema

from ancrage.core import csv_safe
from ancrage.partenaires import services, standard
from ancrage.partenaires.models import Partenaire
from tests.partenaires.factories import epn_with_animateur

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "partenaires"
# The standard's own Frictionless table schema (LaMednum/standard-mediation-num v1.0.2), as shipped.
SCHEMA_PATH = Path(standard.__file__).resolve().parent.parent / "data" / "schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
FIELD_NAMES = [item["name"] for item in SCHEMA["fields"]]
# The three real files of the Cartographie nationale, in the order the bench loads them.
CARTOGRAPHIE = ("charente-188-lieux.json", "paca-646-lieux.json", "nouvelle-caledonie-90-lieux.json")


def frictionless_errors(data: bytes, fmt: str) -> list:
    """Every error frictionless finds in an export, validated against schema.json."""
    schema = Schema.from_descriptor(SCHEMA)
    if fmt == "csv":
        resource = Resource(data=data, format="csv", schema=schema)
    else:
        items = json.loads(data)
        assert all(set(item) <= set(FIELD_NAMES) for item in items)
        # Each object laid out on the schema's columns (a key left out is an empty cell).
        rows = [FIELD_NAMES, *([item.get(name) for name in FIELD_NAMES] for item in items)]
        resource = Resource(data=rows, schema=schema)
    report = resource.validate()
    return report.flatten(["rowNumber", "fieldName", "type", "note"])


def round_trip(name: str):
    epn, animateur = epn_with_animateur()
    services.import_directly(
        acting_user=animateur, epn=epn, data=(FIXTURES / name).read_bytes(), filename=name
    )
    return epn, animateur


def _exports_validate(name: str):
    epn, animateur = round_trip(name)
    count = Partenaire.objects.of_epn(epn).count()
    for fmt in ("csv", "json"):
        body = services.annuaire_export(acting_user=animateur, epn=epn, fmt=fmt)
        assert frictionless_errors(body, fmt) == [], fmt
    csv_body = services.annuaire_export(acting_user=animateur, epn=epn, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(csv_body.decode("utf-8"))))
    assert len(rows) == count and not csv_body.startswith(b"\xef\xbb\xbf")
    return epn, animateur, rows


def test_the_standard_exports_of_the_paca_extract_validate_with_frictionless():
    epn, animateur, rows = _exports_validate("paca-extrait-quirks.json")
    # To the letter: a telephone and a longitude keep their sign, no formula escape.
    assert any(row["telephone"].startswith("+33") for row in rows)
    assert not any(value.startswith(csv_safe.ESCAPE) for row in rows for value in row.values())
    # The "tableur" download is the one that escapes: frictionless finds its escaped cells.
    tableur = services.annuaire_export(acting_user=animateur, epn=epn, fmt="tableur")
    assert tableur.startswith(b"\xef\xbb\xbf")
    assert "'+33" in tableur.decode("utf-8-sig")
    assert frictionless_errors(tableur, "csv")


@pytest.mark.slow
def test_the_standard_exports_of_the_whole_paca_file_validate_with_frictionless():
    _, _, rows = _exports_validate("paca-646-lieux.json")
    assert len(rows) > 600
    assert any(row["longitude"].startswith("-") or row["telephone"].startswith("+") for row in rows)


def test_importer_dry_run_then_import_then_export(tmp_path, capsys):
    epn, _ = epn_with_animateur()
    path = FIXTURES / "charente-meme-siret.json"
    call_command("annuaire-importer", str(path), "--lieu", str(epn.pk), "--dry-run")
    out = capsys.readouterr().out
    assert "17 lieux lus" in out and "à vérifier : « UNION DEP ASSOCIATIONS FAMILLE »" in out
    assert "Simulation : rien n’est importé." in out
    assert not Partenaire.objects.of_epn(epn).exists()
    call_command("annuaire-importer", str(path), "--lieu", str(epn.pk))
    out = capsys.readouterr().out
    created = Partenaire.objects.of_epn(epn).count()
    assert f"{created} créés, 0 mis à jour" in out and created > 6
    # Loaded again: nothing added, everything found.
    call_command("annuaire-importer", str(path), "--lieu", str(epn.pk))
    assert "0 créé," in capsys.readouterr().out
    assert Partenaire.objects.of_epn(epn).count() == created
    for fmt in ("csv", "json", "tableur"):
        out_file = tmp_path / f"annuaire.{fmt}"
        call_command("annuaire-exporter", "--lieu", str(epn.pk), "--format", fmt, "-o", str(out_file))
        assert out_file.read_bytes() == services.annuaire_export(acting_user=None, epn=epn, fmt=fmt)
    assert frictionless_errors((tmp_path / "annuaire.csv").read_bytes(), "csv") == []


def test_importer_refuses_an_unreadable_file_and_a_place_that_is_no_epn(tmp_path):
    epn, _ = epn_with_animateur()
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(CommandError, match="x.csv"):
        call_command("annuaire-importer", str(bad), "--lieu", str(epn.pk))
    with pytest.raises(CommandError, match="Aucun lieu"):
        call_command("annuaire-importer", str(bad), "--lieu", "999999")
    assert not Partenaire.objects.exists()


@pytest.mark.slow
def test_the_three_real_files_load_one_after_the_other_with_no_error(tmp_path, capsys):
    """What ``make bench`` measures, end to end through the command: copies of the three files of
    the Cartographie nationale, into one EPN's directory."""
    epn, _ = epn_with_animateur()
    total = 0
    for name in CARTOGRAPHIE:
        copy = tmp_path / name
        copy.write_bytes((FIXTURES / name).read_bytes())
        call_command("annuaire-importer", str(copy), "--lieu", str(epn.pk))
        out = capsys.readouterr().out
        assert "écarté :" not in out and "Importé dans l’annuaire" in out
        total = Partenaire.objects.of_epn(epn).count()
    assert total > 800
