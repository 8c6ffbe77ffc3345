"""The BatchNorm check: VGG11 with and without BatchNorm, each at its own peak rate.

Every variant trains briefly at every rate of the grid; its rate is the one whose run scores the
highest accuracy on validation images (training images it never trained on; ties go to the
smaller rate), and only that run's test accuracy is compared, with normal-approximation
intervals over the test images (they cover the test sample, not the training seed).
"""

from __future__ import annotations

import math

from assignment5 import settings
from assignment5.intervals import accuracy_difference, accuracy_interval
from assignment5.io import read_json, write_json


def validation_score(history: dict) -> float:
    """The run's last validation accuracy; -inf for a run that diverged."""
    return -math.inf if history.get("diverged_at_epoch") else history["final"]["validation_accuracy"]


def run(s: settings.MnistBatchnorm, *, histories: list[str], output: str) -> dict:
    grid, chosen = [], {}
    for (variant, lr, _), path in zip(s.runs, histories):
        h = read_json(path)
        grid.append({"variant": variant, "lr": lr, "validation_accuracy": h["final"]["validation_accuracy"],
                     "test_accuracy": h["final"]["test_accuracy"], "diverged_at_epoch": h["diverged_at_epoch"],
                     "train_loss": h["final"]["running_train_loss"], "score": validation_score(h), "history": h})
    first = grid[0]["history"]["settings"]  # every check run shares these
    n = first["test_images"]
    for variant in settings.BATCHNORM_CHECK:
        tried = sorted((r for r in grid if r["variant"] == variant), key=lambda r: r["lr"])
        best = max(tried, key=lambda r: (r["score"], -r["lr"]))
        chosen[variant] = {"lr": best["lr"], "test_accuracy": best["test_accuracy"],
                           "interval": accuracy_interval(best["test_accuracy"], n, s.confidence),
                           "validation_accuracy": best["validation_accuracy"],
                           "train_loss": best["train_loss"], "diverged_at_epoch": best["diverged_at_epoch"],
                           "bracketed": tried[0]["lr"] < best["lr"] < tried[-1]["lr"]}
    with_bn, without = chosen["with-batchnorm"], chosen["without-batchnorm"]
    gap = accuracy_difference(with_bn["test_accuracy"], without["test_accuracy"], n, s.confidence)
    steps = first["epochs"] * math.ceil(first["train_images"] / first["batch_size"])
    out = {"settings": {k: first[k] for k in ("epochs", "train_images", "validation_images", "test_images",
                                              "batch_size")} | {"confidence": s.confidence, "steps": steps},
           "grid": [{k: v for k, v in r.items() if k not in ("history", "score")} for r in grid],
           "chosen": chosen, "difference": {k: gap[k] for k in ("value", "interval")}}
    write_json(output, out)
    print(f"[mnist] BatchNorm check: {with_bn['test_accuracy']:.4f} with (lr {with_bn['lr']:g}), "
          f"{without['test_accuracy']:.4f} without (lr {without['lr']:g})")
    return out
