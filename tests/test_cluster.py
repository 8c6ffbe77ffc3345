"""The smoke budget through the SLURM profile, on a one-node SLURM started on this machine.

scripts/slurm_localhost.sh installs (Debian slurm-wlm, munge) and starts the cluster; the test
runs the workflow with workflow/profiles/slurm as a user would, then checks the PDF and what each
job asked SLURM for. Deselect with `-m "not cluster"` where SLURM cannot be installed.
"""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from workflow_copy import copy_workflow

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
SCRIPT = ROOT / "scripts" / "slurm_localhost.sh"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """The environment of a user of the local cluster (its client wrappers first on PATH)."""
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(["bash", str(SCRIPT), "start", str(state)], capture_output=True, text=True)
    assert started.returncode == 0, started.stdout + started.stderr
    yield {**os.environ, "PATH": f"{state / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", str(SCRIPT), "stop", str(state)], capture_output=True)


def squeue_jobs(env) -> dict[str, tuple[int, str]]:
    """{rule or rule_wildcards_run: (memory in MB, time limit)} of every job SLURM still lists."""
    out = subprocess.run(["squeue", "--states=all", "-h", "-o", "%k|%m|%l"], env=env,
                         capture_output=True, text=True, check=True).stdout
    jobs = {}
    for line in out.splitlines():
        comment, memory, limit = line.split("|")
        jobs[comment.removeprefix("rule_")] = (int(memory.rstrip("M")), limit)
    return jobs


def test_smoke_budget_runs_through_the_slurm_profile(slurm, tmp_path, shared_data):
    folder = copy_workflow(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "workflow/profiles/slurm",
         "--cores", str(os.cpu_count() or 2),                      # the node's CPUs
         "--slurm-init-seconds-before-status-checks", "5",       # short jobs: poll often
         "--configfile", "config/smoke.yaml", "--config", f"data_dir={shared_data}"],
        cwd=folder, env=slurm, capture_output=True, text=True)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]

    submitted = set(re.findall(r"slurm_logs/rule_(\w+)/", log))
    assert {"theory", "mnist_train", "tweets_train", "galaxy_train", "galaxy_figures"} <= submitted
    assert not {"mnist_data", "tweets_data", "report"} & submitted   # local rules stay local

    text = subprocess.run(["pdftotext", str(folder / "report" / "assignment5-smoke.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "budget smoke" in text and "Answer 1.1." in text

    # Each job asked for its rule's memory and time (resources.py), not one figure for all.
    jobs = squeue_jobs(slurm)
    assert jobs["galaxy_pca"][0] > jobs["theory"][0] >= 3000
    assert jobs["theory"][1] == "1:00:00"
    assert jobs["galaxy_train_wildcards_conv"][1] != jobs["theory"][1]


def test_priorities_start_data_and_the_study_first_then_the_longest_trainings():
    from assignment5 import resources

    def priority(rule, run=None, estimates=None):
        return resources.priority(estimates or {}, rule, run, study_runs={"lr-conv-0.001": ("conv", 0.001)},
                                  galaxy_archs=("mlp", "conv", "resnet"))

    gate = [priority("galaxy_data"), priority("mnist_data"), priority("galaxy_train", "lr-conv-0.001"),
            priority("galaxy_lr_study")]
    long = [priority("mnist_train"), priority("tweets_train"), priority("galaxy_train", "conv")]
    other = [priority("mnist_check", "with-batchnorm-lr0.05"), priority("tweets_variant", "tuned"),
             priority("galaxy_train", "bonus-plain-seed0"), priority("report")]
    assert min(gate) > max(long) and min(long) > max(other)
    # unmeasured: the longest of the default budget first (docs/run-times.md)
    assert (priority("galaxy_train", "conv") > priority("galaxy_train", "resnet") > priority("mnist_train")
            > priority("tweets_train") > priority("galaxy_train", "mlp") > max(other))
    # measured jobs go longest first, below the gate however long; unmeasured main trainings lead them
    measured = {"mnist_train": 3000.0, "tweets_variant:tuned": 600.0, "mnist_check:with-batchnorm-lr0.05": 10.0 ** 9}
    assert priority("mnist_train", estimates=measured) > priority("tweets_variant", "tuned", estimates=measured)
    assert priority("mnist_check", "with-batchnorm", estimates=measured) < min(gate)
    assert priority("tweets_train") > priority("mnist_train", estimates=measured) > priority("report") == 0
