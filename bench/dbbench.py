"""Database, document and web measures (phase 2 of docs/performance.md), run in a child process of ``run.py``.

One child per database: it creates a fresh database (a SQLite file under ``bench/data/<tier>/``,
or a PostgreSQL database ``ancrage_bench_<tier>_<pid>`` it creates and drops), sets Django up on it
with the test settings (fast password hashing, no TOTP enforcement, no login throttling), migrates
it, loads the demo (accounts, a convention, a dossier) and imports the tier's population for the
demo EPN. Then it runs the measures asked for, each interleaved with its baseline in this same
process, and prints one JSON object: ``{measure key: {"times": [...], "baseline_times": [...],
...}}``. ``run.py`` turns it into summary entries.

Usage (``run.py`` does it)::

    python bench/dbbench.py --db postgresql --data bench/data/commune --runs 3 import diagnostic

PostgreSQL is reached through ``BENCH_POSTGRES_URL`` (default
``postgres://postgres@127.0.0.1:5432/postgres``): the bench database is created next to it.
Load for the web measure stays on loopback (127.0.0.1).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import hashlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DEMO_EPN = "EPN du Blosne (démo)"
REFERENCE_YEAR = 2024  # generator.REFERENCE_YEAR (kept here: this module imports no numpy early)
KEYS = ("import", "diagnostic", "documents", "web", "annuaire")
# The three real files of the Cartographie nationale (tests/fixtures/partenaires/SOURCE.md), in the
# order they are loaded into one EPN's directory: the directory grows from 0 to about 900 entries.
CARTOGRAPHIE = ("charente-188-lieux.json", "paca-646-lieux.json", "nouvelle-caledonie-90-lieux.json")
CARTOGRAPHIE_DIR = REPO / "tests" / "fixtures" / "partenaires"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def alternate(fn, baseline, runs: int, before=None):
    """Like run.py's ``alternate``; ``before`` (untimed) runs before each timed call of ``fn``."""
    baseline()
    if before:
        before()
    fn()
    times, base = [], []
    for _ in range(runs):
        for target, out in ((baseline, base), (fn, times)):
            if target is fn and before:
                before()
            gc.collect()
            start = time.perf_counter()
            target()
            out.append(time.perf_counter() - start)
    return times, base


def rss_mib(field: str = "VmHWM") -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1)) / 1024


# --- Database lifecycle -----------------------------------------------------------------------------


def _pg_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def fresh_database(db: str, data_dir: Path):
    """A new, empty database; yields its URL and removes it afterwards."""
    if db == "sqlite":
        path = data_dir / f"bench-{os.getpid()}.sqlite3"
        for p in data_dir.glob(f"{path.name}*"):
            p.unlink()
        try:
            yield f"sqlite:///{path}"
        finally:
            for p in data_dir.glob(f"{path.name}*"):
                p.unlink()
        return
    import psycopg

    name = f"ancrage_bench_{data_dir.name}_{os.getpid()}"
    admin = ADMIN_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_env(url: str, var_dir: Path) -> dict:
    return {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "ancrage.config.settings.test",
        "ANCRAGE_VAR_DIR": str(var_dir),
    }


def setup_django(url: str, var_dir: Path, migrate: bool = True) -> None:
    import logging

    os.environ.update(django_env(url, var_dir))
    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # its progress lines would flood stderr
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


# --- The world: demo data, and the tier's population for the demo EPN -------------------------------


def load_world(data_dir: Path):
    from ancrage.demo.loader import load_demo
    from ancrage.organisations.models import Structure
    from ancrage.territoire import insee
    from ancrage.territoire import services as territoire_services

    start = time.perf_counter()
    load_demo()
    structure = Structure.objects.get(nom=DEMO_EPN)
    path = data_dir / "population.csv"
    contenu = path.read_bytes()
    territoire_services.population_import(
        acting_user=None,
        structure=structure,
        population=insee.read_insee(contenu, path.name),
        fichier=path.name,
        sha256=hashlib.sha256(contenu).hexdigest(),
    )
    log(f"  world loaded in {time.perf_counter() - start:.1f} s")
    return structure


