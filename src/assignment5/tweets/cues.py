"""What the LSTM keys on: test tweets holding a URL, a user name or an emoticon, and how the
prediction moves when that cue alone is deleted from the same tweets (a counterfactual)."""

from __future__ import annotations

import re

import numpy as np

from assignment5.tweets.data import CUES
from assignment5.tweets.predict import positive_probability


def cue_effects(model, texts: list[str], labels: np.ndarray) -> list[dict]:
    """Per cue: how many test tweets hold it, their share of positive labels, the model's accuracy
    with and without it, and the mean change of P(positive) (and share of flipped predictions)
    when the cue is deleted. Scored on the CPU in fp32 for before and after alike."""
    before = positive_probability(model, texts)
    right = (before > 0.5) == (labels == 1)
    rows = []
    for name, pattern in CUES.items():
        cue = re.compile(pattern)
        has = np.array([bool(cue.search(t)) for t in texts])
        row = {"cue": name, "tweets": int(has.sum()), "share": float(has.mean())}
        if has.any():
            idx = np.flatnonzero(has)
            after = positive_probability(model, [re.sub(r"\s+", " ", cue.sub(" ", texts[i])).strip() for i in idx])
            kept = ~np.isnan(after)  # a tweet that was nothing but the cue has no prediction left
            row |= {"positive_share": float(labels[has].mean()), "accuracy_with": float(right[has].mean()),
                    "accuracy_without": float(right[~has].mean()) if (~has).any() else None,
                    "mean_abs_change": float(np.abs(after[kept] - before[idx][kept]).mean()) if kept.any() else None,
                    "flipped": float(((after[kept] > 0.5) != (before[idx][kept] > 0.5)).mean()) if kept.any() else None}
        rows.append(row)
    return rows
