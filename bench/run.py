"""Ancrage's benchmark harness. Run it with ``make bench TIER=commune|departement|national``.

Every measure runs at least three times, alternating with its baseline, which is measured in the
same process: these machines are shared and noisy, so the figure that travels is the ratio to
the baseline, not the absolute time. Nothing here asserts a timing; targets are reported, and
``docs/performance.md`` records the figures.

The measures are declared in :data:`REGISTRY`. Phase 1 measures the pure code (statistics,
engine, readers) in this process. Phase 2 (import, diagnostic from the database, documents, web)
runs in ``bench/dbbench.py``, one child process per database, which creates, migrates and drops
its own database and measures each of them against its baseline in that same child.

Output: a table on stdout and ``bench/results/summary.json`` (plus ``summary-<tier>.json``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(REPO) not in sys.path:  # run from a fresh clone as well as from the installed package
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from scipy import special  # noqa: E402

from ancrage.bench import generator  # noqa: E402
from ancrage.diagnostic import stats  # noqa: E402

SUMMARY_VERSION = 1

# --- Registry -------------------------------------------------------------------------------------


@dataclass
class Context:
    tier: generator.Tier
    data_dir: Path
    runs: int
    cache: dict = field(default_factory=dict)
    wanted: list = field(default_factory=list)  # the measures this run runs
    web_users: int = 20
    web_duration: float = 60.0

    def file(self, key: str) -> Path:
        return self.data_dir / self.manifest["files"][key]

    @property
    def manifest(self) -> dict:
        return json.loads((self.data_dir / "manifest.json").read_text(encoding="utf-8"))


@dataclass
class Result:
    """What a measure returns: its run times and its baseline's, in seconds."""

    times: list[float]
    baseline_times: list[float]
    baseline: str  # what the baseline is, in one line
    rows: int | None = None  # rows processed per run, for rows/s
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    name: str  # "{tier}" is replaced by the tier's name
    database: str  # "none" for pure code, else "sqlite" / "postgresql"
    description: str
    target: str | None
    run: Callable[[Context], Result] | None  # None: not yet measured
    applies: Callable[[generator.Tier], bool] = lambda tier: True
    pending: str = ""  # why it is not measured yet


REGISTRY: list[Measure] = []


def measure(name: str, *, description: str, target: str | None = None, database: str = "none", applies=None):
    def register(fn: Callable[[Context], Result]) -> Callable[[Context], Result]:
        REGISTRY.append(Measure(name, database, description, target, fn, applies or (lambda tier: True)))
        return fn

    return register


def pending(name: str, *, database: str, description: str, target: str | None, reason: str) -> None:
    REGISTRY.append(Measure(name, database, description, target, None, pending=reason))


# --- Timing ---------------------------------------------------------------------------------------


def alternate(
    fn: Callable[[], object], baseline: Callable[[], object], runs: int
) -> tuple[list[float], list[float]]:
    """Time ``fn`` and ``baseline`` ``runs`` times each, interleaved, after one untimed warm-up of each."""
    baseline()
    fn()
    times, base = [], []
    for _ in range(runs):
        for target, out in ((baseline, base), (fn, times)):
            gc.collect()
            start = time.perf_counter()
            target()
            out.append(time.perf_counter() - start)
    return times, base


def peak_rss_mib(code: str) -> float:
    """Peak resident memory (MiB) of a fresh interpreter running ``code``, imports included.

    Read from VmHWM, not getrusage: ru_maxrss survives fork and exec, so a child would report
    this (large) process's peak.
    """
    script = (
        code + "\nimport re\nstatus = open('/proc/self/status').read()\n"
        "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO, timeout=3600
    )
    return int(out.stdout.split()[-1]) / 1024  # Linux reports KiB


# --- Phase 1: pure code ---------------------------------------------------------------------------


def stats_pipeline(inputs: generator.StatsInputs) -> list[np.ndarray]:
    """The statistics calls of ``run_diagnostic``, in the same order, on ready-made arrays: one
    Benjamini-Hochberg family per question (sectors; the categories of each dimension; the cells
    of a dimension inside a flagged sector or category)."""
    sect = stats.stats_secteurs(
        inputs.usagers_secteur, inputs.total, inputs.usagers["age"], inputs.population["age"]
    )
    q_sect = stats.benjamini_hochberg(sect.pvalues)
    flagged_sect = stats.flag_shortfall(sect.usagers, sect.attendus, q_sect)
    flags = [flagged_sect]
    for name in inputs.population:
        users, pop = inputs.usagers[name], inputs.population[name]
        users_c, pop_c = users.sum(axis=0), pop.sum(axis=0)
        cat = stats.stats_categories(users_c, pop_c)
        flagged_cat = stats.flag_shortfall(cat.usagers, cat.attendus, stats.benjamini_hochberg(cat.pvalues))
        cells = stats.stats_cellules(users, pop, users_c.sum() / pop_c.sum())
        p = np.where(flagged_sect[:, None] | flagged_cat[None, :], cells.pvalues, np.nan)
        q = stats.benjamini_hochberg(p, exact_below=stats.ALPHA)
        flags.append(stats.flag_shortfall(users, cells.attendus, q))
    return flags


