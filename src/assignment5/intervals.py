"""Normal-approximation intervals of accuracies on a test or validation sample (sections 2 and 3)."""

from __future__ import annotations

import math
from statistics import NormalDist


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def accuracy_interval(p: float, n: int, confidence: float) -> list[float]:
    half = _z(confidence) * math.sqrt(p * (1 - p) / n)
    return [p - half, p + half]


def accuracy_difference(a: float, b: float, n: int, confidence: float) -> dict:
    """a - b of two accuracies on the same n items, with an interval that treats them as
    independent (wider than a paired one)."""
    half = _z(confidence) * math.sqrt((a * (1 - a) + b * (1 - b)) / n)
    return {"value": a - b, "interval": [a - b - half, a - b + half], "confidence": confidence}
