# Config checks, the budget's paths, the settings each step reads, and the data-source functions.
# Only functions and names live here; the rules are in one file per section.
import os
import re
import sys

import yaml
from snakemake.exceptions import WorkflowError

from assignment5 import code_digest as code_digest_module
from assignment5 import config_check, estimate, io, paths, resources, settings
from assignment5.errors import InputError

with open(workflow.source_path("../schemas/config.schema.yaml")) as schema_file:
    SCHEMA = yaml.safe_load(schema_file)

# Stop before any job when a key is unknown, misspelt or of the wrong type; command-line values
# (strings to Snakemake) are first given the schema's types.
config.update(config_check.coerce(config, SCHEMA, SCHEMA))
try:
    config_check.finite_numbers(config)  # first: NaN passes every bound of the schema
    config_check.validate(config, SCHEMA)
    config_check.strict_integers(config, SCHEMA, SCHEMA)
    config_check.unique_bonus_names(config)
except InputError as err:
    raise WorkflowError(str(err))

P = paths.for_budget(config["budget"])
DATA_DIR = config["data_dir"]
if (
    "{" in DATA_DIR or "}" in DATA_DIR
):  # input paths are patterns to Snakemake: braces are wildcards
    raise WorkflowError(
        f"config key data_dir: {DATA_DIR!r} holds a brace, which Snakemake reads "
        "as a wildcard in input paths; rename the folder or point a symlink at it"
    )
GALAXY_ARCHS = list(paths.GALAXY_ARCHS)
BONUS_RUNS = settings.bonus_runs(config)
TWEETS_VARIANTS = list(settings.TWEETS_VARIANTS)
TUNED = settings.TUNED_VARIANTS
try:  # run names derived from the config: a clash stops the run with one line
    BATCHNORM_RUNS = list(settings.batchnorm_check_runs(config))
except InputError as err:
    raise WorkflowError(str(err))
LR_STUDY_RUNS = settings.lr_study_runs(config)
GALAXY_RUNS = settings.galaxy_runs(
    config
)  # study runs (with galaxy.lr: study), archs, bonus runs
LR_STUDY = settings.GalaxyLrStudy.from_dict(
    settings.for_step(config, "galaxy_lr_study")
)


def beside_workflow(path):
    """A file of the workflow itself (not a result), also under snakemake --directory elsewhere."""
    return os.path.relpath(os.path.join(workflow.basedir, path))


def code_digest(script):
    """Changes with the code the rule's script runs (comments and docstrings aside): a param, so
    that an edit to src/ reruns the rules whose code it changes, and only those."""
    return code_digest_module.of_script(workflow.source_path(f"../scripts/{script}.py"))


def step_settings(step):
    """The settings a step reads, passed as its params: a change reruns it and what follows."""
    return settings.for_step(config, step)


# --cores, where given; without it (a dry run, --report, --dag, --unlock) every CPU here.
CPUS = (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
)
CORES = workflow.resource_settings.cores or CPUS
if CORES > CPUS and workflow.resource_settings.nodes is None:
    print(
        f"[threads] --cores {CORES} is more than this machine's {CPUS} CPUs: jobs side by side "
        f"will share them and run slower; --cores {CPUS} is faster",
        file=sys.stderr,
    )


