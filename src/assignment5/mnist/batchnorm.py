"""The BatchNorm check: VGG11 with and without BatchNorm, each at its own peak rate.

Every variant trains briefly at every rate of the grid; its rate is the one whose run scores the
highest accuracy on validation images (training images it never trained on; ties go to the
smaller rate), and only that run's test accuracy is compared, with normal-approximation
intervals over the test images (they cover the test sample, not the training seed).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from assignment5 import settings
from assignment5.io import read_json, write_json


def validation_score(history: dict) -> float:
    """The run's last validation accuracy; -inf for a run that diverged."""
    return -math.inf if history.get("diverged_at_epoch") else history["final"]["validation_accuracy"]


def interval(p: float, n: int, z: float) -> list[float]:
    half = z * math.sqrt(p * (1 - p) / n)
    return [p - half, p + half]


def run(s: settings.MnistBatchnorm, *, histories: list[str], output: str) -> dict:
    z = NormalDist().inv_cdf(0.5 + s.confidence / 2)
    grid, chosen = [], {}
    for (variant, lr, _), path in zip(s.runs, histories):
        h = read_json(path)
        grid.append({"variant": variant, "lr": lr, "validation_accuracy": h["final"]["validation_accuracy"],
                     "test_accuracy": h["final"]["test_accuracy"], "diverged_at_epoch": h["diverged_at_epoch"],
                     "train_loss": h["final"]["running_train_loss"], "score": validation_score(h), "history": h})
    for variant in settings.BATCHNORM_CHECK:
        tried = sorted((r for r in grid if r["variant"] == variant), key=lambda r: r["lr"])
        best = max(tried, key=lambda r: (r["score"], -r["lr"]))
        h = best["history"]
        n = h["settings"]["test_images"]
        chosen[variant] = {"lr": best["lr"], "test_accuracy": best["test_accuracy"],
                           "interval": interval(best["test_accuracy"], n, z),
                           "validation_accuracy": best["validation_accuracy"],
                           "train_loss": best["train_loss"], "diverged_at_epoch": best["diverged_at_epoch"],
                           "bracketed": tried[0]["lr"] < best["lr"] < tried[-1]["lr"]}
    with_bn, without = chosen["with-batchnorm"], chosen["without-batchnorm"]
    gap = with_bn["test_accuracy"] - without["test_accuracy"]
    n = grid[0]["history"]["settings"]["test_images"]
    half = z * math.sqrt(sum(c["test_accuracy"] * (1 - c["test_accuracy"]) for c in chosen.values()) / n)
    first = grid[0]["history"]["settings"]
    steps = first["epochs"] * math.ceil(first["train_images"] / first["batch_size"])
    out = {"settings": {k: first[k] for k in ("epochs", "train_images", "validation_images", "test_images",
                                              "batch_size")} | {"confidence": s.confidence, "steps": steps},
           "grid": [{k: v for k, v in r.items() if k not in ("history", "score")} for r in grid],
           "chosen": chosen, "difference": {"value": gap, "interval": [gap - half, gap + half]}}
    write_json(output, out)
    print(f"[mnist] BatchNorm check: {with_bn['test_accuracy']:.4f} with (lr {with_bn['lr']:g}), "
          f"{without['test_accuracy']:.4f} without (lr {without['lr']:g})")
    return out