def import_usagers(structure, path: Path):
    """The apply step of an usagers import job (``diagnostic.jobs._apply``), minus the job row:
    the upload checks, then the streamed reader with the known sectors feeding the import service
    (raw rows and per-profile aggregates, chunk by chunk) in one transaction.

    The file is read from its path, block by block, and never held whole. (The job reads its
    upload from its database row: see docs/performance.md, "What is left".)"""
    from django.db import transaction

    from ancrage.core import safe_files
    from ancrage.frequentation import readers
    from ancrage.frequentation import services as frequentation_services
    from ancrage.territoire import services as territoire_services

    with open(path, "rb") as f:
        sha256 = hashlib.file_digest(f, "sha256").hexdigest()
        f.seek(0)
        head = f.read(readers.HEAD_BYTES)
    # For a CSV file, the upload checks are its size (not limited here), and its kind, read from
    # its head.
    safe_files.check_upload(
        head, filename=path.name, accept={"csv"}, limits=safe_files.Limits(max_size=1 << 62)
    )
    known = territoire_services.known_sector_codes(structure)
    # As the job does: the file is streamed (validated while written) inside the transaction.
    stream = readers.scan_usagers(path, path.name, secteurs_connus=known)
    with transaction.atomic():
        return frequentation_services.frequentation_import(
            acting_user=None, structure=structure, frequentation=stream, sha256=sha256
        )


# --- import ----------------------------------------------------------------------------------------


def _raw_table(columns: list[str]) -> str:
    return "CREATE TABLE bench_raw (" + ", ".join(f'"{c}" text' for c in columns) + ")"


def copy_baseline(path: Path):
    """PostgreSQL's own limit: a bare COPY of the file into an unindexed table, committed."""
    from django.db import connection, transaction

    with open(path, encoding="utf-8") as f:
        columns = f.readline().strip().split(";")

    def run():
        with transaction.atomic(), connection.cursor() as c:
            c.execute("DROP TABLE IF EXISTS bench_raw")
            c.execute(_raw_table(columns))
            sql = "COPY bench_raw FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER true)"
            with c.cursor.copy(sql) as copy, open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)

    return run


def executemany_baseline(path: Path):
    """SQLite's own limit: ``executemany`` of the raw rows into an unindexed table, committed."""
    from django.db import connection, transaction

    with open(path, encoding="utf-8") as f:
        columns = f.readline().strip().split(";")
    insert = f"INSERT INTO bench_raw VALUES ({', '.join('?' * len(columns))})"

    def run():
        with transaction.atomic(), connection.cursor() as c:
            c.execute("DROP TABLE IF EXISTS bench_raw")
            c.execute(_raw_table(columns))
            with open(path, encoding="utf-8", newline="") as f:
                reader = csv.reader(f, delimiter=";")
                next(reader)
                c.cursor.executemany(insert, reader)

    return run


def measure_import(db: str, structure, data_dir: Path, runs: int, url: str, var_dir: Path) -> dict:
    from ancrage.frequentation import services as frequentation_services
    from ancrage.frequentation.models import FrequentationImport, Usager

    path = data_dir / "usagers.csv"
    state = {}

    def clear():
        for dataset in FrequentationImport.objects.filter(structure=structure, fichier=path.name):
            frequentation_services.frequentation_delete(acting_user=None, dataset=dataset)
        if db == "postgresql":
            # The rows just deleted are vacuumed here, untimed: otherwise autovacuum goes through
            # them during the next timed import, on one of the two cores (the baseline's table is
            # created anew each time and has nothing to vacuum).
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM {connection.ops.quote_name(Usager._meta.db_table)}")

    def run():
        state["dataset"] = import_usagers(structure, path)

    baseline = copy_baseline(path) if db == "postgresql" else executemany_baseline(path)
    times, base = alternate(run, baseline, runs, before=clear)
    dataset = state["dataset"]
    # Peak memory of a fresh process doing one import (rolled back), imports and setup included.
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(BENCH)!r})\n"
        "import dbbench\n"
        f"dbbench.setup_django({url!r}, __import__('pathlib').Path({str(var_dir)!r}), migrate=False)\n"
        "from django.db import transaction\n"
        "from ancrage.organisations.models import Structure\n"
        f"s = Structure.objects.get(nom={DEMO_EPN!r})\n"
        "before = dbbench.rss_mib('VmRSS')\n"
        "with transaction.atomic():\n"
        f"    dbbench.import_usagers(s, __import__('pathlib').Path({str(path)!r}))\n"
        "    transaction.set_rollback(True)\n"
        "print(json.dumps([before, dbbench.rss_mib()]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=7200, check=True
    )
    before, peak = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "times": times,
        "baseline_times": base,
        "extra": {
            "peak_rss_mib": round(peak, 1),
            "rss_before_import_mib": round(before, 1),
            "profils": dataset.profils.nb_profils,
            "file_mib": round(path.stat().st_size / 2**20, 1),
        },
        "_dataset": dataset.pk,
    }


# --- diagnostic ------------------------------------------------------------------------------------

