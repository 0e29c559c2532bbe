"""The worker commands' heartbeat: a file per worker under ``MEDIA_ROOT``, touched while it lives.

A worker command (``core.jobs.WorkerCommand``) beats at each pass and, from a thread of its own,
every ``ANCRAGE_WORKER_HEARTBEAT_SECONDS``: a job that runs for minutes (a LibreOffice conversion)
does not make a live worker look dead. The file lives in the storage the web servers and the
workers already share (the generated documents are there), so ``/sante/`` on any web server reads
the heartbeat of a worker on another machine. A heartbeat is the file's modification time; its
content (host and process id) is only for an operator reading it.
"""

import logging
import os
import socket
import threading
import time
from pathlib import Path

from django.conf import settings

FOLDER = ".sante"
logger = logging.getLogger(__name__)


def _path(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / FOLDER / f"worker-{name}"


def beat(name: str) -> None:
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8")
    os.replace(temporary, path)  # atomic: a reader never sees half a file


def try_beat(name: str) -> bool:
    """``beat``, but a storage that refuses the file is logged, never the end of the worker (its
    jobs matter more than its heartbeat; ``/sante/`` will say the worker is not seen)."""
    try:
        beat(name)
        return True
    except OSError:
        logger.warning("Worker %s: heartbeat not written under MEDIA_ROOT", name, exc_info=True)
        return False


def age(name: str) -> float | None:
    """Seconds since the worker ``name`` last beat; None when it never did (or the storage is gone)."""
    try:
        return max(0.0, time.time() - _path(name).stat().st_mtime)
    except OSError:
        return None


def start(name: str, *, every: float | None = None) -> threading.Event:
    """Beat now, then every ``every`` seconds from a daemon thread; set the returned event to stop."""
    every = every or settings.ANCRAGE_WORKER_HEARTBEAT_SECONDS
    stop = threading.Event()
    try_beat(name)

    def loop():
        while not stop.wait(every):
            try_beat(name)

    threading.Thread(target=loop, name=f"heartbeat-{name}", daemon=True).start()
    return stop
