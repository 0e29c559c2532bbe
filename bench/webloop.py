"""The web measure's fast loop: the pages one at a time, through gunicorn, on a kept database.

``run.py`` builds a fresh database for every run (minutes at the département tier). To iterate on
the pages' cost, this script builds the same world as ``dbbench.py`` once (a PostgreSQL database
``ancrage_webloop_<tier>``, the demo, the tier's population and usagers, the tier's diagnostic) and
keeps it, then times sequential requests to gunicorn, or profiles the pages in-process::

    python bench/webloop.py build --data bench/data/commune      # once (prints the pages)
    python bench/webloop.py time --data bench/data/commune -n 50  # N requests per page, gunicorn
    python bench/webloop.py load --data bench/data/commune --duration 30  # load.py, 20 users
    python bench/webloop.py profile --data bench/data/commune -n 50  # cProfile, Django test client
    python bench/webloop.py drop --data bench/data/commune

The tier's files come from ``run.py`` or ``python -m ancrage.bench.generator --tier commune --out
DIR``. ``time`` prints, per page, the median and p95 of N sequential requests (after two untimed
requests per worker), and the same for the static file: the ratio to it is the figure to compare on
a shared machine. ``load`` runs ``load.py`` on the pages then on the static file, like ``run.py``,
and adds the CPU per request of gunicorn, of its PostgreSQL backends and of the load generator
(from ``/proc``). Nothing here asserts.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
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
from load import Client  # noqa: E402


def _name(data_dir: Path) -> str:
    return f"ancrage_webloop_{data_dir.name}".replace("-", "_")


def _pages_file(data_dir: Path) -> Path:
    return Path(tempfile.gettempdir()) / f"{_name(data_dir)}.json"


def build(data_dir: Path, var_dir: Path) -> None:
    import psycopg

    name = _name(data_dir)
    admin = dbbench.ADMIN_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dbbench.setup_django(dbbench._pg_url(name), var_dir)
    structure = dbbench.load_world(data_dir)
    start = time.perf_counter()
    dataset = dbbench.import_usagers(structure, data_dir / "usagers.csv")
    dbbench.log(f"  usagers imported in {time.perf_counter() - start:.1f} s")
    pages = dbbench.web_pages(structure, dataset.pk)
    _pages_file(data_dir).write_text(json.dumps(pages))
    print(json.dumps(pages))


def drop(data_dir: Path) -> None:
    import psycopg

    admin = dbbench.ADMIN_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_name(data_dir)}" WITH (FORCE)')
    _pages_file(data_dir).unlink(missing_ok=True)


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
    }


def time_pages(data_dir: Path, var_dir: Path, n: int, workers: int) -> dict:
    from ancrage.accounts.validators import DEMO_PASSWORD

    pages = json.loads(_pages_file(data_dir).read_text())
    url = dbbench._pg_url(_name(data_dir))
    os.environ.update(dbbench.django_env(url, var_dir))
    with dbbench.gunicorn(url, var_dir, workers) as (base, _server):
        clients = {}
        for account, _ in pages:
            if account not in clients:
                clients[account] = Client(base)
                clients[account].login(account, DEMO_PASSWORD)
        results = {}
        for account, path in [*pages, (None, dbbench.STATIC)]:
            client = clients[account] if account else Client(base)
            for _ in range(2 * workers):  # each worker's first request, untimed
                client.request("GET", path)
            times = []
            for _ in range(n):
                start = time.perf_counter()
                status, _, body = client.request("GET", path)
                times.append(time.perf_counter() - start)
                if status != 200:
                    raise SystemExit(f"{path}: {status}")
            results[path] = _summary(times) | {"bytes": len(body)}
    return results


def _cpu_seconds(pids) -> float:
    """User + system CPU time of these processes (``/proc``), seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _tree(int(child))
    return found


def _postgres_backends(database: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if f" {database} " in (proc / "cmdline").read_text().replace("\0", " "):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def load_pages(data_dir: Path, var_dir: Path, users: int, duration: float, workers: int) -> dict:
    """``dbbench.measure_web`` on the kept database: the pages, then the static file, under load."""
    pages = json.loads(_pages_file(data_dir).read_text())
    url = dbbench._pg_url(_name(data_dir))
    os.environ.update(dbbench.django_env(url, var_dir))
    with dbbench.gunicorn(url, var_dir, workers) as (base, server):
        out = {}
        for label, targets in (("pages", pages), ("static", [[None, dbbench.STATIC]])):
            command, spec = dbbench.load_command(base, targets, users, duration)
            backends = lambda: _postgres_backends(_name(data_dir))  # noqa: E731
            before = _cpu_seconds(_tree(server.pid)), _cpu_seconds(backends())
            children, wall = os.times(), time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 300)
            wall = time.perf_counter() - wall
            app_cpu = _cpu_seconds(_tree(server.pid)) - before[0]
            db_cpu = _cpu_seconds(backends()) - before[1]
            after = os.times()
            client_cpu = after.children_user + after.children_system
            client_cpu -= children.children_user + children.children_system
            if done.returncode:
                raise SystemExit(f"load.py failed: {done.stderr}")
            os.unlink(spec)
            measured = json.loads(done.stdout)
            requests = len(measured.pop("latencies"))
            out[label] = {
                "req_per_s": round(requests / duration, 1),
                # CPU per request: gunicorn, its PostgreSQL backends, the load generator.
                "app_cpu_ms_per_req": round(app_cpu / requests * 1000, 2),
                "db_cpu_ms_per_req": round(db_cpu / requests * 1000, 2),
                "client_cpu_ms_per_req": round(client_cpu / requests * 1000, 2),
                "cpu_busy": round((app_cpu + db_cpu + client_cpu) / wall, 2),
                **measured,
            }
    return out


def profile_pages(data_dir: Path, var_dir: Path, n: int, top: int) -> None:
    pages = json.loads(_pages_file(data_dir).read_text())
    url = dbbench._pg_url(_name(data_dir))
    dbbench.setup_django(url, var_dir, migrate=False)
    from django.conf import settings
    from django.test import Client as DjangoClient

    from ancrage.accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    for account, path in pages:
        client = DjangoClient()
        client.force_login(User.objects.get(email=account))
        for _ in range(3):
            assert client.get(path).status_code == 200
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        for _ in range(n):
            client.get(path)
        profiler.disable()
        elapsed = (time.perf_counter() - start) / n
        print(f"\n=== {path} as {account}: {elapsed * 1000:.1f} ms a request (under cProfile)")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "time", "load", "profile", "drop"))
    parser.add_argument("--data", type=Path, required=True, help="the tier's data directory")
    parser.add_argument("-n", type=int, default=50, help="requests per page")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    data_dir = args.data.resolve()
    with tempfile.TemporaryDirectory(prefix="ancrage-webloop-") as var:
        var_dir = Path(var)
        if args.command == "build":
            build(data_dir, var_dir)
        elif args.command == "drop":
            drop(data_dir)
        elif args.command == "time":
            print(json.dumps(time_pages(data_dir, var_dir, args.n, args.workers), indent=1))
        elif args.command == "load":
            result = load_pages(data_dir, var_dir, args.users, args.duration, args.workers)
            print(json.dumps(result, indent=1))
        else:
            profile_pages(data_dir, var_dir, args.n, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
