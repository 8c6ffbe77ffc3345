"""What each job asks a cluster for (SLURM's --mem and --time), and which ready job starts first.

Memory follows the data a job holds; time follows the rates earlier runs measured on this machine
(estimate.py), doubled. A local run ignores both unless `--resources mem_mb=...` is given; a
profile's `set-resources` overrides them for one rule.
"""

from __future__ import annotations

import math

# Python, torch and the compiled LSTM kernel: the largest max RSS of a smoke job is 2.0 GB
# (tweets_train, while the kernel compiles); 3 GB leaves room.
BASE_MB = 3000
# Copies of the uint8 galaxy image array a step holds at its peak: training keeps one on the host
# next to the device's; PCA and the analysis convert to float32 (4 bytes) and keep the
# reconstructions too (measured on the default budget's 6,649 images, rounded up).
GALAXY_COPIES = {"galaxy_data": 1, "galaxy_train": 2, "galaxy_analyse": 8, "galaxy_pca": 20,
                 "galaxy_figures": 1}
TRAINING_RULES = ("mnist_train", "mnist_check", "tweets_train", "tweets_variant", "galaxy_train")
SHORT_JOB_MINUTES = 60        # data, figures, analysis and report jobs: minutes on 2 cores
UNMEASURED_MINUTES = 24 * 60  # a training job with no measured rate yet
MARGIN = 2.0


def mem_mb(config: dict, rule: str, galaxy_images: int | None) -> int:
    """Megabytes for one job of `rule`; galaxy rules add copies of the preprocessed images."""
    copies = GALAXY_COPIES.get(rule, 0)
    if not copies or not galaxy_images:
        return BASE_MB
    size = config["galaxy"]["image_size"]
    return BASE_MB + math.ceil(copies * galaxy_images * 3 * size * size / 2**20)


def job_key(rule: str, run: str | None = None) -> str:
    """A job's key in the estimates: the rule, with the run after a colon (galaxy_train:conv)."""
    return rule if run is None else f"{rule}:{run}"


def runtime_minutes(estimates: dict[str, float | None], rule: str, run: str | None = None) -> int:
    """Minutes for one job: twice the measured estimate plus 10 (at least 30) for training jobs."""
    if rule not in TRAINING_RULES:
        return SHORT_JOB_MINUTES
    seconds = estimates.get(job_key(rule, run))
    if seconds is None:
        return UNMEASURED_MINUTES
    return max(30, math.ceil(MARGIN * seconds / 60 + 10))


# Snakemake's priority: which ready job a free core takes first. Results never depend on it.
GATE_RULES = ("mnist_data", "tweets_data", "galaxy_data", "galaxy_lr_study")
GATE, UNMEASURED_LONG = 20_000, 10_000
# Before any rate is measured: the main trainings, longest first by the default budget's per-job
# times (docs/run-times.md), so the two longest VAEs start first and VGG11 takes the next free core.
UNMEASURED_ORDER = ("conv", "resnet", "mnist_train", "tweets_train", "mlp")


def priority(estimates: dict[str, float | None], rule: str, run: str | None = None, *,
             study_runs=(), galaxy_archs=()) -> int:
    """Gating jobs first, then the longest, so that a run does not end with one long job on one
    core beside an idle one (bench/bench_schedule.py replays a run's measured job times each way).
    The data rules and the learning-rate study (its runs and their summary) gate later trainings
    and come first. The others go longest first by their measured estimate (minutes; estimate.py);
    without one, each section's main training counts as longer than anything measured (in
    UNMEASURED_ORDER) and the rest as shortest."""
    seconds = estimates.get(job_key(rule, run)) or 0
    minutes = min(9_999, round(seconds / 60))
    if rule in GATE_RULES or (rule == "galaxy_train" and run in study_runs):
        return GATE + minutes
    if seconds:
        return max(1, minutes)
    key = run if rule == "galaxy_train" and run in galaxy_archs else rule
    return UNMEASURED_LONG + len(UNMEASURED_ORDER) - UNMEASURED_ORDER.index(key) if key in UNMEASURED_ORDER else 0
