"""One path for settings: config -> a rule's ``params.settings`` -> one typed object per step.

Every value lives in ``config/config.yaml`` (validated against the schema); nothing here has a
default. ``for_step(config, step)`` picks exactly the keys a step reads, so Snakemake reruns a
job when, and only when, one of them changes; the step turns that dict into its frozen
dataclass, which refuses a missing, unknown or mistyped key. Light module: no torch import,
since the Snakefile imports it at load time.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from assignment5.errors import InputError
from assignment5.paths import GALAXY_ARCHS


class SettingsError(InputError, ValueError):
    """A settings dict that does not match its step (names the key)."""


def _type_ok(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return isinstance(value, hint)


class Settings:
    """Base of every step's settings: strict construction from a plain dict."""

    @classmethod
    def from_dict(cls, data: dict, where: str | None = None):
        where = where or cls.__name__
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in data]
        unknown = [k for k in data if k not in names]
        if missing or unknown:
            raise SettingsError(f"{where}: missing keys {missing}, unknown keys {unknown}")
        for name in names:
            if not _type_ok(data[name], hints[name]):
                raise SettingsError(f"{where}: key '{name}' must be {hints[name]}, "
                                    f"found {data[name]!r}")
        values = {n: float(data[n]) if hints[n] is float else data[n] for n in names}
        return cls(**values)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Theory(Settings):
    input: list
    layers: list


@dataclass(frozen=True)
class MnistData(Settings):
    source: str
    idx_dir: Optional[str]


@dataclass(frozen=True)
class MnistTrain(Settings):
    device: str
    train_limit: Optional[int]
    test_limit: Optional[int]
    train_eval_sample: Optional[int]  # training images scored after each epoch (None: all)
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    one_cycle: dict
    precision: str
    channels_last: bool
    batch_norm: bool      # the workflow's VGG11 has it; the BatchNorm check trains one without
    validation_images: int  # > 0: the training images after the first train_limit, scored each epoch
    seed: int


@dataclass(frozen=True)
class MnistBatchnorm(Settings):
    runs: list            # [variant, peak rate, run name] of every check run
    confidence: float     # of the test accuracies' intervals


@dataclass(frozen=True)
class MnistFigures(Settings):
    device: str
    test_limit: Optional[int]
    misclassified_shown: int


@dataclass(frozen=True)
class TweetsData(Settings):
    train_url: Optional[str]
    test_url: Optional[str]
    train_sha256: Optional[str]
    test_sha256: Optional[str]
    max_download_mb: Optional[float]
    malformed_rows: str
    max_malformed_fraction: float
    max_length: int


@dataclass(frozen=True)
class TweetsTrain(Settings):
    device: str
    hidden_size: int
    iterations: int
    eval_every: int
    train_eval_sample: int
    batch_size: int
    bucket_pool: int
    lr: float
    schedule: str         # constant, or cosine (down to 0 at the last iteration)
    optimizer: str
    sgd_momentum: float
    weight_decay: float   # decoupled (AdamW); 0 = plain Adam
    dropout: float        # on the final hidden state, during training only
    grad_clip: float | None  # cap on the gradients' global norm; None: no cap
    ema_decay: float | None  # scored and kept: the weights' moving average with this decay; None: the weights
    precision: str
    kernel: str
    checkpoint_every: int
    validation_fraction: float  # > 0: that share of the training file is held out and scored
    keep: str             # last: the final weights; best: those of the best validation evaluation
    preprocess: str       # raw, or placeholders: every URL and user name one placeholder character
    seed: int


@dataclass(frozen=True)
class TweetsBaseline(Settings):
    ngram_max: int
    min_df: int
    c: float
    max_iter: int


@dataclass(frozen=True)
class TweetsFigures(Settings):
    device: str
    examples_per_kind: int
    confidence: float     # of the validation comparison's interval
    seed: int


@dataclass(frozen=True)
class GalaxyData(Settings):
    crop: int
    image_size: int
    test_fraction: float
    corrupt_images: str
    limit: Optional[int]
    max_image_pixels: int


