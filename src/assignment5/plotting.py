"""One matplotlib style for every figure: vector PDF, sized for an A4 column."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 100, "savefig.bbox": "tight", "font.size": 9, "axes.titlesize": 9,
    "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "pdf.fonttype": 42, "image.interpolation": "nearest",
})


def save(fig, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"CreationDate": None})  # no timestamp: same input, same bytes
    plt.close(fig)


def image_grid(ax, images, rows: int, cols: int, pad: int = 1, cmap="gray"):
    """Tile equally sized images (N, H, W) or (N, H, W, 3) into one axes."""
    import numpy as np

    images = np.asarray(images)
    n, h, w = images.shape[:3]
    extra = images.shape[3:]
    canvas = np.ones(((h + pad) * rows - pad, (w + pad) * cols - pad, *extra), dtype=float)
    for i in range(min(n, rows * cols)):
        r, c = divmod(i, cols)
        canvas[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = images[i]
    ax.imshow(canvas, cmap=cmap if not extra else None, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return canvas
