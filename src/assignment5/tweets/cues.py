"""What the LSTM keys on: test tweets holding a URL, a user name or an emoticon, and how the
prediction moves when that cue alone is deleted from the same tweets (a counterfactual)."""

from __future__ import annotations

import re

import numpy as np

from assignment5.tweets.data import CUES
from assignment5.tweets.predict import positive_probability


def without_random_span(text: str, cue: re.Pattern, rng: np.random.Generator) -> str | None:
    """The text with a span as long as its cues deleted somewhere else (the control: does deleting
    any that many characters move the prediction as much?); None when no such span fits."""
    matches = [m.span() for m in cue.finditer(text)]
    length = sum(b - a for a, b in matches)
    starts = [i for i in range(len(text) - length + 1)
              if not any(i < b and a < i + length for a, b in matches)]
    if not starts:
        return None
    i = int(rng.choice(starts))
    return text[:i] + text[i + length:]


def cue_effects(model, texts: list[str], labels: np.ndarray, seed: int = 0) -> list[dict]:
    """Per cue: how many test tweets hold it, their share of positive labels, the model's accuracy
    with and without it, and the mean change of P(positive) (and share of flipped predictions)
    when the cue is deleted, and when a random span as long is deleted instead (the control).
    Scored on the CPU in fp32 for before and after alike."""
    before = positive_probability(model, texts)
    right = (before > 0.5) == (labels == 1)
    rng = np.random.default_rng(seed)
    rows = []
    for name, pattern in CUES.items():
        cue = re.compile(pattern)
        has = np.array([bool(cue.search(t)) for t in texts])
        row = {"cue": name, "tweets": int(has.sum()), "share": float(has.mean())}
        if has.any():
            idx = np.flatnonzero(has)
            after = positive_probability(model, [re.sub(r"\s+", " ", cue.sub(" ", texts[i])).strip() for i in idx])
            kept = ~np.isnan(after)  # a tweet that was nothing but the cue has no prediction left
            control = [without_random_span(texts[i], cue, rng) for i in idx]
            fits = np.array([c is not None for c in control])
            moved = positive_probability(model, [c for c in control if c is not None])
            change = np.abs(moved - before[idx][fits])
            row |= {"positive_share": float(labels[has].mean()), "accuracy_with": float(right[has].mean()),
                    "accuracy_without": float(right[~has].mean()) if (~has).any() else None,
                    "mean_abs_change": float(np.abs(after[kept] - before[idx][kept]).mean()) if kept.any() else None,
                    "flipped": float(((after[kept] > 0.5) != (before[idx][kept] > 0.5)).mean()) if kept.any() else None,
                    "control_abs_change": float(np.nanmean(change)) if fits.any() else None}
        rows.append(row)
    return rows