AGE_SQL = """CASE
    WHEN annee_naissance IS NULL THEN NULLIF(tranche_age, '')
    WHEN {year} - annee_naissance < 15 THEN '0-14'
    WHEN {year} - annee_naissance < 30 THEN '15-29'
    WHEN {year} - annee_naissance < 45 THEN '30-44'
    WHEN {year} - annee_naissance < 60 THEN '45-59'
    WHEN {year} - annee_naissance < 75 THEN '60-74'
    ELSE '75+' END"""


def parquet_copy(path: Path) -> Path:
    """A Parquet copy of the usagers file (written once, untimed), codes kept as text."""
    import pyarrow as pa
    from pyarrow import csv as pacsv
    from pyarrow import parquet as pq

    out = path.with_suffix(".parquet")
    if out.exists() and out.stat().st_mtime >= path.stat().st_mtime:
        return out
    text = {c: pa.string() for c in ("identifiant", "tranche_age", "sexe", "csp", "situation")}
    text |= {"code_iris": pa.string(), "code_commune": pa.string(), "oriente_par": pa.string()}
    table = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(column_types=text | {"annee_naissance": pa.int32()}),
    )
    pq.write_table(table, out)
    return out


def duckdb_baseline(path: Path):
    """DuckDB recomputing, from the raw rows of a Parquet copy, the counts the diagnostic tests:
    users per sector, and per sector × category for age, sex, CSP and situation."""
    import duckdb

    parquet = parquet_copy(path)
    con = duckdb.connect()
    sql = f"""
        WITH u AS (
            SELECT coalesce(NULLIF(code_iris, ''), code_commune) AS secteur,
                   {AGE_SQL.format(year=REFERENCE_YEAR)} AS age, sexe, csp, situation
            FROM read_parquet('{parquet}'))
        SELECT secteur, age, sexe, csp, situation, count(*) FROM u
        GROUP BY GROUPING SETS ((secteur), (secteur, age), (secteur, sexe), (secteur, csp),
                                (secteur, situation))
    """

    def run():
        return con.execute(sql).fetchall()

    return run


def measure_diagnostic(structure, dataset_id: int, data_dir: Path, runs: int) -> dict:
    from django.core.serializers.json import DjangoJSONEncoder

    from ancrage.diagnostic import services as diagnostic_services
    from ancrage.diagnostic.engine import run_diagnostic
    from ancrage.frequentation.models import FrequentationImport

    dataset = FrequentationImport.objects.get(pk=dataset_id)
    out = {}

    def run():
        inputs = diagnostic_services.inputs_of(structure, dataset, "iris")
        resultat = run_diagnostic(**inputs, reference_year=REFERENCE_YEAR)
        out["json"] = json.dumps(resultat, cls=DjangoJSONEncoder)
        out["secteurs"] = len(resultat["secteurs"])

    baseline = duckdb_baseline(data_dir / "usagers.csv")
    times, base = alternate(run, baseline, runs)
    return {
        "times": times,
        "baseline_times": base,
        "extra": {"json_kib": round(len(out["json"]) / 1024, 1), "secteurs": out["secteurs"]},
    }


# --- documents -------------------------------------------------------------------------------------


def weasyprint_one_line() -> bytes:
    import weasyprint

    return weasyprint.HTML(string="<p>Ancrage</p>").write_pdf()


def docx_one_line() -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph("Ancrage")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def measure_documents(runs: int) -> dict:
    import datetime as dt

    from ancrage.conventions import selectors
    from ancrage.conventions.documents import generate_docx, generate_pdf
    from ancrage.conventions.models import Convention
    from ancrage.conventions.platform import platform_certificate
    from ancrage.conventions.signature import Signatory, sign_pdf
    from ancrage.dossiers.documents import diagnostic_charts, render_dossier_pdf
    from ancrage.dossiers.models import Dossier

    convention = Convention.objects.filter(modele_personnalise__isnull=True).order_by("pk").first()
    dossier = Dossier.objects.order_by("pk").first()
    signatories = [
        Signatory(
            "Mme Fatou Diallo", "Présidente", "Association Lire et Écrire Ensemble", dt.date(2025, 9, 2)
        ),
        Signatory("M. Jean Martin", "Adjoint au maire", "Commune de Villeurbanne", dt.date(2025, 9, 3)),
    ]
    certificate = platform_certificate()

    def docx():
        generate_docx(convention.modele, selectors.content_for(convention))

    def signed():
        pdf = generate_pdf(convention.modele, selectors.content_for(convention))
        sign_pdf(pdf.content, signatories, box=pdf.signature_box, **certificate.signer_kwargs())

    def dossier_pdf():
        render_dossier_pdf(Dossier.objects.get(pk=dossier.pk))

    results = {}
    for key, fn, baseline in (
        ("convention_docx", docx, docx_one_line),
        ("convention_signed_pdf", signed, weasyprint_one_line),
        ("dossier_pdf", dossier_pdf, weasyprint_one_line),
    ):
        times, base = alternate(fn, baseline, runs)
        results[key] = {"times": times, "baseline_times": base, "extra": {}}
    charts = diagnostic_charts(Dossier.objects.get(pk=dossier.pk))
    results["dossier_pdf"]["extra"] = {"charts": sorted(k for k, v in charts.items() if v)}
    return results


