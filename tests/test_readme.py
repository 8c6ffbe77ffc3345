"""Every command of the README runs as written: the cheap ones for real (dry runs, --list-rules,
--dag, --unlock, --report and predict on the smoke budget's results), the long ones as make's or
Snakemake's dry run of the same line, so that a README edit cannot break a command unnoticed."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
BLOCK = re.compile(r"^ *```bash\n(.*?)^ *```", re.M | re.S)
LONG = ("make report", "make test", "make check")  # run as `make -n`: they build or test for minutes
CHEAP = {"-n", "--list-rules", "--dag", "--unlock", "--report"}  # Snakemake options that run nothing
SKIP = ("source .venv/bin/activate",)  # the test runs with the venv's PATH


def readme_commands() -> list[str]:
    lines = []
    for block in BLOCK.findall((ROOT / "README.md").read_text()):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()  # drop a trailing comment
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def as_run(command: str, data: Path) -> tuple[str, Path | None]:
    """The command with the data folder filled in, and where it runs (None: the smoke run)."""
    command = command.replace("/path/to/data", shlex.quote(str(data)))
    if command.startswith(LONG):
        return command.replace("make ", "make -n ", 1), ROOT
    words = shlex.split(command.split("|")[-1].split(">")[0])
    if words[0] == "snakemake" and not set(words) & CHEAP:  # a training or a whole run: its dry run
        command = command.replace("snakemake ", "snakemake -n ", 1)
    return command, None


def test_the_readme_has_its_commands():
    commands = readme_commands()
    assert any(c.startswith("make report") for c in commands)
    assert any("--report" in c for c in commands) and any("--unlock" in c for c in commands)
    assert any("assignment5-predict" in c for c in commands)


@pytest.mark.parametrize("command", [c for c in readme_commands() if not c.startswith(SKIP)])
def test_a_readme_command_runs_as_written(command, smoke_run, shared_data):
    folder, _, _ = smoke_run
    line, where = as_run(command, shared_data)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", line], cwd=where or folder, env=env, capture_output=True,
                            text=True, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 0, f"{line}\n{out[-3000:]}"
    assert "Traceback" not in out, out[-3000:]
