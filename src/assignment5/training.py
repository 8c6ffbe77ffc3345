"""Pieces every training entry point shares: threads, precision, seeds, resumable checkpoints."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch


def setup_torch(threads: int, seed: int) -> None:
    torch.set_num_threads(max(1, threads))
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def bf16_supported() -> bool:
    """True where oneDNN has native bf16 kernels (AVX512-BF16 or AMX); elsewhere bf16 is slow."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(requested: str) -> str:
    if requested == "auto":
        return "bf16" if bf16_supported() else "fp32"
    return requested


def autocast(precision: str):
    """bf16 autocast on CPU (weights and optimiser stay fp32), or nothing."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def fingerprint(settings: dict) -> str:
    """A short hash of the settings that change what training computes (not threads or paths)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


class Checkpointer:
    """Saves training state atomically to ``folder/last.pt``; resumes only the same settings.

    The global torch RNG (dropout masks, sampling noise) is saved and restored with every state,
    so a resumed run draws the same random numbers as one that never stopped. A run that finishes
    clears its checkpoint: it exists only to resume an interrupted run."""

    def __init__(self, folder: str | Path, settings: dict):
        self.folder = Path(folder)
        self.path = self.folder / "last.pt"
        self.key = fingerprint(settings)

    def save(self, state: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save({"fingerprint": self.key, "torch_rng": torch.get_rng_state(), **state}, tmp)
        os.replace(tmp, self.path)

    def load(self) -> dict | None:
        if not self.path.exists():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        if state.get("fingerprint") != self.key:
            print(f"[checkpoint] {self.path} was made with other settings; starting afresh")
            return None
        torch.set_rng_state(state["torch_rng"])
        return state

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class Stopwatch:
    """Wall time that survives a resume: seconds already spent are carried in the checkpoint."""

    def __init__(self, already: float = 0.0):
        self.already = already
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.already + time.perf_counter() - self.start