def threads_for(kind):
    """The configured threads of a kind of job: all of the cores when null, half of them (at
    least 1) with half, so that two such jobs run side by side."""
    threads = config["threads"][kind]
    if threads == "half":
        return max(1, CORES // 2)
    return threads or CORES


# What each job asks a cluster for (resources.py): read once, when the workflow loads.
GALAXY_IMAGES = estimate.galaxy_images(config)
ESTIMATES = {
    job: seconds
    for job, _, seconds, _ in estimate.training_seconds(
        config, estimate.galaxy_training_images(config, GALAXY_IMAGES)
    )
}


def mem_for(rule):
    return resources.mem_mb(config, rule, GALAXY_IMAGES)


def runtime_for(rule):
    """Minutes for one job, as a function of its wildcards (galaxy_train has a run)."""
    return lambda wildcards: resources.runtime_minutes(
        ESTIMATES, rule, getattr(wildcards, "run", None)
    )


def priority_for(rule_name):
    """Which ready job a free core starts first (resources.priority); results never depend on it."""
    return lambda wildcards: resources.priority(
        ESTIMATES,
        rule_name,
        getattr(wildcards, "run", None),
        study_runs=LR_STUDY_RUNS,
        galaxy_archs=GALAXY_ARCHS,
    )


def run_settings(wildcards):
    return settings.for_step(config, "galaxy_train", wildcards.run)


def check_settings(wildcards):
    return settings.for_step(config, "mnist_check", wildcards.run)


def variant_settings(wildcards):
    return settings.for_step(config, "tweets_variant", wildcards.run)


def lr_study_result():
    """The study's result as a named input, when galaxy.lr is 'study' (else nothing)."""
    return {"lr_study": P.galaxy_lr_study} if LR_STUDY_RUNS else {}


def lr_choice(wildcards):
    """A run whose learning rate or free bits are 'study' reads the study's choice: it waits for it."""
    s = run_settings(wildcards)
    return (
        {"lr_choice": P.galaxy_lr_study} if "study" in (s["lr"], s["free_bits"]) else {}
    )


def producers(files):
    """{name: the rule that writes the file}, as Snakemake itself matches outputs (the PDF's
    appendix names them)."""
    return {
        name: next(r.name for r in workflow.rules if r.is_producer(path))
        for name, path in files.items()
    }


def for_report(section, figures, **tables):
    """Figures and tables tagged for Snakemake's HTML report, each with its caption file."""
    category = {
        "mnist": "2 VGG11 on MNIST",
        "tweets": "3 Character LSTM",
        "galaxy": "5 Galaxy Zoo VAEs",
    }
    tagged = {**figures, **tables}
    return {
        name: report(
            path, caption=f"../report/{section}_{name}.rst", category=category[section]
        )
        for name, path in tagged.items()
    }


def missing_data(what, folder, needs):
    return WorkflowError(
        f"{what} not found under {folder}/: it needs {needs}. The folder comes from the data_dir "
        f"setting (now {DATA_DIR!r}); set it in config/config.yaml, with "
        "--config data_dir=/path/to/data, or make report DATA=/path/to/data."
    )


def tweets_source(wildcards):
    """The two CSV files, or nothing when both URLs are configured (the rule downloads them)."""
    t = config["tweets"]
    if t["train_url"] and t["test_url"]:
        return {}
    root = os.path.join(DATA_DIR, "tweets")
    files = {
        split: os.path.join(root, f"tweets_{split}.csv") for split in ("train", "test")
    }
    if not all(os.path.isfile(f) for f in files.values()):
        raise missing_data(
            "Tweets", root, "tweets_train.csv and tweets_test.csv (header text,label)"
        )
    return files


def galaxy_source(wildcards):
    """The label file and image folder; fails at once, naming what to put where, when missing."""
    root = os.path.join(DATA_DIR, "galaxy-zoo")
    labels = [
        os.path.join(root, n)
        for n in ("training_solutions_rev1.csv", "galaxy_labels.csv")
    ]
    found = [path for path in labels if os.path.isfile(path)]
    images = os.path.join(root, "images_training_rev1")
    if not os.path.isdir(images) or not found:
        raise missing_data(
            "Galaxy Zoo data",
            root,
            "images_training_rev1/ (<GalaxyID>.jpg) and "
            "training_solutions_rev1.csv or galaxy_labels.csv",
        )
    return {"labels": found[0], "images": images}


onstart:
    # Before any job: Snakemake would otherwise fail with a traceback removing an old output.
    unwritable = io.unwritable_folder(
        [P.results, P.data, os.path.dirname(P.report_pdf) or "."]
    )
    if unwritable:
        raise WorkflowError(
            f"{unwritable}: no file can be created in this folder (read-only or not yours); "
            "make it writable, or run the workflow from a copy you own"
        )
    print(estimate.report(config, GALAXY_IMAGES))