@measure(
    "stats_50000x30",
    description="stats.py alone, 50,000 sectors × 30 categories in 5 dimensions, ~10 M users: sector "
    "stats, category stats, cell stats, Benjamini-Hochberg, flags (the engine's calls)",
    target="median < 0.5 s",
)
def stats_50000x30(ctx: Context) -> Result:
    inputs = generator.stats_inputs(50_000, 10_000_000)
    observed = np.concatenate([u.ravel() for u in inputs.usagers.values()])
    expected = np.concatenate(
        [
            (p * (u.sum() / p.sum())).ravel()
            for p, u in zip(inputs.population.values(), inputs.usagers.values(), strict=True)
        ]
    )

    def baseline():
        # One exact Poisson tail per cell, one vectorised scipy call: the least an exact test costs.
        special.pdtr(observed, expected)

    times, base = alternate(lambda: stats_pipeline(inputs), baseline, ctx.runs)
    return Result(
        times,
        base,
        "scipy.special.pdtr (one exact Poisson tail) over the 1.5 M cells, one vectorised call",
        rows=observed.size,
        extra={"cells": int(observed.size), "users": int(inputs.usagers_secteur.sum())},
    )


def _parsed_inputs(ctx: Context):
    """Population and usagers of the tier, read once by the real readers."""
    if "inputs" not in ctx.cache:
        from ancrage.frequentation.readers import read_usagers
        from ancrage.territoire.insee import read_insee

        population = read_insee(ctx.file("population"))
        known = set(population.codes) | set(population.communes)
        freq = read_usagers(ctx.file("usagers"), secteurs_connus=known, current_year=generator.REFERENCE_YEAR)
        ctx.cache["inputs"] = (population, known, freq)
    return ctx.cache["inputs"]


@measure(
    "engine_file_{tier}",
    description="run_diagnostic from parsed inputs (IRIS level, every dimension), to the JSON-ready dict",
    target="national: < 1 s (the issue's target is from the database; this is the pure part)",
)
def engine_file(ctx: Context) -> Result:
    from ancrage.diagnostic.engine import run_diagnostic

    population, _, freq = _parsed_inputs(ctx)
    records = freq.individus

    def baseline():
        # One Python pass over the records, reading one attribute: the engine makes a few such
        # passes (sector, age, band, one per dimension), so the ratio counts them.
        for r in records:
            r.code_iris  # noqa: B018

    result = {}

    def run():
        result["value"] = run_diagnostic(population, freq, reference_year=generator.REFERENCE_YEAR)

    times, base = alternate(run, baseline, ctx.runs)
    out = result["value"]
    return Result(
        times,
        base,
        "one Python pass over the parsed records (attribute read)",
        rows=len(records),
        extra={
            "secteurs": len(out["secteurs"]),
            "secteurs_sous_frequentes": sum(s["sous_frequente"] for s in out["secteurs"]),
            "cibles": len(out["cibles"]),
        },
    )


def _csv_baseline(path: Path) -> Callable[[], int]:
    def read() -> int:
        count = 0
        with open(path, encoding="utf-8", newline="") as f:
            for _ in csv.reader(f, delimiter=";"):
                count += 1
        return count

    return read


