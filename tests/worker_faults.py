"""Kill a real worker process in the middle of its job's transaction (PostgreSQL only).

The job-fault tests of the imports and of the convention generations share this harness: a child
Python process runs ``PRELUDE`` then the test's script, which patches the job's code so that, at
the point under test, it calls ``halt()``. ``halt`` writes a marker file and sleeps; the test sees
the marker and kills the process with SIGKILL, its transaction still open. The script reads the
job's id in ``sys.argv[1]``.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import pathlib, sys, time, django
django.setup()
def halt():  # the middle of the transaction: tell the test, then wait to be killed
    pathlib.Path(sys.argv[2]).write_text("au milieu")
    time.sleep(600)
"""


def database_url() -> str:
    """The URL of the test database, for a child process to reach the committed rows."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def kill_worker_midway(script: str, job_id: int, tmp_path: Path, *, env=None, what="its job") -> None:
    """Run ``PRELUDE + script`` in a worker process, wait until it calls ``halt()``, kill it."""
    marker = tmp_path / "marker"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ancrage.config.settings.test",
        "DATABASE_URL": database_url(),
        **(env or {}),
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + script, str(job_id), str(marker)], env=env, cwd=ROOT
    )
    try:
        for _ in range(1200):  # waits for the worker to reach the middle of its transaction
            if marker.exists() or worker.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), f"the worker never reached the middle of {what}"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
