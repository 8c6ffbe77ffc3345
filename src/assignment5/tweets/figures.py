"""Section 3 figures (accuracy curves, tweet lengths) and example predictions."""

from __future__ import annotations

import numpy as np

from assignment5 import settings
from assignment5.intervals import accuracy_difference
from assignment5.io import read_json, read_npz, write_json, write_tsv
from assignment5.plotting import plt, save
from assignment5.tweets.cues import cue_effects
from assignment5.tweets.model import Tweets
from assignment5.tweets.predict import load_model
from assignment5.training import resolve_device
from assignment5.tweets.train import evaluate


def plot_curves(summary: dict, path) -> None:
    h = summary["history"]
    its = [r["iteration"] for r in h]
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.4))
    axes[0].plot(its, [r["test_accuracy"] for r in h], color="C1")
    axes[0].set_title("(a) test accuracy")
    axes[1].plot(its, [r["train_accuracy"] for r in h], color="C0")
    axes[1].set_title(f"(b) training accuracy ({summary['settings']['train_eval']:,} sample)")
    axes[2].plot(its, [r["running_loss"] for r in h], color="0.5", label="training (running)")
    axes[2].plot(its, [r["test_loss"] for r in h], color="C1", label="test")
    axes[2].set_title("NLL loss")
    axes[2].legend()
    for ax in axes:
        ax.set_xlabel("iteration")
    fig.tight_layout()
    save(fig, path)


def plot_lengths(stats: dict, path) -> None:
    fig, ax = plt.subplots(figsize=(3.4, 2.2))
    for split in ("train", "test"):
        hist = np.array(stats[split]["length_histogram"], dtype=float)
        ax.plot(np.arange(len(hist)), hist / hist.sum(), label=split, lw=1)
    ax.set_xlabel("tweet length (characters)")
    ax.set_ylabel("fraction of tweets")
    ax.set_xlim(0, 200)
    ax.legend()
    save(fig, path)


def pick_examples(probs: dict, labels: np.ndarray, rng: np.random.Generator, n: int) -> list[int]:
    """Confident right, confident wrong, and uncertain test tweets: n of each."""
    index = np.array(sorted(probs))
    p = np.array([probs[i] for i in index])
    confidence = np.abs(p - 0.5)
    right = (p > 0.5) == (labels[index] == 1)
    picks = list(index[right][np.argsort(-confidence[right])][: n * 5])
    chosen = list(rng.choice(picks, min(n, len(picks)), replace=False)) if picks else []
    wrong = index[~right][np.argsort(-confidence[~right])][:n]
    uncertain = index[np.argsort(confidence)][:n]
    return [int(i) for i in [*chosen, *wrong, *uncertain]]


def choose_model(candidates: dict[str, dict], validation_tweets: int) -> dict:
    """The model the predict command uses: the highest accuracy on the validation tweets (held out
    from the tuned variants' training), the first named (the main run) on a tie. The main run
    trained on those tweets: the comparison leans towards it, and never reads the test file."""
    chosen = max(candidates, key=lambda name: candidates[name]["validation_accuracy"])
    return {"chosen": chosen, "model": candidates[chosen]["model"], "validation_tweets": validation_tweets,
            **{key: {name: c[key] for name, c in candidates.items()}
               for key in ("validation_accuracy", "test_accuracy")}}


def run(s: settings.TweetsFigures, *, data: str, stats: str, model: str, history: str,
        examples: str, figures: list[str], table: str | None = None, variants: dict | None = None,
        best: str | None = None, baseline: str | None = None) -> dict:
    """variants: {name: (model, history)} of the tuned variants; with best, the model choice and
    the comparisons (with baseline, the TF-IDF baseline's result, each model's gap to it)."""
    summary, counts = read_json(history), read_json(stats)
    if table:
        write_tsv(table, summary["history"])
    plot_curves(summary, figures[0])
    plot_lengths(counts, figures[1])
    npz = read_npz(data)
    test = Tweets.from_npz(npz, "test")
    device = resolve_device(s.device)
    net = load_model(model).to(device)
    result = evaluate(net, test, precision=summary["settings"]["precision"], device=device)
    probs = result["positive_probability"]
    picked, texts = [], test.texts()
    for i in pick_examples(probs, test.labels.numpy(), np.random.default_rng(s.seed), s.examples_per_kind):
        picked.append({"text": texts[i], "label": int(test.labels[i]),
                       "p_positive": probs[i]})
    out = {"test_accuracy": result["accuracy"], "test_loss": result["loss"],
           "examples_per_kind": s.examples_per_kind, "examples": picked}
    print(f"[tweets] test accuracy {result['accuracy']:.4f}")
    choice = {"chosen": "main", "model": model}
    if best:
        runs = {name: read_json(h) | {"model": m} for name, (m, h) in (variants or {}).items()}
        v = next(iter(runs.values()))["settings"]  # the variants share one validation split
        _, validation = Tweets.from_npz(npz, "train").hold_out(v["validation_fraction"], v["seed"])
        on_validation = evaluate(net, validation, precision=summary["settings"]["precision"], device=device)
        candidates = {"main": {"model": model, "validation_accuracy": on_validation["accuracy"],
                               "test_accuracy": result["accuracy"]}}
        scores = ("validation_accuracy", "test_accuracy")
        candidates |= {name: {"model": r["model"], **{k: r["final"][k] for k in scores}} for name, r in runs.items()}
        choice = choose_model(candidates, len(validation))
        if {"tuned", "tuned-placeholders"} <= runs.keys():
            choice["placeholders"] = {
                split: accuracy_difference(choice[key]["tuned-placeholders"], choice[key]["tuned"], n, s.confidence)
                for split, key, n in (("validation", "validation_accuracy", len(validation)),
                                      ("test", "test_accuracy", len(test)))}
        if baseline:  # the same test tweets: each LSTM against the TF-IDF baseline
            other = read_json(baseline)["test_accuracy"]
            choice["vs_baseline"] = {name: accuracy_difference(a, other, len(test), s.confidence)
                                     for name, a in choice["test_accuracy"].items()}
        write_json(best, choice)
        print(f"[tweets] the predict command uses the {choice['chosen']} model ({choice['model']})")
    out["cues"] = {"model": choice["chosen"],
                   "rows": cue_effects(load_model(choice["model"]), texts, test.labels.numpy(), s.seed)}
    write_json(examples, out)
    return out
