"""Section 2 figures and tables from a trained VGG11: curves, confusion matrix, mistakes."""

from __future__ import annotations


import numpy as np
from matplotlib.ticker import LogFormatter

from assignment5 import settings
from assignment5.io import read_json, read_model, read_npz, write_json, write_tsv
from assignment5.mnist.model import INPUT_SIZE, VGG11, layer_table
from assignment5.mnist.train import evaluate, load_split
from assignment5.plotting import plt, save
from assignment5.training import resolve_device, resolve_precision, setup_torch


ORIGINAL_SIDE = 28  # MNIST's digits


def halvings(side: int, pools: int) -> list[int]:
    """Sides after each 2x2 max-pool (floor), stopping where a pool has nothing left to halve."""
    sides = [side]
    for _ in range(pools):
        if sides[-1] < 2:
            break
        sides.append(sides[-1] // 2)
    return sides


class PlainLogFormatter(LogFormatter):
    """Log-axis labels as plain numbers (0.3, 2.4), not 3e-01 or 2.4 x 10^0; which ticks carry a
    label is still LogFormatter's choice."""

    def _num_to_string(self, x, vmin, vmax):
        return f"{x:.3g}"


def plot_curves(history: list[dict], path, scored: str = "full pass") -> None:
    """``scored``: what the eval-mode training figures were computed on (the legend says it)."""
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(2, 2, figsize=(6.4, 4.4), sharex=True)
    panels = [("test_accuracy", "(a) test accuracy"), ("train_accuracy", "(b) training accuracy"),
              ("test_loss", "(c) test loss"), ("train_loss", "(d) training loss")]
    for ax, (key, title) in zip(axes.flat, panels):
        ax.plot(epochs, [h[key] for h in history], "o-", ms=3, label=f"{scored}, eval mode")
        if key.startswith("train"):
            ax.plot(epochs, [h[f"running_{key}"] for h in history], "s--", ms=3, alpha=0.7,
                    label="running average, train mode")
        if key.endswith("loss"):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(PlainLogFormatter())
            ax.yaxis.set_minor_formatter(PlainLogFormatter())
        ax.set_title(title)
        ax.set_xticks(epochs)
    axes[0, 1].legend(loc="lower right")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    fig.tight_layout()
    save(fig, path)


def plot_confusion(matrix: np.ndarray, path) -> None:
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    shown = np.where(matrix > 0, np.log10(np.maximum(matrix, 1)), np.nan)
    ax.imshow(shown, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=6,
                    color="white" if i == j else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    save(fig, path)


def plot_mistakes(images, true, pred, path, n: int) -> None:
    rows = max(1, -(-n // 8))
    n = min(n, len(images))
    fig, axes = plt.subplots(rows, 8, figsize=(6.4, 0.93 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray_r")
            ax.set_title(f"{true[i]} as {pred[i]}", fontsize=7)
    save(fig, path)


def vgg11_from_state(state: dict) -> VGG11:
    net = VGG11()
    net.load_state_dict(state)
    return net


def run(s: settings.MnistFigures, *, data: str, model: str, history: str, evaluation: str,
        architecture: str, figures: list[str], threads: int, table: str | None = None) -> dict:
    setup_torch(threads, 0)
    device = resolve_device(s.device)
    summary = read_json(history)
    net = read_model(model, vgg11_from_state, "VGG11's weights")
    layers = layer_table(net)
    pools = sum(r["type"] == "MaxPool2d" for r in layers)
    write_json(architecture, {"layers": layers, "total_params": sum(r["params"] for r in layers),
                              "original_side": ORIGINAL_SIDE, "input_side": INPUT_SIZE,
                              "sides": halvings(INPUT_SIZE, pools),
                              "original_sides": halvings(ORIGINAL_SIDE, pools),
                              "conv_filters": [r["output"][0] for r in layers if r["type"] == "Conv2d"]})

    npz = read_npz(data)
    test_x, test_y = load_split(npz, "test", s.test_limit)
    net.to(device)  # after the layer table, whose forward pass runs on the CPU
    precision = resolve_precision(summary["settings"]["precision"], device)
    result = evaluate(net, test_x.to(device), test_y.to(device), precision, channels_last=False)
    pred = result["predictions"].numpy()
    true = test_y.numpy()
    matrix = np.zeros((10, 10), dtype=int)
    np.add.at(matrix, (true, pred), 1)
    wrong = np.flatnonzero(pred != true)
    out = {
        "test_accuracy": result["accuracy"], "test_loss": result["loss"],
        "errors": int(len(wrong)), "test_images": int(len(true)), "confusion": matrix.tolist(),
        "misclassified_shown": int(min(s.misclassified_shown, len(wrong))),
        "most_confused": sorted(((int(matrix[i, j]), i, j) for i in range(10) for j in range(10)
                                 if i != j and matrix[i, j]), reverse=True)[:3],
    }
    write_json(evaluation, out)
    if table:
        write_tsv(table, summary["history"])
    st = summary["settings"]
    scored = ("full pass" if st["train_eval_images"] >= st["train_images"]
              else f"{st['train_eval_images']:,} of {st['train_images']:,} images")
    plot_curves(summary["history"], figures[0], scored)
    plot_confusion(matrix, figures[1])
    originals = npz["test_x"][: len(true)][wrong] / 255.0
    plot_mistakes(originals, true[wrong], pred[wrong], figures[2], s.misclassified_shown)
    print(f"test accuracy {result['accuracy']:.4f} ({len(wrong)} errors)")
    return out
