"""Small, atomic JSON helpers: a killed job never leaves a half-written result."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def default_file_mode() -> int:
    """What open() would give a new file under the current umask (temporary files get 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_json(path: str | Path, data) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
    os.chmod(f.name, default_file_mode())
    os.replace(f.name, path)


def write_tsv(path: str | Path, rows: list[dict]) -> None:
    """A table for Snakemake's HTML report: one header line, tab-separated, floats to 6 digits."""
    import csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}
                         for row in rows)


def read_json(path: str | Path):
    with open(path) as f:
        return json.load(f)


def write_model(state, path: str | Path) -> None:
    """torch.save, atomically (a killed job never leaves half a model)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.chmod(tmp, default_file_mode())
    os.replace(tmp, path)
