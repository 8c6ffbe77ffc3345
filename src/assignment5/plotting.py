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
    """Tile equally sized images (N, H, W) or (N, H, W, 3) in [0, 1] into one axes
    (torchvision's make_grid, white gaps)."""
    import numpy as np
    import torch
    from torchvision.utils import make_grid

    images = np.asarray(images, dtype=np.float32)[: rows * cols]
    grey = images.ndim == 3
    tensor = torch.from_numpy(images[:, None] if grey else images.transpose(0, 3, 1, 2))
    blank = torch.ones((rows * cols - len(tensor), *tensor.shape[1:]))  # a short last row stays white
    grid = make_grid(torch.cat([tensor, blank]), nrow=cols, padding=pad, pad_value=1.0)
    grid = grid[:, pad:-pad, pad:-pad] if pad else grid  # make_grid also pads the outer edge
    canvas = grid[0].numpy() if grey else grid.permute(1, 2, 0).numpy()
    ax.imshow(canvas, cmap=cmap if grey else None, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return canvas