# --- web -------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str, var_dir: Path, workers: int):
    """A production server (gunicorn, sync workers, preloaded) on loopback; yields (base URL, its Popen)."""
    port = _free_port()
    env = os.environ | django_env(url, var_dir)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "ancrage.config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            # The master imports the application (every page module, the compiled templates:
            # ancrage/config/wsgi.py) once, then forks the workers: none pays it in a request.
            "--preload",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # bounded: at most 60 s for the workers to boot
            try:
                urllib.request.urlopen(base + STATIC, timeout=2).read()
                break
            except urllib.error.HTTPError:
                raise
            except OSError:
                time.sleep(0.5)
        yield base, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


STATIC = "/static/css/dsfr-django-overrides.css"  # a file every page links to


def web_pages(structure, dataset_id: int) -> list[tuple[str, str]]:
    """The pages of the web measure: (account, path), after computing the tier's diagnostic."""
    from ancrage.diagnostic import services as diagnostic_services
    from ancrage.frequentation.models import FrequentationImport

    diagnostic = diagnostic_services.diagnostic_compute(
        acting_user=None,
        structure=structure,
        frequentation=FrequentationImport.objects.get(pk=dataset_id),
        reference_year=REFERENCE_YEAR,
    )
    return [
        ("responsable@demo.ancrage.fr", f"/diagnostic/{diagnostic.pk}/"),
        ("responsable@demo.ancrage.fr", "/partenaires/"),
        ("referent@demo.ancrage.fr", "/dossiers/a-instruire/"),
    ]


def load_command(base: str, targets, users: int, duration: float) -> tuple[list[str], str]:
    """The command line of ``load.py`` on ``targets``, and its spec file (the caller removes it)."""
    from ancrage.accounts.validators import DEMO_PASSWORD

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"base": base, "password": DEMO_PASSWORD, "pages": targets}, spec)
    command = [sys.executable, str(BENCH / "load.py"), spec.name, "--users", str(users)]
    return [*command, "--duration", str(duration)], spec.name


def measure_web(
    structure, dataset_id: int, url: str, var_dir: Path, users: int, duration: float, workers: int
):
    pages = web_pages(structure, dataset_id)
    with gunicorn(url, var_dir, workers) as (base, _server):

        def load(targets):
            command, spec = load_command(base, targets, users, duration)
            out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 300, check=True)
            os.unlink(spec)
            return json.loads(out.stdout)

        log(f"  web: {users} users × {duration:g} s on the pages, then on a static file")
        measured = load(pages)
        baseline = load([[None, STATIC]])
    return {
        "times": measured["latencies"],
        "baseline_times": baseline["latencies"],
        "extra": {
            "users": users,
            "duration_s": duration,
            "gunicorn_workers": workers,
            "requests": len(measured["latencies"]),
            "requests_per_s": round(len(measured["latencies"]) / duration, 1),
            "errors": measured["errors"],
            "error_samples": measured["error_samples"],
            "p95": measured["p95"],
            "baseline_p95": baseline["p95"],
            "baseline_requests_per_s": round(len(baseline["latencies"]) / duration, 1),
            "baseline_errors": baseline["errors"],
            "pages": measured["pages"],
        },
    }


# --- annuaire: the Cartographie's three files into one directory ------------------------------------


