"""The worker process that fills an uploaded DOCX model, under CPU-time and memory limits.

``custom_models.render_in_worker`` runs ``python -m ancrage.conventions.model_worker CPU MEMORY``
(seconds, bytes), writes ``{"model": base64, "context": {...}}`` as JSON on its stdin and reads the
DOCX on its stdout. The limits are set before anything else is imported or read: a model whose
loops run too long is killed by SIGXCPU, and one that allocates too much gets a MemoryError.

Exit status: 0, the DOCX is on stdout; ``REFUSED``, the French refusal is on stdout;
``OUT_OF_MEMORY``; anything else is a crash, its traceback on stderr.
"""

import base64
import json
import os
import resource
import sys

REFUSED = 2
OUT_OF_MEMORY = 3


def _limit(which: int, value: int) -> None:
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, hard if hard != resource.RLIM_INFINITY else value))


def main(argv: list[str]) -> int:
    cpu_seconds, memory_bytes = int(argv[0]), int(argv[1])
    _limit(resource.RLIMIT_CORE, 0)
    # The soft limit sends SIGXCPU; the hard one, a second later, SIGKILL.
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu_hard = cpu_seconds + 1 if hard == resource.RLIM_INFINITY else min(cpu_seconds + 1, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_seconds, cpu_hard), cpu_hard))
    _limit(resource.RLIMIT_AS, memory_bytes)
    try:
        os.nice(10)  # the web pages first
    except OSError:
        pass
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but the result goes to the real stdout
    try:
        from ancrage.conventions.custom_models import CustomModelError, _render_in_sandbox

        payload = json.loads(sys.stdin.buffer.read())
        try:
            rendered = _render_in_sandbox(base64.b64decode(payload["model"]), payload["context"])
        except CustomModelError as refusal:
            out.write(str(refusal).encode("utf-8"))
            return REFUSED
    except MemoryError:
        return OUT_OF_MEMORY
    out.write(rendered)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
