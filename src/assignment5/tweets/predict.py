"""Classify tweets with a trained model; prints each tweet's probability of being positive.

    echo "what a lovely day" | python -m assignment5.tweets.predict
    python -m assignment5.tweets.predict --csv tweets.csv --best results/smoke/tweets/best.json
    python -m assignment5.tweets.predict --model results/default/tweets/model.pt --csv tweets.csv

Without --model it uses the model the workflow chose (results/<budget>/tweets/best.json: the
mandated run or a tuned variant, whichever scores highest on validation tweets) and says which.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np
import torch

from assignment5.errors import InputError
from assignment5.io import read_json, read_model
from assignment5.step import guarded
from assignment5.tweets.data import decode, strip_controls, to_ascii, with_placeholders
from assignment5.tweets.model import Tweets, TweetLSTM


def load_model(path: str) -> TweetLSTM:
    """The saved state dict, loaded without unpickling code; one-line errors for bad files."""
    if not Path(path).is_file():
        raise InputError(f"model file {path} not found (train it: snakemake --cores 2 "
                         "results/default/tweets/model.pt)")
    return read_model(path, lambda state: TweetLSTM.from_state_dict(state).eval(), "the tweet LSTM's weights")


@torch.no_grad()
def positive_probability(model: TweetLSTM, texts: list[str], max_length: int = 280) -> np.ndarray:
    """P(positive) per text, after the same folding as training; empty texts give NaN."""
    folded = [to_ascii(strip_controls(t.strip())[0].strip())[0][:max_length] for t in texts]
    if model.placeholders:
        folded = [with_placeholders(t) for t in folded]
    keep = [i for i, t in enumerate(folded) if t]
    probs = np.full(len(texts), np.nan)
    if keep:
        data = Tweets.from_texts([folded[i] for i in keep])
        for index in data.sorted_batches(256):
            codes, lengths, _ = data.batch(index)
            probs[np.asarray(keep)[index]] = model(codes, lengths)[:, 1].exp().numpy()
    return probs


def read_texts(csv_path: str | None) -> list[str]:
    """Lines from stdin, or the 'text' column of a CSV (else its first column)."""
    if csv_path is None:  # bytes: a strict UTF-8 locale would fail on a bad byte without naming the line
        text = decode(sys.stdin.buffer.read(), "standard input")
        return [line for line in text.splitlines() if line.strip()]
    if not Path(csv_path).is_file():
        raise InputError(f"CSV file {csv_path} not found")
    reader = csv.reader(io.StringIO(decode(Path(csv_path).read_bytes(), csv_path), newline=""))
    try:
        rows = list(reader)
    except csv.Error as err:
        raise InputError(f"{csv_path}, line {reader.line_num}: {err}") from err
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    column, body = (header.index("text"), rows[1:]) if "text" in header else (0, rows)
    return [row[column] for row in body if len(row) > column]


def model_beside(best: Path, model: str) -> Path:
    """The model best.json names, relative to the workflow's folder; from another folder it is
    found under the workflow folder that holds best.json (the part of its path the two share)."""
    path = Path(model)
    if path.is_absolute() or path.exists():
        return path
    folder = best.resolve().parent.parts
    for shared in range(min(len(path.parts) - 1, len(folder)), 0, -1):
        if folder[len(folder) - shared:] == path.parts[:shared]:
            return Path(*folder[:len(folder) - shared], *path.parts)
    return path


def which_model(best: str) -> str:
    """The model file the workflow chose, announced on stderr with why."""
    if not Path(best).is_file():
        raise InputError(f"{best} not found: run the workflow's tweets_figures rule (snakemake --cores 2 "
                         f"{best}), or name a model with --model")
    choice = read_json(best)
    try:
        accuracy = choice["validation_accuracy"]
        scores = ", ".join(f"{name} {value:.2%}" for name, value in accuracy.items())
        print(f"model: the {choice['chosen']} run, {choice['model']} (validation accuracy: {scores}, on "
              f"{choice['validation_tweets']:,} tweets held out from the tuned runs)", file=sys.stderr)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise InputError(f"{best} is not a model choice this workflow wrote ({type(err).__name__}: "
                         f"{err}); delete it and run the workflow again to rebuild it") from err
    return str(model_beside(Path(best), choice["model"]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model file; default: the one --best names")
    parser.add_argument("--best", default="results/default/tweets/best.json",
                        help="the workflow's choice of model (the main run or a tuned variant, by "
                             "validation accuracy); default: %(default)s")
    parser.add_argument("--csv", help="CSV with a 'text' column (else the first column); default: stdin lines")
    args = parser.parse_args(argv)

    def predict():
        model = load_model(args.model or which_model(args.best))
        texts = read_texts(args.csv)
        for text, p in zip(texts, positive_probability(model, texts)):
            print(f"{p:.3f}\t{text}")

    guarded(predict)


if __name__ == "__main__":
    main()