@measure(
    "read_usagers_{tier}",
    description="read_usagers (decode, split, validate every row, keep the records as columns), "
    "with the known sectors; peak memory of a fresh process reading the file",
    target="streaming (import peak memory ≤ 1 GiB at the national tier)",
)
def read_usagers_measure(ctx: Context) -> Result:
    from ancrage.frequentation.readers import read_usagers
    from ancrage.territoire.insee import read_insee

    population = read_insee(ctx.file("population"))
    known = set(population.codes) | set(population.communes)
    path = ctx.file("usagers")
    rows = ctx.manifest["usagers"]

    def run():
        read_usagers(path, secteurs_connus=known, current_year=generator.REFERENCE_YEAR)

    times, base = alternate(run, _csv_baseline(path), ctx.runs)
    prelude = (
        "from ancrage.frequentation.readers import read_usagers\n"
        "from ancrage.territoire.insee import read_insee\n"
        f"pop = read_insee({str(ctx.file('population'))!r})\n"
        "known = set(pop.codes) | set(pop.communes)\n"
    )
    peak = peak_rss_mib(
        prelude + f"f = read_usagers({str(path)!r}, secteurs_connus=known, current_year=2024)\n"
    )
    idle = peak_rss_mib(prelude)
    csv_peak = peak_rss_mib(
        "import csv\n"
        f"with open({str(path)!r}, encoding='utf-8', newline='') as f:\n"
        "    for _ in csv.reader(f, delimiter=';'):\n        pass\n"
    )
    return Result(
        times,
        base,
        "csv.reader over the same file, no validation, no records kept",
        rows=rows,
        extra={
            "peak_rss_mib": round(peak, 1),
            "peak_rss_before_read_mib": round(idle, 1),
            "baseline_peak_rss_mib": round(csv_peak, 1),
            "file_mib": round(path.stat().st_size / 2**20, 1),
        },
    )


@measure(
    "read_coop_{tier}",
    description="read_coop_export (La Coop XLSX, one row per accompaniment)",
    applies=lambda tier: tier.coop,
)
def read_coop_measure(ctx: Context) -> Result:
    import openpyxl

    from ancrage.frequentation.readers import read_coop_export
    from ancrage.territoire.insee import read_insee

    population = read_insee(ctx.file("population"))
    known = set(population.codes) | set(population.communes)
    path = ctx.file("coop")

    def baseline():
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        for _ in workbook["Activités"].iter_rows(values_only=True):
            pass
        workbook.close()

    times, base = alternate(lambda: read_coop_export(path, secteurs_connus=known), baseline, ctx.runs)
    return Result(
        times, base, "openpyxl read-only iter_rows over the same sheet", rows=ctx.manifest["usagers"]
    )


# --- Phase 2: database, documents, web (bench/dbbench.py, one child process per database) ----------

DB_KEYS = {  # registered name -> what bench/dbbench.py measures for it
    "import_usagers_{tier}": "import",
    "diagnostic_db_{tier}": "diagnostic",
    "convention_docx": "documents",
    "convention_signed_pdf": "documents",
    "dossier_pdf": "documents",
    "web_{tier}": "web",
    "annuaire_cartographie": "annuaire",
}


def _db_results(ctx: Context, database: str) -> dict:
    """Run, once per database, every phase 2 measure wanted in this run; cached in the context."""
    key = ("db", database)
    if key not in ctx.cache:
        wanted = sorted({DB_KEYS[m.name] for m in ctx.wanted if m.database == database and m.name in DB_KEYS})
        command = [sys.executable, str(BENCH / "dbbench.py"), "--db", database, "--data", str(ctx.data_dir)]
        command += ["--runs", str(ctx.runs), "--web-users", str(ctx.web_users)]
        command += ["--web-duration", str(ctx.web_duration), *wanted]
        out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, cwd=REPO)
        ctx.cache[key] = json.loads(out.stdout)
    return ctx.cache[key]


def _from_child(ctx: Context, database: str, key: str, baseline: str, rows: int | None = None) -> Result:
    raw = _db_results(ctx, database)[key]
    return Result(raw["times"], raw["baseline_times"], baseline, rows=rows, extra=raw.get("extra", {}))


