"""Every config key reruns exactly the jobs that read it, and what depends on them.

For each leaf key of the merged smoke config, a copy of a finished smoke run gets the key changed
(in an extra --configfile) and `snakemake -n` must schedule the same jobs as forcing the readers
listed below (`--forcerun`, which adds everything downstream of them). The table of readers is
written here, by hand, from what each step does: it is the test's own oracle, not read from the
workflow's code.
"""

import copy
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from assignment5 import settings
from conftest import ROOT
from workflow_copy import scheduled_jobs, snakemake

pytestmark = pytest.mark.slow

RUNS = "results/smoke/galaxy/runs"
ARCH_RUNS = [f"{RUNS}/{a}/history.json" for a in ("mlp", "conv", "resnet")]
SEEDS = (0, 1)  # config/smoke.yaml's galaxy.bonus.seeds
LRS = (0.001, 0.003)  # config/smoke.yaml's galaxy.lr_study.lrs


SMOKE_STUDY = settings.lr_study_runs(settings.load_config([ROOT / "config" / "config.yaml",
                                                            ROOT / "config" / "smoke.yaml"]))


def study(*archs: str, free_bits=None) -> list[str]:
    """The history files of the study runs of these architectures (with these free bits)."""
    return [f"{RUNS}/{run}/history.json" for run, (arch, _, fb) in SMOKE_STUDY.items()
            if arch in archs and (free_bits is None or fb == free_bits)]


STUDY_RUNS = study("mlp", "conv", "resnet")


def bonus(variant: str) -> list[str]:
    """The history files of a bonus variant's runs, one per seed."""
    return [f"{RUNS}/bonus-{variant}-seed{seed}/history.json" for seed in SEEDS]



MNIST_TRAIN = ["mnist_train"]
MNIST_RUNS = ["mnist_train", "mnist_check"]  # the main run and the BatchNorm check's runs
TWEETS_TRAIN = ["tweets_train"]
CHECK = ["results/smoke/tweets/optimizer-check/history.json"]  # the other optimiser, briefly
TUNED = ["results/smoke/tweets/tuned/history.json", "results/smoke/tweets/tuned-placeholders/history.json"]
ALL_TWEET_RUNS = [*TWEETS_TRAIN, "tweets_variant"]
GALAXY_TRAIN = ["galaxy_train"]

