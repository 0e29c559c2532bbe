"""Labels and age bands, as every reader (and the diagnostic) matches and writes them.

Pure module: no Django.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# --- Age bands ------------------------------------------------------------------------------------

AgeBand = tuple[int, int | None]  # [low, high) in years; high None for an open band ("75+")

#: La Coop's age bands (Tranche d'âge du bénéficiaire), in its order.
COOP_TRANCHES_AGE: dict[str, AgeBand] = {
    "Moins de 12 ans": (0, 12),
    "12 - 17 ans": (12, 18),
    "18 - 24 ans": (18, 25),
    "25 - 39 ans": (25, 40),
    "40 - 59 ans": (40, 60),
    "60 - 69 ans": (60, 70),
    "70 ans et plus": (70, None),
}

MAX_AGE = 120


@functools.lru_cache(maxsize=4096)  # a file repeats a handful of labels on every row
def fold_label(text: str) -> str:
    """Lower case, no accents, single spaces, straight apostrophes: for matching labels."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("\u00a0", " "))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


COOP_AGE_FOLDED = {fold_label(k): v for k, v in COOP_TRANCHES_AGE.items()}


def parse_age_band(text: str) -> AgeBand | None:
    """Parse an INSEE band (``"15-29"``, ``"75+"``) or a La Coop label; ``None`` if not a band."""
    folded = fold_label(text)
    if folded in COOP_AGE_FOLDED:
        return COOP_AGE_FOLDED[folded]
    compact = folded.replace(" ", "").replace("\u2013", "-").removesuffix("ans")
    if m := re.fullmatch(r"(\d{1,3})-(\d{1,3})", compact):
        low, high = int(m.group(1)), int(m.group(2))
        return (low, high + 1) if low <= high <= MAX_AGE else None
    if m := re.fullmatch(r"(\d{1,3})(?:\+|ansetplus|etplus)", compact):
        low = int(m.group(1))
        return (low, None) if low <= MAX_AGE else None
    if m := re.fullmatch(r"(?:<|moinsde)(\d{1,3})", compact):
        high = int(m.group(1))
        return (0, high) if 0 < high <= MAX_AGE else None
    return None


def band_label(band: AgeBand) -> str:
    low, high = band
    return f"{low}+" if high is None else f"{low}-{high - 1}"
