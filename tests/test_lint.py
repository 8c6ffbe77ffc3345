"""Snakemake's conventions: `snakemake --lint` finds nothing but the conda/container advice (conda
channels are not reachable where this workflow is developed), and snakefmt changes nothing."""

import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def test_snakemake_lint_is_clean_but_for_software_deployment():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "--config", "data_dir=/nowhere"],
                            cwd=ROOT, capture_output=True, text=True)
    out = result.stdout + result.stderr
    titles = re.findall(r"^    \* (.+?):?$", out, re.M)
    assert titles, out[-2000:]  # lint ran and listed something
    other = [t for t in titles if "conda environment or container" not in t]
    assert not other, out[-4000:]


@pytest.mark.skipif(shutil.which("snakefmt", path=str(ROOT / ".venv" / "bin")) is None
                    and shutil.which("snakefmt") is None, reason="snakefmt is installed by scripts/setup.sh")
def test_snakefmt_changes_nothing():
    snakefmt = shutil.which("snakefmt", path=str(ROOT / ".venv" / "bin")) or shutil.which("snakefmt")
    result = subprocess.run([snakefmt, "--check", "Snakefile", "workflow"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
