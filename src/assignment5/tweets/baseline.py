"""The baseline a practitioner tries first: TF-IDF of word n-grams and logistic regression.

It reads the same folded ASCII tweets as the LSTM (tweets.npz), fits on the training file and
scores the test file, so the two are compared on the same data.
"""

from __future__ import annotations

import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from assignment5 import settings
from assignment5.io import read_npz, write_json


def texts_of(npz, split: str) -> list[str]:
    codes, offsets = npz[f"{split}_codes"], npz[f"{split}_offsets"]
    return [bytes(codes[offsets[i]: offsets[i + 1]]).decode("ascii") for i in range(len(offsets) - 1)]


def run(s: settings.TweetsBaseline, *, data: str, out: str) -> dict:
    npz = read_npz(data)
    train, test = texts_of(npz, "train"), texts_of(npz, "test")
    y_train, y_test = npz["train_labels"], npz["test_labels"]
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, s.ngram_max), min_df=s.min_df, sublinear_tf=True)
    x_train = vectorizer.fit_transform(train)
    model = LogisticRegression(C=s.c, max_iter=s.max_iter).fit(x_train, y_train)
    seconds = time.perf_counter() - start
    result = {"settings": s.as_dict(), "features": len(vectorizer.vocabulary_),
              "train_accuracy": float(model.score(x_train, y_train)),
              "test_accuracy": float(model.score(vectorizer.transform(test), y_test)),
              "fit_seconds": seconds, "train_tweets": len(train), "test_tweets": len(test)}
    write_json(out, result)
    print(f"[tweets:baseline] TF-IDF 1-{s.ngram_max}-grams + logistic regression: test accuracy "
          f"{result['test_accuracy']:.4f} ({result['features']:,} features, fit in {seconds:.1f} s)")
    return result