# key (dotted; list items as key[i]) -> rules or files that read it. Keys not listed fail the test.
READERS = {
    "data_dir": ["tweets_data", "galaxy_data"],
    "threads.training": [],                   # resources, not settings: they rerun nothing
    "threads.preprocessing": [],
    "threads.evaluation": [],
    "device": ["mnist_train", "mnist_check", "mnist_figures", "tweets_train", "tweets_variant", "tweets_figures", "galaxy_train",
               "galaxy_analyse"],
    "theory.cnn.input": ["theory"],
    "theory.cnn.layers": ["theory"],
    "mnist.source": ["mnist_data"],
    "mnist.idx_dir": [],                      # read only when source is idx (smoke: pypi)
    "mnist.train_limit": MNIST_TRAIN,
    "mnist.test_limit": [*MNIST_RUNS, "mnist_figures"],
    "mnist.train_eval_sample": MNIST_RUNS,
    "mnist.batchnorm_check.epochs": ["mnist_check"],
    "mnist.batchnorm_check.train_limit": ["mnist_check"],
    "mnist.batchnorm_check.validation_images": ["mnist_check"],
    "mnist.batchnorm_check.confidence": ["mnist_batchnorm"],
    "mnist.epochs": MNIST_TRAIN,
    "mnist.batch_size": MNIST_RUNS,
    "mnist.lr": MNIST_TRAIN,                  # the check runs take theirs from batchnorm_check.lrs
    "mnist.momentum": MNIST_RUNS,
    "mnist.nesterov": MNIST_RUNS,
    "mnist.weight_decay": MNIST_RUNS,
    "mnist.one_cycle.pct_start": MNIST_RUNS,
    "mnist.one_cycle.div_factor": MNIST_RUNS,
    "mnist.one_cycle.final_div_factor": MNIST_RUNS,
    "mnist.precision": MNIST_RUNS,
    "mnist.channels_last": MNIST_RUNS,
    "mnist.misclassified_shown": ["mnist_figures"],
    "mnist.seed": MNIST_RUNS,
    "tweets.train_url": [],                   # read only when both URLs are set
    "tweets.test_url": [],
    "tweets.train_sha256": [],                # so are the downloads' checks
    "tweets.test_sha256": [],
    "tweets.max_download_mb": [],
    "tweets.malformed_rows": ["tweets_data"],
    "tweets.max_malformed_fraction": ["tweets_data"],
    "tweets.max_length": ["tweets_data"],
    "tweets.hidden_size": ALL_TWEET_RUNS,
    "tweets.iterations": TWEETS_TRAIN,
    "tweets.eval_every": ALL_TWEET_RUNS,
    "tweets.train_eval_sample": ALL_TWEET_RUNS,
    "tweets.batch_size": [*TWEETS_TRAIN, *CHECK],
    "tweets.bucket_pool": ALL_TWEET_RUNS,
    "tweets.lr": [*TWEETS_TRAIN, *CHECK],
    "tweets.schedule": [*TWEETS_TRAIN, *CHECK],
    "tweets.optimizer": ALL_TWEET_RUNS,
    "tweets.sgd_momentum": ALL_TWEET_RUNS,
    "tweets.weight_decay": [*TWEETS_TRAIN, *CHECK],
    "tweets.dropout": [*TWEETS_TRAIN, *CHECK],
    "tweets.grad_clip": [*TWEETS_TRAIN, *CHECK],
    "tweets.ema_decay": [*TWEETS_TRAIN, *CHECK],
    "tweets.precision": [*TWEETS_TRAIN, *CHECK],
    "tweets.kernel": ALL_TWEET_RUNS,
    "tweets.checkpoint_every": ALL_TWEET_RUNS,
    "tweets.optimizer_check.iterations": CHECK,
    "tweets.tuned.lr": TUNED,
    "tweets.tuned.schedule": TUNED,
    "tweets.tuned.batch_size": TUNED,
    "tweets.tuned.iterations": TUNED,
    "tweets.tuned.weight_decay": TUNED,
    "tweets.tuned.dropout": TUNED,
    "tweets.tuned.grad_clip": TUNED,
    "tweets.tuned.ema_decay": TUNED,
    "tweets.tuned.precision": TUNED,
    "tweets.tuned.validation_fraction": TUNED,
    "tweets.tuned.keep": TUNED,
    "tweets.tuned.confidence": ["tweets_figures"],
    "tweets.examples_per_kind": ["tweets_figures"],
    "tweets.baseline.ngram_max": ["tweets_baseline"],
    "tweets.baseline.min_df": ["tweets_baseline"],
    "tweets.baseline.c": ["tweets_baseline"],
    "tweets.baseline.max_iter": ["tweets_baseline"],
    "tweets.seed": [*ALL_TWEET_RUNS, "tweets_figures"],
    "galaxy.crop": ["galaxy_data"],
    "galaxy.image_size": ["galaxy_data"],
    "galaxy.test_fraction": ["galaxy_data"],
    "galaxy.corrupt_images": ["galaxy_data"],
    "galaxy.limit": ["galaxy_data"],
    "galaxy.max_image_pixels": ["galaxy_data"],
    "galaxy.latent_dim": ["galaxy_train", "galaxy_pca"],
    "galaxy.batch_size": GALAXY_TRAIN,
    "galaxy.schedule": GALAXY_TRAIN,
    "galaxy.recalibrate_batchnorm": GALAXY_TRAIN,
    # smoke's lr is "study": a number instead reruns the runs that took the study's rate
    "galaxy.lr_study.epochs.mlp": study("mlp"),
    "galaxy.lr_study.epochs.conv": study("conv"),
    "galaxy.lr_study.epochs.resnet": study("resnet"),
    "galaxy.lr_study.validation_fraction": [*STUDY_RUNS, "galaxy_lr_study"],
    "galaxy.lr_study.select_by": ["galaxy_lr_study"],
    "galaxy.lr_study.prefer_smaller_within": ["galaxy_lr_study"],
    "galaxy.lr_study.horizon": [*STUDY_RUNS, "galaxy_lr_study"],
    "galaxy.epochs.mlp": [f"{RUNS}/mlp/history.json", *study("mlp")],  # lr_study.horizon: main
    "galaxy.epochs.conv": [f"{RUNS}/conv/history.json", *study("conv")],  # lr_study.horizon: main
    "galaxy.epochs.resnet": [f"{RUNS}/resnet/history.json", *study("resnet")],  # lr_study.horizon: main
    "galaxy.evaluations": [*ARCH_RUNS, *bonus("plain"), *bonus("kl-warmup")],  # study runs: once, at the end
    "galaxy.eval_sample": GALAXY_TRAIN,
    "galaxy.precision": GALAXY_TRAIN,
    "galaxy.channels_last": GALAXY_TRAIN,
    "galaxy.kl_warmup_epochs": [*STUDY_RUNS, *ARCH_RUNS],
    "galaxy.free_bits.conv": [*study("conv"), f"{RUNS}/conv/history.json", "galaxy_lr_study"],
    "galaxy.free_bits.resnet": [*study("resnet"), f"{RUNS}/resnet/history.json", "galaxy_lr_study"],
    "galaxy.bonus.variants[0].free_bits": bonus("plain"),
    "galaxy.bonus.variants[1].free_bits": bonus("kl-warmup"),
    "galaxy.generated_per_class": ["galaxy_analyse"],
    "galaxy.active_unit_variance": ["galaxy_figures"],
    "galaxy.convergence_window": ["galaxy_figures"],
    "galaxy.converged_below": ["galaxy_figures"],
    "galaxy.bootstrap.resamples": ["galaxy_figures"],
    "galaxy.bootstrap.confidence": ["galaxy_figures"],
    "galaxy.bonus.arch": bonus("plain") + bonus("kl-warmup"),
    "galaxy.bonus.epochs": bonus("plain") + bonus("kl-warmup"),
    "galaxy.bonus.significance": ["galaxy_figures"],
    "galaxy.bonus.variants[0].beta": bonus("plain"),
    "galaxy.bonus.variants[0].kl_warmup_epochs": bonus("plain"),
    "galaxy.bonus.variants[1].beta": bonus("kl-warmup"),
    "galaxy.bonus.variants[1].kl_warmup_epochs": bonus("kl-warmup"),
    # the bonus runs have seeds of their own (galaxy.bonus.seeds)
    "galaxy.seed": [*STUDY_RUNS, *ARCH_RUNS, "galaxy_analyse", "galaxy_pca", "galaxy_figures"],
}
# budget: tested on its own below; variant names and seeds: a new name or seed is a new run (see
# their own tests).
NOT_WALKED = {"budget", "galaxy.bonus.variants[0].name", "galaxy.bonus.variants[1].name",
              "galaxy.bonus.seeds", "galaxy.lr_study.lrs", "galaxy.lr_study.free_bits", "galaxy.free_bits.mlp",
              "galaxy.lr", "mnist.batchnorm_check.lrs"}  # new run names: tests of their own below