@dataclass(frozen=True)
class GalaxyTrain(Settings):
    device: str
    arch: str
    epochs: int
    beta: float
    kl_warmup_epochs: int
    free_bits: float | str  # nats per latent dimension the KL term leaves free; "study": the study's choice
    latent_dim: int
    batch_size: int
    lr: float | str       # "study": the learning-rate study's choice for this architecture
    schedule: str         # constant, or cosine (down to 0 at the last step)
    schedule_epochs: int | None  # epochs the schedule spans; None: this run's (a study run may follow its main run's)
    recalibrate_batchnorm: bool  # BatchNorm statistics averaged over all training images at the end
    evaluations: int      # of the test and training error, spread evenly over the run
    eval_sample: int
    precision: str
    channels_last: bool
    validation_fraction: float  # > 0 only in study runs: scored on held-out training images
    seed: int


@dataclass(frozen=True)
class GalaxyLrStudy(Settings):
    archs: list
    lrs: list
    runs: list            # per architecture, its runs as [lr, free_bits, run name]
    select_by: str
    prefer_smaller_within: float  # the smallest rate within this share of the lowest error is chosen
    validation_fraction: float
    horizon: str          # main: study runs follow their main run's schedule; own: it spans their epochs


@dataclass(frozen=True)
class GalaxyAnalyse(Settings):
    device: str
    generated_per_class: int
    seed: int


@dataclass(frozen=True)
class GalaxyPca(Settings):
    components: int
    seed: int


@dataclass(frozen=True)
class GalaxyFigures(Settings):
    archs: list
    bonus: list           # run names: every variant once per seed
    bonus_variants: list
    bonus_seeds: list
    bonus_significance: float
    active_unit_variance: float  # Burda et al. 2016: a unit is active above this variance of its mean
    convergence_window: float
    converged_below: float
    bootstrap_resamples: int
    confidence: float     # of every interval
    seed: int             # of the bootstrap


@dataclass(frozen=True)
class Report(Settings):
    budget: str


def bonus_run(variant: str, seed: int) -> str:
    return f"bonus-{variant}-seed{seed}"


def _bonus_table(config: dict) -> dict[str, tuple[dict, int]]:
    """{run name: (variant, seed)}: every bonus variant once per seed, variants first."""
    b = config["galaxy"]["bonus"]
    return {bonus_run(v["name"], seed): (v, seed) for v in b["variants"] for seed in b["seeds"]}


def bonus_runs(config: dict) -> list[str]:
    return list(_bonus_table(config))


def lr_run(arch: str, lr: float, free_bits: float | None = None) -> str:
    return f"lr-{arch}-{lr:g}" + ("" if free_bits is None else f"-fb{free_bits:g}")


def lr_study_runs(config: dict) -> dict[str, tuple[str, float, float]]:
    """{run name: (arch, lr, free bits)} of the study: with galaxy.lr 'study' every architecture
    tries every rate; where its galaxy.free_bits is 'study', each with every free-bits value
    (at the configured rate when galaxy.lr is a number). None when nothing is 'study'."""
    g = config["galaxy"]
    lrs = g["lr_study"]["lrs"] if g["lr"] == "study" else [g["lr"]]
    runs = {}
    for arch in GALAXY_ARCHS:
        studied = g["free_bits"][arch] == "study"
        if g["lr"] != "study" and not studied:
            continue
        for lr in lrs:
            for fb in g["lr_study"]["free_bits"] if studied else [None]:
                runs[lr_run(arch, lr, fb)] = (arch, lr, g["free_bits"][arch] if fb is None else fb)
    return runs


def galaxy_runs(config: dict) -> list[str]:
    return [*lr_study_runs(config), *GALAXY_ARCHS, *bonus_runs(config)]


def _canonical(value):
    """Nested dicts with sorted keys: Snakemake compares params by repr, so the order of keys in
    a YAML file must not look like a change."""
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _pick(section: dict, cls, **extra) -> dict:
    names = [f.name for f in dataclasses.fields(cls)]
    return {n: _canonical(extra[n] if n in extra else copy.deepcopy(section[n])) for n in names}


TUNED_VARIANTS = ("tuned", "tuned-placeholders")  # on raw text, and with URLs and user names replaced
TWEETS_VARIANTS = ("optimizer-check", *TUNED_VARIANTS)
DOWNLOAD_KEYS = ("train_url", "test_url", "train_sha256", "test_sha256", "max_download_mb")
BATCHNORM_CHECK = ("with-batchnorm", "without-batchnorm")


