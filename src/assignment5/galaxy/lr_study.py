"""The learning-rate study: pick each architecture's Adam learning rate (and, where asked, its
free bits) from short runs.

Each study run trains an architecture for a few epochs at one learning rate and is scored on a
held-out share of the training images (never the test split). The chosen rate is the smallest
whose validation error (select_by) at the end of its run is within prefer_smaller_within (a share)
of the lowest: short runs favour larger rates than long ones want (docs/tuning.md), so a small lead of a
larger rate is not taken as evidence. A run that diverged (NaN) never wins.
"""

from __future__ import annotations

import math

from assignment5 import settings
from assignment5.errors import InputError
from assignment5.io import read_json, write_json


def score(history: dict, select_by: str) -> float:
    """The run's final validation error, +inf for a run that diverged (stopped on a non-finite
    loss, or whose error is not a number)."""
    value = history["final"]["test"][select_by]
    if history.get("diverged_at_iteration") or not isinstance(value, (int, float)) or not math.isfinite(value):
        return math.inf
    return value


def choose(runs: list[tuple[float, dict]], select_by: str, within: float = 0.0) -> float:
    """The smallest learning rate whose final validation error is at most (1 + within) times the
    lowest (within 0: the lowest; ties go to the smaller rate)."""
    scores = {lr: score(history, select_by) for lr, history in runs}
    lowest = min(scores.values())
    if math.isinf(lowest):
        raise InputError(f"every learning rate of the study diverged ({[lr for lr, _ in runs]}): "
                         "add smaller ones to galaxy.lr_study.lrs")
    return min(lr for lr, value in scores.items() if value <= lowest * (1 + within))


def row(lr: float, free_bits: float, history: dict) -> dict:
    final = history["final"]["test"]
    return {"lr": lr, "free_bits": free_bits, "epochs": history["settings"]["epochs"],
            "seconds": history["wall_seconds"],
            "schedule_epochs": history["settings"]["schedule_epochs"] or history["settings"]["epochs"],
            "validation": {k: final[k] for k in ("bce", "mse", "kl", "neg_elbo")},
            "diverged_at_iteration": history.get("diverged_at_iteration"),  # absent before it was recorded
            "validation_images": history["settings"]["test_images"],
            "train_images": history["settings"]["train_images"]}


def choose_arch(runs: list[tuple[float, float, dict]], s: settings.GalaxyLrStudy) -> dict:
    """Per free-bits value its rate (choose), then the free-bits value whose run at that rate has
    the lowest validation error: prefer_smaller_within guards against short runs' bias to large
    rates, which free bits do not have."""
    by_free_bits: dict[float, list] = {}
    for lr, fb, history in runs:
        by_free_bits.setdefault(fb, []).append((lr, history))
    best = {fb: choose(tried, s.select_by, s.prefer_smaller_within) for fb, tried in by_free_bits.items()}
    at_best = {fb: score(dict(by_free_bits[fb])[lr], s.select_by) for fb, lr in best.items()}
    free_bits = min(at_best, key=lambda fb: (at_best[fb], fb))
    lrs = sorted({lr for lr, _, _ in runs})
    chosen = best[free_bits]
    return {"chosen": chosen, "free_bits": free_bits, "free_bits_tried": sorted(by_free_bits),
            "bracketed": lrs[0] < chosen < lrs[-1], "runs": [row(lr, fb, h) for lr, fb, h in runs]}


def run(s: settings.GalaxyLrStudy, *, histories: list[str], output: str) -> dict:
    expected = [name for runs in s.runs for _, _, name in runs]
    if len(histories) != len(expected):
        raise InputError(f"the study has {len(expected)} runs ({expected}), "
                         f"{len(histories)} history files were given")
    archs, files = {}, iter(histories)
    for arch, runs in zip(s.archs, s.runs):  # histories: in the order of s.runs
        archs[arch] = choose_arch([(lr, fb, read_json(next(files))) for lr, fb, _ in runs], s)
        print(f"[galaxy:lr-study] {arch}: " + ", ".join(
            f"lr {r['lr']:g} free bits {r['free_bits']:g} -> {r['validation'][s.select_by]:.5g}"
            for r in archs[arch]["runs"]) + f"; chosen lr {archs[arch]['chosen']:g}, "
            f"free bits {archs[arch]['free_bits']:g}")
    summary = {"select_by": s.select_by, "prefer_smaller_within": s.prefer_smaller_within,
               "validation_fraction": s.validation_fraction, "horizon": s.horizon, "lrs": s.lrs, "archs": archs}
    write_json(output, summary)
    return summary
