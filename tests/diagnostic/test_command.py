import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from tests.diagnostic.test_engine import HEADER

FIXTURES = Path(__file__).parents[1] / "fixtures"
RENNES = FIXTURES / "insee" / "rennes-iris-2016.csv"


def test_command_writes_the_documented_json_and_pdf(tmp_path):
    """No database: the command works on files only (this test has no ``db`` fixture)."""
    from ancrage.demo.diagnostic import usagers_csv
    from ancrage.territoire.insee import read_insee

    usagers = tmp_path / "usagers.csv"
    usagers.write_bytes(usagers_csv(read_insee(RENNES), year=2024, seed=1, senior_factor=0.3))
    out, pdf = tmp_path / "diag.json", tmp_path / "diag.pdf"
    call_command(
        "diagnostic",
        "--population",
        str(RENNES),
        "--usagers",
        str(usagers),
        "--json",
        str(out),
        "--pdf",
        str(pdf),
        "--annee",
        "2024",
        "--qpv",
        "352381101,352381102",
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert {"secteurs", "categories", "cibles", "unite", "non_places"} <= set(result)
    assert result["unite"] == "personnes"
    assert {
        "code",
        "nom",
        "population",
        "usagers",
        "taux_pour_mille",
        "ic95",
        "ratio_standardise",
        "sous_frequente",
    } <= set(result["secteurs"][0])
    assert {
        "dimension",
        "categorie",
        "population",
        "usagers",
        "part_population",
        "part_usagers",
        "indice_representation",
        "ic95",
        "sous_represente",
        "usagers_manquants",
        "approximation",
    } <= set(result["categories"][0])
    assert {"rang", "dimension", "categorie", "secteur", "priorites", "score", "explication"} <= set(
        result["cibles"][0]
    )
    flagged = {(c["dimension"], c["categorie"]) for c in result["categories"] if c["sous_represente"]}
    assert flagged == {("age", "60-74"), ("age", "75+")}
    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "Publics cibles prioritaires" in text


def test_command_refuses_a_bad_file_with_a_located_message(tmp_path):
    bad = tmp_path / "usagers.csv"
    bad.write_text(HEADER + "\nu1;1990;;X;;;352380101;;;\n", encoding="utf-8")
    with pytest.raises(CommandError, match="ligne 2, colonne sexe"):
        call_command(
            "diagnostic", "--population", str(RENNES), "--usagers", str(bad), "--json", str(tmp_path / "o")
        )


def test_command_on_aggregated_counts_at_commune_level(tmp_path):
    counts = tmp_path / "agrege.csv"
    counts.write_text("code_secteur;dimension;categorie;usagers\n35238;total;;400\n35238;age;60-74;5\n")
    out = tmp_path / "o.json"
    call_command(
        "diagnostic",
        *("--population", str(RENNES), "--usagers", str(counts), "--format", "agrege"),
        *("--niveau", "commune", "--json", str(out)),
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert [s["code"] for s in result["secteurs"]] == ["35238"] and result["secteurs"][0]["usagers"] == 400


def test_worker_runs_pending_jobs(db, settings):
    from ancrage.diagnostic import jobs
    from ancrage.diagnostic.models import ImportJob
    from tests.organisations.factories import StructureFactory

    job = ImportJob.objects.create(
        structure=StructureFactory(), kind="population", fichier="r.csv", sha256=""
    )
    jobs._keep_file(job, RENNES.read_bytes())
    call_command("worker-diagnostic", "--once")
    job.refresh_from_db()
    assert job.state == ImportJob.State.PRET and job.apercu["lignes"][0][0] == "352380101"
