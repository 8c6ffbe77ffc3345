"""Classify tweets with a trained model; prints each tweet's probability of being positive.

    python -m assignment5.tweets.predict --model results/tweets/model.pt --csv tweets.csv
    echo "what a lovely day" | python -m assignment5.tweets.predict --model results/tweets/model.pt
"""

from __future__ import annotations

import argparse
import csv
import sys

import numpy as np
import torch

from assignment5.tweets.data import to_ascii
from assignment5.tweets.model import Tweets, TweetLSTM


def load_model(path: str) -> TweetLSTM:
    model = TweetLSTM()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


@torch.no_grad()
def positive_probability(model: TweetLSTM, texts: list[str], max_length: int = 280) -> np.ndarray:
    """P(positive) per text, after the same ASCII folding as training; empty texts give NaN."""
    folded = [to_ascii(t.strip())[0][:max_length] for t in texts]
    keep = [i for i, t in enumerate(folded) if t]
    probs = np.full(len(texts), np.nan)
    if keep:
        data = Tweets.from_texts([folded[i] for i in keep])
        for index in data.sorted_batches(256):
            codes, lengths, _ = data.batch(index)
            probs[np.asarray(keep)[index]] = model(codes, lengths)[:, 1].exp().numpy()
    return probs


def read_texts(csv_path: str | None) -> list[str]:
    if csv_path is None:
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        column = [h.strip().lower() for h in header].index("text") if "text" in [h.strip().lower() for h in header] else 0
        rows = list(reader) if "text" in [h.strip().lower() for h in header] else [header, *reader]
    return [row[column] for row in rows if len(row) > column]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--csv", help="CSV with a 'text' column (else the first column); default: stdin lines")
    args = parser.parse_args(argv)
    texts = read_texts(args.csv)
    for text, p in zip(texts, positive_probability(load_model(args.model), texts)):
        print(f"{p:.3f}\t{text}")


if __name__ == "__main__":
    main()
