"""Numpy arrays stored in one database column (pure module: no Django).

Aggregates that have about as many entries as the rows they summarise (an import's profiles, a
population's cells) are kept as one row of arrays rather than a row per entry: written
and read in one statement, whatever their size.
"""

import io
import zlib

import numpy as np


def pack(**arrays: np.ndarray) -> bytes:
    """Arrays as stored: an ``.npz`` archive compressed by zlib at level 1 (a few times faster
    than ``savez_compressed``'s level, for a few percent more bytes). No object arrays."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return zlib.compress(buffer.getbuffer(), 1)


def unpack(data: bytes):
    """The arrays of :func:`pack`, as an ``NpzFile`` (a context manager); nothing is unpickled."""
    return np.load(io.BytesIO(zlib.decompress(data)), allow_pickle=False)


def smallest(values: np.ndarray) -> np.ndarray:
    """``values`` (non-negative integers) in the smallest unsigned type that holds them."""
    top = int(values.max()) if values.size else 0
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return values.astype(dtype, copy=False)
    return values.astype(np.uint64, copy=False)
