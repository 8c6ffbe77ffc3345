"""Copy the workflow (not results or data) into a folder, so tests run it in isolation."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_workflow(dest: Path) -> Path:
    shutil.copy(ROOT / "Snakefile", dest / "Snakefile")
    for folder in ("workflow", "config"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "report").mkdir()
    for template in (ROOT / "report").glob("*.j2"):
        shutil.copy(template, dest / "report" / template.name)
    return dest


def run_snakemake(folder, *args: str, cores: int = 1) -> subprocess.CompletedProcess:
    """Targets, if any, go first: --config would swallow a target placed after it."""
    return subprocess.run([sys.executable, "-m", "snakemake", *args, "--cores", str(cores)],
                          cwd=folder, capture_output=True, text=True)


def snakemake(folder, *args: str) -> subprocess.CompletedProcess:
    return run_snakemake(folder, *args, cores=os.cpu_count() or 2)


_JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", re.M)


def scheduled_jobs(dry_run_output: str) -> set[str]:
    """'rule' or 'rule[wildcards]' for every job a dry run lists (the 'all' target left out)."""
    jobs = set()
    for rule, body in _JOB.findall(dry_run_output):
        wildcards = re.search(r"^    wildcards: (.*)$", body, re.M)
        if rule != "all":
            jobs.add(f"{rule}[{wildcards.group(1)}]" if wildcards else rule)
    return jobs