def measure_annuaire(runs: int) -> dict:
    """Each run: a new EPN, and the three files loaded one after the other into its directory
    through ``services.import_directly`` (what ``ancrage annuaire-importer`` runs). The figure
    that matters is the time per row of each file, as the directory grows: with indexed keys,
    the last file's must stay within 1.5× of the first's. Baseline: the reader alone on the same
    three files (``standard.read_cartographie_json``), the part of the work that does not depend
    on the directory."""
    from ancrage.organisations.enums import StructureKind
    from ancrage.organisations.models import Structure
    from ancrage.partenaires import services, standard
    from ancrage.partenaires.models import Partenaire

    files = [(name, (CARTOGRAPHIE_DIR / name).read_bytes()) for name in CARTOGRAPHIE]
    demo = Structure.objects.get(nom=DEMO_EPN)
    per_row: dict[str, list[float]] = {name: [] for name in CARTOGRAPHIE}
    matching: dict[str, list[float]] = {name: [] for name in CARTOGRAPHIE}
    sizes: dict[str, int] = {}
    rows: dict[str, int] = {}

    def load_three():
        epn = Structure.objects.create(
            reseau=demo.reseau, nom=f"EPN du banc {time.perf_counter_ns()}", kind=StructureKind.EPN
        )
        for name, data in files:
            sizes[name] = Partenaire.objects.of_epn(epn).count()
            # The matching alone (the analysis, what reads the directory), timed apart.
            start = time.perf_counter()
            services.plan_import(epn=epn, data=data, filename=name)
            matching[name].append((time.perf_counter() - start) / max(rows.get(name, 1), 1))
            start = time.perf_counter()
            outcome = services.import_directly(acting_user=None, epn=epn, data=data, filename=name)
            elapsed = time.perf_counter() - start
            rows[name] = outcome.plan.records_read
            per_row[name].append(elapsed / rows[name])

    def read_three():
        for name, data in files:
            standard.read_cartographie_json(data, file=name)

    times, base = alternate(load_three, read_three, runs)
    # The warm-up's matching was divided by a row count not known yet: left out.
    for values in (*per_row.values(), *matching.values()):
        del values[0]

    def median(values):
        return sorted(values)[len(values) // 2]

    first, last = CARTOGRAPHIE[0], CARTOGRAPHIE[-1]
    extra = {
        "files": [
            {
                "file": name,
                "rows": rows[name],
                "directory_before": sizes[name],
                "ms_per_row": round(1000 * median(per_row[name]), 3),
                "ms_per_row_min": round(1000 * min(per_row[name]), 3),
                "matching_ms_per_row": round(1000 * median(matching[name]), 3),
            }
            for name in CARTOGRAPHIE
        ],
        "per_row_ratio_last_first": round(median(per_row[last]) / median(per_row[first]), 3),
        "per_row_ratio_last_first_min": round(min(per_row[last]) / min(per_row[first]), 3),
        "matching_ratio_last_first": round(median(matching[last]) / median(matching[first]), 3),
        "per_row_ratio_target": 1.5,
    }
    log(
        "  annuaire: "
        + ", ".join(
            f"{f['file'][:12]} {f['ms_per_row']} ms/row, min {f['ms_per_row_min']}, matching "
            f"{f['matching_ms_per_row']} (directory {f['directory_before']})"
            for f in extra["files"]
        )
        + f"; last/first {extra['per_row_ratio_last_first']} (min {extra['per_row_ratio_last_first_min']})"
    )
    return {"times": times, "baseline_times": base, "extra": extra}


# --- Driver ----------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--data", type=Path, required=True, help="the tier's data directory")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--web-users", type=int, default=20)
    parser.add_argument("--web-duration", type=float, default=60.0)
    parser.add_argument("--web-workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("keys", nargs="+", choices=KEYS)
    args = parser.parse_args(argv)
    data_dir = args.data.resolve()
    results = {}
    with (
        tempfile.TemporaryDirectory(prefix="ancrage-bench-") as var,
        fresh_database(args.db, data_dir) as url,
    ):
        var_dir = Path(var)
        setup_django(url, var_dir)
        structure = load_world(data_dir)
        dataset_id = None
        if "import" in args.keys:
            log(f"  import ({args.db})")
            results["import"] = measure_import(args.db, structure, data_dir, args.runs, url, var_dir)
            dataset_id = results["import"].pop("_dataset")
        elif {"diagnostic", "web"} & set(args.keys):
            dataset_id = import_usagers(structure, data_dir / "usagers.csv").pk
        if "diagnostic" in args.keys:
            log(f"  diagnostic ({args.db})")
            results["diagnostic"] = measure_diagnostic(structure, dataset_id, data_dir, args.runs)
        if "documents" in args.keys:
            log(f"  documents ({args.db})")
            results.update(measure_documents(args.runs))
        if "annuaire" in args.keys:
            log(f"  annuaire ({args.db})")
            results["annuaire"] = measure_annuaire(args.runs)
        if "web" in args.keys:
            results["web"] = measure_web(
                structure, dataset_id, url, var_dir, args.web_users, args.web_duration, args.web_workers
            )
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
