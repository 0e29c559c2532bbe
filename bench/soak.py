"""Soak test: the web measure's load, held for minutes, watching errors and memory.

It builds the same world as ``dbbench.py`` (a fresh database, the demo, the tier's population and
usagers, the tier's diagnostic), serves it with gunicorn, and runs ``load.py`` (20 users, no think
time, on the diagnostic page, the partner directory and the référent's inbox) for ``--duration``
seconds. Every ``--every`` seconds it samples the resident memory (VmRSS) of the gunicorn master
and of each worker. It prints one JSON object: the load's figures (requests, errors, p50, p95), the
samples, and the growth of the workers' memory between the end of the warm-up (``--warmup``
seconds) and the end.

    python bench/soak.py --db postgresql --data bench/data/departement --duration 600

Figures are in docs/performance.md ("Soak"). Nothing here asserts: it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import dbbench  # noqa: E402  (bench/ is a folder of scripts, not a package)


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None  # the process is gone (a worker restarted: counted by the caller)
    return None


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return sorted(found)


def soak(structure, dataset_id: int, url: str, var_dir: Path, args) -> dict:
    pages = dbbench.web_pages(structure, dataset_id)
    samples = []
    with dbbench.gunicorn(url, var_dir, args.workers) as (base, server):
        command, spec = dbbench.load_command(base, pages, args.users, args.duration)
        with tempfile.TemporaryFile("w+") as out:
            load = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, text=True)
            start = time.perf_counter()
            workers_seen: set[int] = set()
            while load.poll() is None:
                workers = _children(server.pid)
                workers_seen.update(workers)
                rss = {pid: _rss_mib(pid) for pid in workers}
                samples.append(
                    {
                        "t": round(time.perf_counter() - start, 1),
                        "master_mib": round(_rss_mib(server.pid) or 0, 1),
                        "workers_mib": round(sum(v for v in rss.values() if v), 1),
                        "workers": len(workers),
                    }
                )
                time.sleep(args.every)
            stderr = load.stderr.read()
            if load.returncode:
                raise SystemExit(f"load.py failed: {stderr}")
            out.seek(0)
            measured = json.load(out)
        os.unlink(spec)
    warm = [s for s in samples if s["t"] >= args.warmup]
    after_warmup = warm[0]["workers_mib"] if warm else None
    end = statistics.median(s["workers_mib"] for s in samples[-3:]) if samples else None
    return {
        "users": args.users,
        "duration_s": args.duration,
        "gunicorn_workers": args.workers,
        "worker_processes_seen": len(workers_seen),
        "requests": len(measured["latencies"]),
        "requests_per_s": round(len(measured["latencies"]) / args.duration, 1),
        "errors": measured["errors"],
        "error_samples": measured["error_samples"],
        "p50": measured["p50"],
        "p95": measured["p95"],
        "pages": measured["pages"],
        "warmup_s": args.warmup,
        "workers_mib_after_warmup": after_warmup,
        "workers_mib_at_end": end,
        "growth_after_warmup": round(end / after_warmup - 1, 4) if after_warmup else None,
        "peak_workers_mib": max(s["workers_mib"] for s in samples) if samples else None,
        "samples": samples,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--data", type=Path, required=True, help="the tier's data directory")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, help="write the JSON there too")
    args = parser.parse_args(argv)
    data_dir = args.data.resolve()
    with (
        tempfile.TemporaryDirectory(prefix="ancrage-soak-") as var,
        dbbench.fresh_database(args.db, data_dir) as url,
    ):
        var_dir = Path(var)
        dbbench.setup_django(url, var_dir)
        structure = dbbench.load_world(data_dir)
        dbbench.log("  soak: importing the usagers")
        dataset_id = dbbench.import_usagers(structure, data_dir / "usagers.csv").pk
        dbbench.log(f"  soak: {args.users} users × {args.duration:g} s")
        result = soak(structure, dataset_id, url, var_dir, args)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
