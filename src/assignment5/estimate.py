"""How long a budget's training will take, from rates measured by earlier runs on this machine.

Printed before a run starts (the workflow's onstart), so a user sees what the full budget means
(epochs x images / measured images per second) before committing hours to it.
"""

from __future__ import annotations

import json
from pathlib import Path

from assignment5 import paths, settings
from assignment5.resources import job_key
from assignment5.training import format_duration

BUDGETS = ("default", "smoke", "full")


def _measured(relative: str, key: str) -> tuple[float, str] | None:
    """The rate `key` from the first budget's history file that has one, and that budget."""
    for budget in BUDGETS:
        path = Path(paths.for_budget(budget).results) / relative
        try:
            rate = json.loads(path.read_text()).get(key)
        except (OSError, ValueError):
            continue
        if rate:
            return float(rate), budget
    return None


def training_seconds(config: dict, galaxy_images: int | None) -> list[tuple[str, str, float | None, str]]:
    """(job, what, seconds or None, how) for each training job of the config's budget.

    job is the rule name, with the run after a colon for galaxy_train (e.g. galaxy_train:conv).
    """
    rows = []
    m, t = config["mnist"], config["tweets"]
    mnist = _measured("mnist/history.json", "images_per_second")
    images = m["train_limit"] or 60_000
    rows.append(("mnist_train", "VGG11 on MNIST", m["epochs"] * images / mnist[0] if mnist else None,
                 f"{m['epochs']} epochs x {images:,} images" + (f" at {mnist[0]:,.0f}/s ({mnist[1]})" if mnist else "")))
    for run in settings.batchnorm_check_runs(config):
        c = settings.for_step(config, "mnist_check", run)
        rows.append((job_key("mnist_check", run), f"VGG11 {run}",
                     c["epochs"] * c["train_limit"] / mnist[0] if mnist else None,
                     f"{c['epochs']} epochs x {c['train_limit']:,} images"
                     + (f" at {mnist[0]:,.0f}/s ({mnist[1]})" if mnist else "")))
    lstm = _measured("tweets/history.json", "iterations_per_second")
    rows.append(("tweets_train", "character LSTM", t["iterations"] / lstm[0] if lstm else None,
                 f"{t['iterations']:,} iterations" + (f" at {lstm[0]:,.0f}/s ({lstm[1]})" if lstm else "")))
    for run in settings.TWEETS_VARIANTS:  # measured at batch 32: tweets per second carry over
        v = settings.for_step(config, "tweets_variant", run)
        rate = lstm[0] * t["batch_size"] / v["batch_size"] if lstm else None
        rows.append((job_key("tweets_variant", run), f"character LSTM, {run}",
                     v["iterations"] / rate if rate else None,
                     f"{v['iterations']:,} iterations of {v['batch_size']}"
                     + (f" at {rate:,.0f}/s ({lstm[1]})" if rate else "")))
    for run in settings.galaxy_runs(config):
        s = settings.for_step(config, "galaxy_train", run)
        rate = _measured(f"galaxy/runs/{s['arch']}/history.json", "images_per_second")
        seconds = s["epochs"] * galaxy_images / rate[0] if rate and galaxy_images else None
        how = f"{s['epochs']} epochs x {galaxy_images:,} images" if galaxy_images else f"{s['epochs']} epochs"
        rows.append((job_key("galaxy_train", run), f"VAE {run}", seconds,
                     how + (f" at {rate[0]:,.0f}/s ({rate[1]})" if rate else "")))
    return rows


def galaxy_images(config: dict) -> int | None:
    """Images the budget will preprocess: the JPGs found, or the limit if smaller; None if no folder."""
    g = config["galaxy"]
    folder = Path(config["data_dir"]) / "galaxy-zoo" / "images_training_rev1"
    try:
        found = sum(1 for p in folder.iterdir() if p.suffix.lower() in paths.GALAXY_IMAGE_SUFFIXES)
    except OSError:
        return None
    return min(found, g["limit"]) if g["limit"] else found


def galaxy_training_images(config: dict, images: int | None) -> int | None:
    """The training share of `images` (the rest is the test split)."""
    return None if images is None else round(images * (1 - config["galaxy"]["test_fraction"]))


def report(config: dict, images: int | None) -> str:
    """The estimate printed before a run; `images` is galaxy_images(config)."""
    rows = training_seconds(config, galaxy_training_images(config, images))
    known = [seconds for _, _, seconds, _ in rows if seconds is not None]
    lines = [f"[estimate] training in the {config['budget']} budget, from rates measured on this machine:"]
    for _, what, seconds, how in rows:
        lines.append(f"[estimate]   {what}: {format_duration(seconds) if seconds is not None else 'no rate yet'}"
                     f" ({how})")
    total = format_duration(sum(known)) if known else "unknown"
    lines.append(f"[estimate]   total of the measured ones: {total}"
                 + ("" if len(known) == len(rows) else
                    "; run the smoke budget first (make report BUDGET=smoke) to measure the rest"))
    return "\n".join(lines)
