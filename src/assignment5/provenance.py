"""What produced a result: software versions, hardware, threads, git commit, date."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
import sys

PACKAGES = ("torch", "torchvision", "snakemake", "numpy", "matplotlib", "pillow",
            "jinja2", "sympy", "scikit-learn", "jsonschema")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# CPU flags that decide the fast training paths: bf16 dot products (AVX512-BF16) and AMX tiles.
SPEED_FLAGS = ("avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_features() -> dict[str, bool]:
    """Which of SPEED_FLAGS this CPU reports (Linux /proc/cpuinfo; all False elsewhere)."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return {flag: flag in flags for flag in SPEED_FLAGS}


def machine_tag() -> str:
    """One line naming the CPU and its speed flags, printed beside every benchmark ratio."""
    features = cpu_features()
    shown = ", ".join(f"{name}" if on else f"no {name}" for name, on in features.items())
    return f"{cpu_name()} [{shown}]"


def git_commit(cwd: str | None = None) -> str:
    """The commit of the code that ran: asked in this package's folder, so a workflow run
    in another working directory still reports it."""
    cwd = cwd or os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               text=True, capture_output=True, check=True).stdout.strip()
        return sha + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def device_summary() -> dict:
    import torch

    from assignment5.training import describe_device

    found = torch.accelerator.current_accelerator(check_available=True)
    gpu = describe_device(found) if found is not None else "none"
    return {"cpu": cpu_name(), "cpu_features": cpu_features(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "logical_cpus": os.cpu_count(), "gpu": gpu, "torch_threads": torch.get_num_threads()}


def collect(budget: str) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        **device_summary(),
        "budget": budget,
        "git_commit": git_commit(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
