"""Ramer-Douglas-Peucker simplification of polygon rings, for the diagnostic's map.

Pure module: no Django. Each ring is simplified on its own (neighbouring sectors are not kept
glued): with a tolerance far below what the map shows (a fraction of a pixel, a few metres),
the gaps this leaves between neighbours are invisible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _keep_mask(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Which points of the open line ``points`` (n × 2) Douglas-Peucker keeps (iterative)."""
    n = len(points)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        a, b = points[first], points[last]
        inner = points[first + 1 : last]
        ab = b - a
        length = float(np.hypot(*ab))
        if length == 0.0:
            distances = np.hypot(*(inner - a).T)
        else:
            distances = np.abs(ab[0] * (inner[:, 1] - a[1]) - ab[1] * (inner[:, 0] - a[0])) / length
        index = int(np.argmax(distances))
        if distances[index] > tolerance:
            middle = first + 1 + index
            keep[middle] = True
            stack.append((first, middle))
            stack.append((middle, last))
    return keep


def simplify_ring(ring: Sequence[Sequence[float]], tolerance: float) -> list[list[float]] | None:
    """The closed ring ``ring`` with the points Douglas-Peucker keeps at ``tolerance``.

    Returns ``None`` when the ring collapses (fewer than three distinct points left): a sliver
    or an islet smaller than the tolerance.
    """
    points = np.asarray([(float(p[0]), float(p[1])) for p in ring], dtype=float)
    if len(points) and not np.array_equal(points[0], points[-1]):
        points = np.vstack([points, points[:1]])
    if len(points) < 4:
        return None
    if tolerance <= 0:
        return points.tolist()
    # A closed ring's two ends are the same point: split it at its point farthest from them.
    far = int(np.argmax(np.hypot(*(points - points[0]).T)))
    if far == 0:
        return None
    keep = np.concatenate(
        [_keep_mask(points[: far + 1], tolerance)[:-1], _keep_mask(points[far:], tolerance)]
    )
    kept = points[keep]
    if len(kept) < 4:
        return None
    return kept.tolist()


def simplify_polygons(
    polygons: Sequence[Sequence[Sequence[Sequence[float]]]], tolerance: float
) -> list[list[list[list[float]]]]:
    """Polygons (outer ring then holes) simplified; collapsed rings go, a polygon whose outer ring
    collapses goes with its holes. When everything collapses, the largest ring's polygon is kept
    whole, so that a sector never disappears from the map."""
    result = []
    for polygon in polygons:
        if not polygon:
            continue
        outer = simplify_ring(polygon[0], tolerance)
        if outer is None:
            continue
        holes = [h for h in (simplify_ring(r, tolerance) for r in polygon[1:]) if h is not None]
        result.append([outer, *holes])
    if not result:
        kept = [p for p in polygons if p and len(p[0]) >= 4]
        if kept:
            largest = max(kept, key=lambda p: abs(ring_area(p[0])))
            result = [[[[float(x), float(y)] for x, y, *_ in largest[0]]]]
    return result


def ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Signed area (shoelace); positive when counter-clockwise in x-right, y-up axes."""
    total = 0.0
    for (x1, y1, *_), (x2, y2, *_) in zip(ring, ring[1:], strict=False):
        total += x1 * y2 - x2 * y1
    return total / 2
