"""Alternate two training steps in rounds and return median rates and their ratio.

Both contenders run in the same process on the same batches, round after round, so drift in
machine speed hits both; the median of the per-round ratios is quoted. The order alternates
(A B, B A, A B, ...): whoever runs first in a round was measured 5-7 % slower in an A/A test of two
identical feed-forward VAE steps, which once made the workflow's step look slower than the plain loop.
"""

from __future__ import annotations

import statistics
import time


def compare(fast, baseline, units_per_call: int, rounds: int = 5, calls: int = 5, warmup: int = 2) -> dict:
    for _ in range(warmup):
        fast()
        baseline()
    rates = {"fast": [], "baseline": []}
    for round_ in range(rounds):
        order = (("fast", fast), ("baseline", baseline))
        for name, step in order if round_ % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            for _ in range(calls):
                step()
            rates[name].append(units_per_call * calls / (time.perf_counter() - start))
    ratios = [f / b for f, b in zip(rates["fast"], rates["baseline"])]
    return {"fast": statistics.median(rates["fast"]), "baseline": statistics.median(rates["baseline"]),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)}
