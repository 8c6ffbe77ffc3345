"""Small, atomic writers: a killed job never leaves a half-written result."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path


def default_file_mode() -> int:
    """What open() would give a new file under the current umask (temporary files get 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic(path: str | Path, mode: str = "w", **open_args):
    """An open temporary file beside ``path`` that replaces it only when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(mode, dir=path.parent, suffix=".tmp", delete=False,
                                     **open_args) as f:
        try:
            yield f
        except BaseException:
            f.close()
            os.unlink(f.name)
            raise
    os.chmod(f.name, default_file_mode())
    os.replace(f.name, path)


def write_json(path: str | Path, data) -> None:
    with atomic(path) as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")


def write_tsv(path: str | Path, rows: list[dict]) -> None:
    """A table for Snakemake's HTML report: one header line, tab-separated, floats to 6 digits."""
    with atomic(path, newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}
                         for row in rows)


def write_npz(path: str | Path, compressed: bool = False, **arrays) -> None:
    """np.savez to exactly ``path`` (a file object: savez would add .npz to another name)."""
    import numpy as np

    with atomic(path, "wb") as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)


def write_model(state, path: str | Path) -> None:
    """torch.save of a state dict or a dict of plain values and tensors."""
    import torch

    with atomic(path, "wb") as f:
        torch.save(state, f)


def read_json(path: str | Path):
    with open(path) as f:
        return json.load(f)