def batchnorm_check_runs(config: dict) -> dict[str, tuple[str, float]]:
    """{run name: (variant, peak rate)}: both variants of the BatchNorm check at every rate."""
    lrs = config["mnist"]["batchnorm_check"]["lrs"]
    runs = {f"{variant}-lr{lr:g}": (variant, lr) for variant in BATCHNORM_CHECK for lr in lrs}
    if len(runs) < 2 * len(lrs):
        raise SettingsError(f"config key mnist.batchnorm_check.lrs: {lrs} holds rates that print alike")
    return runs


def _mnist_run(config: dict, run: str | None) -> dict:
    """The main run (run None), or one of the BatchNorm check's short runs: the main settings
    on fewer images and epochs, with or without BatchNorm, at one rate of the check's grid."""
    m = config["mnist"]
    if run is None:
        return _pick(m, MnistTrain, device=config["device"], batch_norm=True, validation_images=0)
    runs = batchnorm_check_runs(config)
    if run not in runs:
        raise SettingsError(f"mnist run {run!r} is not one of {sorted(runs)}")
    variant, lr = runs[run]
    check = m["batchnorm_check"]
    return _pick(m, MnistTrain, device=config["device"], batch_norm=variant == "with-batchnorm", lr=lr,
                 epochs=check["epochs"], train_limit=check["train_limit"],
                 validation_images=check["validation_images"])


def _tweets_run(config: dict, run: str | None) -> dict:
    """The main run (run None) or a variant: the main settings with the variant's keys."""
    t = config["tweets"]
    if run is None:
        per_run = {"validation_fraction": 0.0}
    elif run == "optimizer-check":  # the other optimiser, same learning rate, a few iterations
        per_run = {"optimizer": "sgd" if t["optimizer"] == "adam" else "adam",
                   "iterations": t["optimizer_check"]["iterations"], "validation_fraction": 0.0}
    elif run in TUNED_VARIANTS:  # the same training, on raw or placeholder text
        per_run = {k: t["tuned"][k] for k in ("lr", "schedule", "batch_size", "iterations",
                                              "weight_decay", "dropout", "grad_clip", "ema_decay", "precision",
                                              "validation_fraction", "keep")}
        per_run["preprocess"] = "placeholders" if run == "tuned-placeholders" else "raw"
    else:
        raise SettingsError(f"tweets run {run!r} is not one of {TWEETS_VARIANTS}")
    per_run.setdefault("keep", "last")  # only the tuned variant has validation tweets to choose by
    per_run.setdefault("preprocess", "raw")
    return _pick(t, TweetsTrain, device=config["device"], **per_run)


def _galaxy_run(config: dict, run: str) -> dict:
    g = config["galaxy"]
    study = lr_study_runs(config)
    if run in GALAXY_ARCHS:
        per_run = {"arch": run, "epochs": g["epochs"][run], "beta": 1.0, "free_bits": g["free_bits"][run],
                   "kl_warmup_epochs": g["kl_warmup_epochs"]}
    elif run in study:
        arch, lr, free_bits = study[run]
        epochs = g["lr_study"]["epochs"][arch]
        # horizon main: the rates the study run sees are its main run's first ones, not a
        # short cosine that already reaches 0 (which favours larger rates than the main run wants)
        follow_main = g["lr_study"]["horizon"] == "main"
        per_run = {"arch": arch, "epochs": epochs, "beta": 1.0, "lr": lr, "free_bits": free_bits,
                   "schedule_epochs": max(epochs, g["epochs"][arch]) if follow_main else None,
                   "kl_warmup_epochs": g["kl_warmup_epochs"],
                   "validation_fraction": g["lr_study"]["validation_fraction"],
                   "evaluations": 1}  # the study reads only the final validation error
    else:
        runs = _bonus_table(config)
        if run not in runs:
            raise SettingsError(f"galaxy run {run!r} is neither an architecture {GALAXY_ARCHS}, "
                                f"a learning-rate study run {sorted(study)} nor a bonus run {sorted(runs)}")
        v, seed = runs[run]
        per_run = {"arch": g["bonus"]["arch"], "epochs": g["bonus"]["epochs"], "beta": v["beta"],
                   "kl_warmup_epochs": v["kl_warmup_epochs"], "free_bits": v["free_bits"], "seed": seed}
    per_run.setdefault("validation_fraction", 0.0)
    per_run.setdefault("schedule_epochs", None)
    return _pick(g, GalaxyTrain, device=config["device"], **per_run)