for _db, _copy in (
    (
        "postgresql",
        "a bare COPY (psycopg cursor.copy) of the same file into an unindexed table of text columns",
    ),
    ("sqlite", "executemany of the file's raw rows (csv.reader) into an unindexed table of text columns"),
):

    def _import(ctx: Context, _db=_db, _copy=_copy) -> Result:
        return _from_child(ctx, _db, "import", _copy, rows=ctx.manifest["usagers"])

    def _diagnostic(ctx: Context, _db=_db) -> Result:
        return _from_child(
            ctx,
            _db,
            "diagnostic",
            "DuckDB counting, from a Parquet copy of the usagers, users per sector and per sector × "
            "category (age, sex, CSP, situation): the diagnostic's figures before its statistics",
            rows=ctx.manifest["usagers"],
        )

    def _annuaire(ctx: Context, _db=_db) -> Result:
        return _from_child(
            ctx,
            _db,
            "annuaire",
            "the reader alone (standard.read_cartographie_json) on the same three files",
            rows=188 + 646 + 90,
        )

    def _web(ctx: Context, _db=_db) -> Result:
        return _from_child(ctx, _db, "web", "a static file (CSS, WhiteNoise) served by the same gunicorn")

    measure(
        "import_usagers_{tier}",
        database=_db,
        description="usagers import, file to queryable diagnostic data (upload checks, reader with the "
        "known sectors, raw Usager rows and the Profils aggregate in one transaction); peak RSS of a fresh "
        "process doing one import",
        target="national, PostgreSQL: ≥ 100,000 rows/s, ratio to COPY ≤ 3, peak memory ≤ 1 GiB",
    )(_import)
    measure(
        "diagnostic_db_{tier}",
        database=_db,
        description="diagnostic from the database (population, profiles, QPV, quartiers, priorities) "
        "to the full JSON result, warm (after an untimed first call)",
        target="national: < 1 s warm, ratio to DuckDB < 1",
    )(_diagnostic)
    measure(
        "annuaire_cartographie",
        database=_db,
        description="partner directory: the Cartographie nationale's three real files (Charente 188, "
        "PACA 646, Nouvelle-Calédonie 90 places) loaded one after the other into one new EPN's "
        "directory through services.import_directly (ancrage annuaire-importer); per-row time of each "
        "file in 'files', and the ratio of the last file's to the first's",
        target="per-row time of the last file within 1.5× of the first's (linear cost)",
    )(_annuaire)
    measure(
        "web_{tier}",
        database=_db,
        description="concurrent users on loopback (bench/load.py, a separate process, no think time) on "
        "the diagnostic page of the tier's diagnostic, the partner directory and the référent's inbox; "
        "gunicorn, test settings, demo data + the tier; times are per-request latencies (median = p50)",
        target="département tier, PostgreSQL: p95 < 300 ms, zero errors",
    )(_web)

for _doc, _target, _what, _base in (
    (
        "convention_docx",
        "< 300 ms",
        "the demo convention's content (selectors.content_for) rendered to DOCX (generate_docx)",
        "python-docx: a one-paragraph document saved (the library's fixed cost)",
    ),
    (
        "convention_signed_pdf",
        "< 1.5 s",
        "the demo convention rendered to PDF (WeasyPrint) and sealed (PAdES, platform certificate, "
        "2 signatories, visible stamp)",
        "WeasyPrint rendering a one-line HTML (the PDF engine's fixed cost)",
    ),
    (
        "dossier_pdf",
        "< 3 s",
        "the demo dossier rendered to PDF with its diagnostic charts (render_dossier_pdf)",
        "WeasyPrint rendering a one-line HTML (the PDF engine's fixed cost)",
    ),
):

    def _document(ctx: Context, _doc=_doc, _base=_base) -> Result:
        return _from_child(ctx, "postgresql", _doc, _base)

    measure(_doc, database="postgresql", description=f"document generation: {_what}", target=_target)(
        _document
    )


# --- Driver ---------------------------------------------------------------------------------------


def ensure_data(tier: generator.Tier, data_root: Path, seed: int) -> Path:
    """Generate the tier's files unless an up-to-date copy is already there."""
    out = data_root / tier.name
    manifest = out / "manifest.json"
    if manifest.exists():
        current = json.loads(manifest.read_text(encoding="utf-8"))
        if current.get("generator_version") == generator.GENERATOR_VERSION and current.get("seed") == seed:
            return out
    print(f"Génération du niveau {tier.name} dans {out} …", flush=True)
    generator.generate(tier, out, seed=seed)
    return out


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def summarise(m: Measure, tier: generator.Tier, result: Result | None) -> dict:
    entry = {
        "name": m.name.format(tier=tier.name),
        "tier": tier.name,
        "database": m.database,
        "description": m.description,
        "target": m.target,
    }
    if result is None:
        entry.update(status="not yet measured", reason=m.pending)
        return entry
    median = statistics.median(result.times)
    base = statistics.median(result.baseline_times)
    entry.update(
        status="measured",
        unit="s",
        n=len(result.times),
        median=round(median, 6),
        min=round(min(result.times), 6),
        max=round(max(result.times), 6),
        baseline=result.baseline,
        baseline_median=round(base, 6),
        baseline_min=round(min(result.baseline_times), 6),
        ratio=round(median / base, 3) if base > 0 else None,
    )
    if result.rows:
        entry["rows"] = result.rows
        entry["rows_per_s"] = round(result.rows / median)
        entry["baseline_rows_per_s"] = round(result.rows / base) if base > 0 else None
    entry.update(result.extra)
    return entry


