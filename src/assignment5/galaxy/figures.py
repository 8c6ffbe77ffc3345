"""Section 5 figures and the summary table, from the runs' histories and analyses.

    python -m assignment5.galaxy.figures --runs results/galaxy/runs --archs mlp conv resnet \
        --bonus plain kl-warmup --pca pca.json --summary summary.json --figures curves.pdf ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA as SkPCA

from assignment5.galaxy.data import MORPHOLOGIES
from assignment5.io import read_json, write_json
from assignment5.plotting import image_grid, plt, save

NAMES = {"mlp": "(i) feed-forward", "conv": "(ii) convolutional", "resnet": "(iii) ResNet"}
COLOURS = {"mlp": "C0", "conv": "C1", "resnet": "C2"}


def plot_curves(histories: dict, pca: dict, path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 2.8))
    for ax, metric, label in ((axes[0], "bce", "BCE per pixel"), (axes[1], "mse", "MSE per pixel")):
        for arch, h in histories.items():
            its = [row["iteration"] for row in h["history"]]
            ax.plot(its, [row["train"][metric] for row in h["history"]], "--", color=COLOURS[arch], alpha=0.8)
            ax.plot(its, [row["test"][metric] for row in h["history"]], "-", color=COLOURS[arch],
                    label=NAMES[arch])
        ax.axhline(pca["test"][metric], color="k", lw=0.8, ls=":", label=f"PCA ({pca['components']}), test")
        ax.set_yscale("log")
        ax.set_xlabel("training iteration")
        ax.set_ylabel(label)
    axes[1].plot([], [], "k--", label="train (dashed)")
    axes[1].plot([], [], "k-", label="test (solid)")
    axes[1].legend(fontsize=6.5, loc="upper right")
    fig.tight_layout()
    save(fig, path)


def plot_reconstructions(analyses: dict, path) -> None:
    archs = list(analyses)
    fig, axes = plt.subplots(len(archs) + 1, 1, figsize=(6.4, 0.95 * (len(archs) + 1)))
    first = analyses[archs[0]]
    image_grid(axes[0], first["recon_inputs"], 1, len(first["recon_inputs"]))
    axes[0].set_ylabel("original", rotation=0, ha="right", va="center", fontsize=8)
    for ax, arch in zip(axes[1:], archs):
        image_grid(ax, analyses[arch]["recon"], 1, len(analyses[arch]["recon"]))
        ax.set_ylabel(NAMES[arch], rotation=0, ha="right", va="center", fontsize=8)
    save(fig, path)


def plot_generation(analyses: dict, classes: list[str], path) -> None:
    archs = list(analyses)
    rows = len(classes)
    fig, axes = plt.subplots(rows, len(archs) + 1, figsize=(7.0, 0.75 * rows + 0.3), squeeze=False)
    for r, name in enumerate(classes):
        image_grid(axes[r, 0], analyses[archs[0]]["originals"][r][:4], 1, 4)
        axes[r, 0].set_ylabel(name.replace("_", " "), rotation=0, ha="right", va="center", fontsize=7)
        for c, arch in enumerate(archs, start=1):
            image_grid(axes[r, c], analyses[arch]["generated"][r][:4], 1, 4)
    axes[0, 0].set_title("originals (train)", fontsize=8)
    for c, arch in enumerate(archs, start=1):
        axes[0, c].set_title(f"generated: {NAMES[arch]}", fontsize=8)
    fig.tight_layout(pad=0.3)
    save(fig, path)


def plot_latent(analyses: dict, probes: dict, path) -> dict:
    fig, axes = plt.subplots(1, len(analyses), figsize=(7.0, 2.5), squeeze=False)
    explained = {}
    for ax, (arch, a) in zip(axes[0], analyses.items()):
        mu, morph = a["test_mu"], a["test_morphology"]
        pca = SkPCA(n_components=2).fit(mu)
        xy = pca.transform(mu)
        explained[arch] = float(pca.explained_variance_ratio_.sum())
        ax.scatter(*xy[morph < 0].T, s=3, c="0.8", label="no morphology label", rasterized=True)
        for k, name in enumerate(MORPHOLOGIES):
            if (morph == k).any():
                ax.scatter(*xy[morph == k].T, s=5, label=name.replace("_", " "), rasterized=True)
        acc = probes[arch]["accuracy"]
        ax.set_title(f"{NAMES[arch]}\nprobe accuracy {acc:.2f}" if acc is not None else NAMES[arch])
        ax.set_xlabel("PC 1 of $\\mu$")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("PC 2 of $\\mu$")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=6.5, markerscale=2,
               bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    save(fig, path)
    return explained


def normalise(w: np.ndarray) -> np.ndarray:
    w = w - w.min(axis=tuple(range(1, w.ndim)), keepdims=True)
    return w / np.maximum(w.max(axis=tuple(range(1, w.ndim)), keepdims=True), 1e-12)


def plot_weights(analyses: dict, path) -> None:
    archs = list(analyses)
    fig, axes = plt.subplots(3, len(archs), figsize=(7.0, 5.6), squeeze=False)
    for c, arch in enumerate(archs):
        a = analyses[arch]
        filters = normalise(a["filters"][:32])
        image_grid(axes[0, c], filters, 4, 8)
        axes[0, c].set_title(f"{NAMES[arch]}: first layer\n{a['filters'].shape[1]}x{a['filters'].shape[2]} filters",
                             fontsize=8)
        for r, (key, title) in enumerate((("fc_mu", "encoder $\\to\\mu$ weights"),
                                          ("fc_decoder", "decoder's first weights")), start=1):
            w = a[key]
            lim = np.abs(w).max()
            axes[r, c].imshow(w, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                              interpolation="nearest", rasterized=True)
            axes[r, c].set_title(f"{title} ({w.shape[0]}x{w.shape[1]})", fontsize=8)
            axes[r, c].grid(False)
            axes[r, c].tick_params(labelsize=6)
    fig.tight_layout()
    save(fig, path)


def plot_bonus(bonus: dict, path) -> None:
    fig, ax = plt.subplots(figsize=(3.6, 2.5))
    for name, h in bonus.items():
        ax.plot([r["iteration"] for r in h["history"]], [r["test"]["neg_elbo"] for r in h["history"]],
                label=name)
    ax.set_yscale("log")
    ax.set_xlabel("training iteration")
    ax.set_ylabel("test negative ELBO per image")
    ax.legend(fontsize=7)
    save(fig, path)


def run_summary(h: dict) -> dict:
    final = h["final"]
    return {"test": final["test"], "train": final["train"], "epochs": h["settings"]["epochs"],
            "iterations": h["iterations"], "wall_seconds": h["wall_seconds"],
            "images_per_second": h["images_per_second"], "precision": h["settings"]["precision"],
            "parameters": h["parameters"], "threads": h["threads"], "settings": h["settings"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True)
    parser.add_argument("--archs", nargs="+", required=True)
    parser.add_argument("--bonus", nargs="+", required=True, help="bonus run names (bonus-<variant>)")
    parser.add_argument("--pca", required=True)
    parser.add_argument("--summary", required=True)
    parser.add_argument("--figures", nargs=6, required=True,
                        metavar=("CURVES", "RECON", "GENERATION", "LATENT", "WEIGHTS", "BONUS"))
    args = parser.parse_args(argv)
    runs = Path(args.runs)
    histories = {a: read_json(runs / a / "history.json") for a in args.archs}
    infos = {a: read_json(runs / a / "analysis.json") for a in args.archs}
    analyses = {a: dict(np.load(runs / a / "analysis.npz")) for a in args.archs}
    bonus = {b.removeprefix("bonus-"): read_json(runs / b / "history.json") for b in args.bonus}
    pca = read_json(args.pca)
    classes = infos[args.archs[0]]["generated_classes"]

    plot_curves(histories, pca, args.figures[0])
    plot_reconstructions(analyses, args.figures[1])
    plot_generation(analyses, classes, args.figures[2])
    explained = plot_latent(analyses, {a: infos[a]["probe"] for a in args.archs}, args.figures[3])
    plot_weights(analyses, args.figures[4])
    plot_bonus(bonus, args.figures[5])
    write_json(args.summary, {
        "archs": {a: run_summary(histories[a]) | {"probe": infos[a]["probe"],
                                                   "latent_pca_explained": explained[a]}
                  for a in args.archs},
        "bonus": {name: run_summary(h) | {"beta": h["settings"]["beta"],
                                          "kl_warmup_epochs": h["settings"]["kl_warmup_epochs"]}
                  for name, h in bonus.items()},
        "pca": pca, "generated_classes": classes, "class_sizes": infos[args.archs[0]]["class_sizes"],
    })


if __name__ == "__main__":
    main()
