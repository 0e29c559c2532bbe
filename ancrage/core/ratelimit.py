"""A small fixed-window counter in Django's cache, for actions that send something (e-mails).

``allow(scope, keys, limit, window)`` counts one use under each key and says whether every key is
still within ``limit`` uses per ``window`` seconds. Refused uses are counted too, so that hammering
does not shorten the wait. The counter lives in the default cache (``CACHES``): with several
processes, a shared cache (database, Redis…) makes it one count; a per-process cache counts per
process (see docs/exploitation.md, "Limites").
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def _cache_key(scope: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"ancrage:ratelimit:{scope}:{digest}"


def allow(scope: str, keys: list[str], *, limit: int, window: int) -> bool:
    allowed = True
    for key in keys:
        name = _cache_key(scope, key)
        cache.add(name, 0, timeout=window)  # starts the window once; incr keeps its expiry
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.set(name, 1, timeout=window)
            count = 1
        allowed = allowed and count <= limit
    return allowed
