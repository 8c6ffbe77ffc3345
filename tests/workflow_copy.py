"""Copy the workflow (not results or data) into a folder, so tests run it in isolation."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_workflow(dest: Path) -> Path:
    shutil.copy(ROOT / "Snakefile", dest / "Snakefile")
    for folder in ("workflow", "config"):
        shutil.copytree(ROOT / folder, dest / folder)
    (dest / "report").mkdir()
    for template in (ROOT / "report").glob("*.j2"):
        shutil.copy(template, dest / "report" / template.name)
    return dest


def run_snakemake(folder, target: str, *args: str, cores: int = 1) -> subprocess.CompletedProcess:
    """The target goes first: --config would swallow a target placed after it."""
    return subprocess.run([sys.executable, "-m", "snakemake", target, "--cores", str(cores), *args],
                          cwd=folder, capture_output=True, text=True)
