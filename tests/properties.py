"""How many examples a property test tries: its own count under the ``ci`` profile, more under ``full``.

The profiles are registered in tests/conftest.py: ``ci``, the default, and ``full``
(HYPOTHESIS_PROFILE=full), which tries ten times more. A test that needs its own count writes
``@examples(200)`` rather than ``@settings(max_examples=200)``, so that the count scales with the
profile like every other test's.
"""

from hypothesis import settings


def examples(n: int, **kwargs) -> settings:
    """``@settings`` trying ``n`` examples under ``ci``, in proportion under the profile loaded."""
    scale = settings.default.max_examples / settings.get_profile("ci").max_examples
    return settings(max_examples=max(1, round(n * scale)), **kwargs)