def print_table(entries: list[dict]) -> None:
    header = (
        f"{'measure':<28} {'db':<10} {'median':>9} {'min':>9} {'max':>9} "
        f"{'baseline':>9} {'ratio':>7} {'rows/s':>11}"
    )
    print(header)
    print("-" * len(header))
    for e in entries:
        if e["status"] != "measured":
            print(f"{e['name']:<28} {e['database']:<10} {'not yet measured':>37}")
            continue
        rate = f"{e['rows_per_s']:,}" if "rows_per_s" in e else ""
        print(
            f"{e['name']:<28} {e['database']:<10} {e['median']:>9.3f} {e['min']:>9.3f} {e['max']:>9.3f} "
            f"{e['baseline_median']:>9.3f} {e['ratio']:>7.2f} {rate:>11}"
        )
        for f in e.get("files", []):
            print(
                f"    {f['file']:<34} {f['rows']:>4} rows, directory {f['directory_before']:>4}: "
                f"{f['ms_per_row']} ms/row (min {f['ms_per_row_min']}), matching {f['matching_ms_per_row']}"
            )
        if "per_row_ratio_last_first" in e:
            print(
                f"    per-row time, last file / first: {e['per_row_ratio_last_first']} (of the minima "
                f"{e['per_row_ratio_last_first_min']}, of the matching {e['matching_ratio_last_first']}; "
                "target ≤ 1.5)"
            )


def write_summary(args, ctx: Context, tier: generator.Tier, entries: list[dict]) -> None:
    """``summary.json`` and ``summary-<tier>.json``: this run's entries, and, for a partial run (or
    a run not finished yet), the tier's other measures from its latest summary."""
    entries = list(entries)
    previous = args.results / f"summary-{tier.name}.json"
    partial = args.only is not None or args.databases is not None or len(entries) < len(ctx.wanted)
    if partial and previous.exists():
        done = {(e["name"].format(tier=tier.name), e["database"]) for e in entries}
        kept = json.loads(previous.read_text(encoding="utf-8"))["measures"]
        entries += [e for e in kept if (e["name"], e["database"]) not in done and e["status"] == "measured"]
    summary = {
        "version": SUMMARY_VERSION,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tier": tier.name,
        "runs": args.runs,
        "machine": machine(),
        "data": ctx.manifest,
        "measures": entries,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    (args.results / "summary.json").write_text(text, encoding="utf-8")
    (args.results / f"summary-{tier.name}.json").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ancrage benchmarks.")
    parser.add_argument("--tier", choices=sorted(generator.TIERS), default="commune")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measure (at least 3 for figures)")
    parser.add_argument("--only", nargs="*", default=None, help="measure names (with {tier}) to run")
    parser.add_argument("--skip", nargs="*", default=(), help="measure names (with {tier}) to skip")
    parser.add_argument("--data", type=Path, default=BENCH / "data")
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    parser.add_argument("--seed", type=int, default=generator.DEFAULT_SEED)
    parser.add_argument(
        "--databases",
        nargs="*",
        default=None,
        choices=("sqlite", "postgresql"),
        help="databases of the phase 2 measures (default: both; PostgreSQL through BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--web-users", type=int, default=20, help="concurrent users of the web measure")
    parser.add_argument("--web-duration", type=float, default=60.0, help="seconds of load (per run)")
    args = parser.parse_args(argv)
    tier = generator.TIERS[args.tier]
    data_dir = ensure_data(tier, args.data, args.seed)
    ctx = Context(tier, data_dir, args.runs, web_users=args.web_users, web_duration=args.web_duration)
    selected = []
    for m in REGISTRY:
        if not m.applies(tier):
            continue
        if m.run is not None and (m.name in args.skip or (args.only is not None and m.name not in args.only)):
            continue
        if m.run is not None and args.databases and m.database not in ("none", *args.databases):
            continue
        selected.append(m)
    ctx.wanted = selected
    entries = []
    for m in selected:
        result = None
        if m.run is not None:
            print(f"… {m.name.format(tier=tier.name)}", flush=True)
            result = m.run(ctx)
        entries.append(summarise(m, tier, result))
        # Written after every measure: a long run (the national tier) stopped midway keeps what it
        # measured, as a partial run would.
        write_summary(args, ctx, tier, entries)
    print()
    print_table(entries)
    print(f"\n→ {args.results / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