def _galaxy_study(config: dict) -> dict:
    study = lr_study_runs(config)
    archs = [a for a in GALAXY_ARCHS if any(arch == a for arch, _, _ in study.values())]
    return _pick(config["galaxy"]["lr_study"], GalaxyLrStudy, archs=archs,
                 lrs=sorted({lr for _, lr, _ in study.values()}),
                 runs=[[[lr, fb, run] for run, (arch, lr, fb) in study.items() if arch == a] for a in archs])


def for_step(config: dict, step: str, run: str | None = None) -> dict:
    """The plain dict of exactly the settings ``step`` reads (what the rule's params carry)."""
    m, t, g = config["mnist"], config["tweets"], config["galaxy"]
    device = config.get("device")
    table = {
        "theory": lambda: _pick(config["theory"]["cnn"], Theory),
        # idx_dir is read only for IDX files: with the PyPI wheel it changes nothing
        "mnist_data": lambda: _pick(m, MnistData, idx_dir=m["idx_dir"] if m["source"] == "idx" else None),
        "mnist_train": lambda: _mnist_run(config, None),
        "mnist_check": lambda: _mnist_run(config, run),
        "mnist_batchnorm": lambda: _pick(m["batchnorm_check"], MnistBatchnorm, runs=[
            [variant, lr, name] for name, (variant, lr) in batchnorm_check_runs(config).items()]),
        "mnist_figures": lambda: _pick(m, MnistFigures, device=device),
        # the URLs (and their checks) are read only when both are set (else the files under data_dir are)
        "tweets_data": lambda: _pick(t, TweetsData, **(
            {} if t["train_url"] and t["test_url"] else dict.fromkeys(DOWNLOAD_KEYS))),
        "tweets_train": lambda: _tweets_run(config, None),
        "tweets_variant": lambda: _tweets_run(config, run),
        "tweets_figures": lambda: _pick(t, TweetsFigures, device=device, confidence=t["tuned"]["confidence"]),
        "tweets_baseline": lambda: _pick(t["baseline"], TweetsBaseline),
        "galaxy_data": lambda: _pick(g, GalaxyData),
        "galaxy_train": lambda: _galaxy_run(config, run),
        "galaxy_lr_study": lambda: _galaxy_study(config),
        "galaxy_analyse": lambda: _pick(g, GalaxyAnalyse, device=device),
        "galaxy_pca": lambda: _pick(g, GalaxyPca, components=g["latent_dim"]),
        "galaxy_figures": lambda: _pick(
            g, GalaxyFigures, archs=list(GALAXY_ARCHS), bonus=bonus_runs(config),
            bonus_variants=[v["name"] for v in g["bonus"]["variants"]], bonus_seeds=g["bonus"]["seeds"],
            bonus_significance=g["bonus"]["significance"], bootstrap_resamples=g["bootstrap"]["resamples"],
            confidence=g["bootstrap"]["confidence"]),
        "report": lambda: {"budget": config["budget"]},
    }
    if step not in table:
        raise SettingsError(f"unknown step {step!r}")
    return table[step]()


STEP_CLASSES = {
    "theory": Theory, "mnist_data": MnistData, "mnist_train": MnistTrain, "mnist_check": MnistTrain,
    "mnist_batchnorm": MnistBatchnorm, "mnist_figures": MnistFigures, "tweets_data": TweetsData, "tweets_train": TweetsTrain, "tweets_variant": TweetsTrain,
    "tweets_figures": TweetsFigures, "tweets_baseline": TweetsBaseline, "galaxy_data": GalaxyData,
    "galaxy_train": GalaxyTrain, "galaxy_lr_study": GalaxyLrStudy, "galaxy_analyse": GalaxyAnalyse, "galaxy_pca": GalaxyPca, "galaxy_figures": GalaxyFigures,
    "report": Report,
}


def load_config(files: list[str | Path]) -> dict:
    """config.yaml plus budget overlays, merged in order as Snakemake merges --configfile."""
    from snakemake.utils import update_config

    config: dict = {}
    for path in files:
        with open(path) as f:
            update_config(config, yaml.safe_load(f) or {})
    return config


def defaults(step: str, run: str | None = None, files=None):
    """A step's typed settings from config/config.yaml (benchmarks, notebooks, tests)."""
    root = Path(__file__).resolve().parents[2]
    files = files or [root / "config" / "config.yaml"]
    return STEP_CLASSES[step].from_dict(for_step(load_config(files), step, run), f"{step} in {files}")