def leaves(value, key=""):
    """(dotted key, value) of every leaf; lists of numbers and the layer list count as leaves."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{key}.{k}" if key else k)
    elif isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v and "beta" in v
                                                   for v in value):
        for i, v in enumerate(value):
            yield from leaves(v, f"{key}[{i}]")
    else:
        yield key, value


def changed(key: str, value, data_dir_copy: str):
    """Another valid value for the key."""
    if key == "data_dir":
        return data_dir_copy
    if key == "theory.cnn.input":
        return [value[0] - 1, *value[1:]]
    if key == "theory.cnn.layers":
        layers = copy.deepcopy(value)
        layers[0]["filters"] -= 1
        return layers
    enums = {"device": ["auto", "cpu"], "mnist.source": ["pypi", "idx"], "galaxy.image_size": [32, 64],
             "galaxy.bonus.arch": ["conv", "mlp"], "tweets.optimizer": ["adam", "sgd"],
             "tweets.kernel": ["auto", "pytorch"], "tweets.malformed_rows": ["skip", "error"],
             "galaxy.corrupt_images": ["skip", "error"], "galaxy.lr": ["study", 0.002],
             "tweets.schedule": ["constant", "cosine"], "tweets.tuned.schedule": ["constant", "cosine"],
             "tweets.tuned.keep": ["best", "last"],
             "galaxy.lr_study.select_by": ["mse", "neg_elbo"], "galaxy.lr_study.horizon": ["main", "own"], "galaxy.schedule": ["constant", "cosine"],
             "threads.training": ["half", 1], "threads.preprocessing": ["half", 1],
             "threads.evaluation": ["half", 1]}
    if key in enums:
        return next(v for v in enums[key] if v != value)
    if key.endswith("precision"):
        return "fp32" if value != "fp32" else "bf16"
    if isinstance(value, bool):
        return not value
    if key.endswith("ema_decay"):
        return 0.99 if value is None else None
    if value is None:
        return "https://example.org/x.csv" if key.endswith("_url") else (
            "/nowhere" if key.endswith("_dir") else "0" * 64 if key.endswith("_sha256") else 7)
    if isinstance(value, int):
        return value - 1 if value > 1 else value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.1
    raise AssertionError(f"no rule to change {key}={value!r}")


def set_key(config: dict, key: str, value) -> dict:
    """A minimal overlay setting one dotted key (list items replace the whole list)."""
    config = copy.deepcopy(config)
    head, _, item = key.partition("[")
    parts = head.split(".")
    node = config
    for part in parts[:-1]:
        node = node[part]
    if item:  # e.g. galaxy.bonus.variants[0].beta
        index, field = int(item.split("]")[0]), item.split("].")[1]
        node[parts[-1]][index][field] = value
    else:
        node[parts[-1]] = value
    overlay, src = {}, config
    top = parts[0]
    overlay[top] = src[top]
    return overlay


@pytest.fixture(scope="module")
def merged_smoke_config(smoke_run):
    folder, config, _ = smoke_run
    merged = settings.load_config([ROOT / "config" / "config.yaml", ROOT / "config" / "smoke.yaml"])
    merged["data_dir"] = config[-1].split("=", 1)[1]
    return merged


def dry_run_jobs(folder, config_args, *extra):
    result = snakemake(folder, *config_args, "-n", *extra)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return scheduled_jobs(result.stdout)


def test_every_leaf_key_reruns_exactly_its_readers(smoke_run, merged_smoke_config, tmp_path):
    folder, config_args, _ = smoke_run
    data_copy = tmp_path / "same data elsewhere"
    data_copy.symlink_to(merged_smoke_config["data_dir"])
    walked = {k: v for k, v in leaves(merged_smoke_config) if k not in NOT_WALKED}
    assert set(walked) == set(READERS), (
        f"keys without a reader entry: {sorted(set(walked) - set(READERS))}; "
        f"entries without a key: {sorted(set(READERS) - set(walked))}")

    def check(key):
        overlay = set_key(merged_smoke_config, key, changed(key, walked[key], str(data_copy)))
        path = folder / f"overlay-{key.replace('[', '_').replace(']', '_')}.yaml"
        path.write_text(yaml.safe_dump(overlay))
        args = ["--configfile", "config/smoke.yaml", str(path)]
        if key != "data_dir":
            args += config_args[2:]  # --config data_dir=... (a --config beats a configfile)
        actual = dry_run_jobs(folder, args)
        expected = (dry_run_jobs(folder, config_args, "--forcerun", *READERS[key])
                    if READERS[key] else set())
        return key, actual, expected

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(check, sorted(walked)))
    wrong = {key: {"scheduled": sorted(a), "expected": sorted(e)} for key, a, e in results if a != e}
    assert not wrong, yaml.safe_dump(wrong)
    assert any(a for _, a, _ in results)


def jobs_after_setting(smoke_run, merged_smoke_config, key, value) -> tuple[set, dict]:
    """The jobs a dry run schedules once an overlay sets one key, and that overlay."""
    folder, config_args, _ = smoke_run
    overlay = set_key(merged_smoke_config, key, value)
    path = folder / f"overlay-{key.replace('[', '_').replace(']', '_')}.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return dry_run_jobs(folder, ["--configfile", "config/smoke.yaml", str(path), *config_args[2:]]), overlay


def test_renaming_a_bonus_variant_runs_it_and_redraws_the_figures(smoke_run, merged_smoke_config):
    jobs, overlay = jobs_after_setting(smoke_run, merged_smoke_config, "galaxy.bonus.variants[0].name", "plain2")
    assert jobs == {"galaxy_train[run=bonus-plain2-seed0]", "galaxy_train[run=bonus-plain2-seed1]",
                    "galaxy_figures", "report"}


def test_a_new_bonus_seed_runs_every_variant_once_more(smoke_run, merged_smoke_config):
    jobs, overlay = jobs_after_setting(smoke_run, merged_smoke_config, "galaxy.bonus.seeds", [*SEEDS, 7])
    assert jobs == {"galaxy_train[run=bonus-plain-seed7]", "galaxy_train[run=bonus-kl-warmup-seed7]",
                    "galaxy_figures", "report"}


def test_a_new_batchnorm_check_rate_runs_both_variants_once_more(smoke_run, merged_smoke_config):
    lrs = merged_smoke_config["mnist"]["batchnorm_check"]["lrs"]
    jobs, _ = jobs_after_setting(smoke_run, merged_smoke_config, "mnist.batchnorm_check.lrs", [*lrs, 0.1])
    assert jobs == {"mnist_check[run=with-batchnorm-lr0.1]", "mnist_check[run=without-batchnorm-lr0.1]",
                    "mnist_batchnorm", "report"}


def test_a_new_study_rate_runs_each_architecture_once_more_and_everything_after(smoke_run,
                                                                              merged_smoke_config):
    jobs, overlay = jobs_after_setting(smoke_run, merged_smoke_config, "galaxy.lr_study.lrs", [*LRS, 0.0005])
    new_runs = {f"galaxy_train[run={run}]" for run in set(settings.lr_study_runs(overlay)) - set(SMOKE_STUDY)}
    assert len(new_runs) == len(SMOKE_STUDY) // len(LRS) and new_runs <= jobs and "galaxy_lr_study" in jobs
    # the main runs wait for the new choice (they read it), the study's old runs are kept
    assert not any(f"run={run}]" in job for job in jobs for run in SMOKE_STUDY)
    assert {f"galaxy_train[run={arch}]" for arch in ("mlp", "conv", "resnet")} <= jobs


def test_a_fixed_learning_rate_keeps_only_the_free_bits_study(smoke_run, merged_smoke_config):
    jobs, overlay = jobs_after_setting(smoke_run, merged_smoke_config, "galaxy.lr", 0.002)
    free_bits = merged_smoke_config["galaxy"]["lr_study"]["free_bits"]
    trainings = {job for job in jobs if job.startswith("galaxy_train[")}
    assert trainings == {f"galaxy_train[run={run}]" for run in [
        *(f"lr-mlp-0.002-fb{fb:g}" for fb in free_bits), "mlp", "conv", "resnet",
        *(f"bonus-{v}-seed{seed}" for v in ("plain", "kl-warmup") for seed in SEEDS)]}
    assert "galaxy_lr_study" in jobs


def test_a_fixed_free_bits_value_replaces_the_free_bits_study(smoke_run, merged_smoke_config):
    jobs, overlay = jobs_after_setting(smoke_run, merged_smoke_config, "galaxy.free_bits.mlp", 0.25)
    new_runs = {f"galaxy_train[run=lr-mlp-{lr:g}]" for lr in LRS}  # one run per rate, no -fb suffix
    assert new_runs <= jobs and {"galaxy_lr_study", "galaxy_train[run=mlp]"} <= jobs
    assert not any("run=lr-conv" in job or "run=lr-resnet" in job for job in jobs)


def test_each_budget_has_its_own_results(smoke_run):
    """After a smoke run the default budget shares nothing with it: every job is scheduled."""
    folder, config_args, _ = smoke_run
    jobs = dry_run_jobs(folder, config_args[2:])
    rules = {job.split("[")[0] for job in jobs}
    assert {"mnist_train", "tweets_train", "galaxy_train", "report"} <= rules
    # the study (3 archs x the default's rates), the archs, the bonus (variants x seeds)
    galaxy = settings.load_config([ROOT / "config" / "config.yaml"])["galaxy"]
    runs = len(settings.lr_study_runs({"galaxy": galaxy})) + 3 + len(galaxy["bonus"]["variants"]) * len(galaxy["bonus"]["seeds"])
    assert sum(job.startswith("galaxy_train[") for job in jobs) == runs


def test_key_order_in_yaml_is_not_a_change():
    config = settings.load_config([ROOT / "config" / "config.yaml"])
    reordered = copy.deepcopy(config)
    reordered["mnist"]["one_cycle"] = dict(reversed(list(config["mnist"]["one_cycle"].items())))
    reordered["theory"]["cnn"]["layers"] = [dict(reversed(list(layer.items())))
                                            for layer in config["theory"]["cnn"]["layers"]]
    for step in ("mnist_train", "theory"):
        assert repr(settings.for_step(config, step)) == repr(settings.for_step(reordered, step))


def test_a_code_edit_reruns_the_rules_that_run_it_and_a_comment_edit_nothing(smoke_run, tmp_path):
    """The workflow runs a copy of src/ (PYTHONPATH), edited as a developer would edit src/."""
    import os
    import shutil
    import subprocess
    import sys

    folder, config_args, _ = smoke_run
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "assignment5", src / "assignment5",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(src)}

    def scheduled(*extra):
        result = subprocess.run([sys.executable, "-m", "snakemake", *config_args, "-n", "--cores", "2", *extra],
                                cwd=folder, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return scheduled_jobs(result.stdout)

    assert scheduled() == set()
    model = src / "assignment5" / "tweets" / "model.py"
    original = model.read_text()
    model.write_text(original.replace('"""', '"""An edited docstring. ', 1) + "\n# an edited comment\n")
    assert scheduled() == set(), "a comment or docstring edit reran jobs"
    model.write_text(original + "\nEDITED = 1\n")
    jobs = scheduled()
    rules = {job.split("[")[0] for job in jobs}
    assert {"tweets_train", "tweets_variant", "report"} <= rules, jobs
    assert not rules & {"theory", "mnist_train", "galaxy_train", "tweets_data", "tweets_baseline"}, jobs
    assert jobs == scheduled("--forcerun", *sorted(rules - {"report"}))
