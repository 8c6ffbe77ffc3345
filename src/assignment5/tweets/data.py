"""Tweets: read and validate the CSV files, fold text to ASCII codes, write ragged arrays.

    python -m assignment5.tweets.data --source-dir DATA/tweets --out data/tweets/tweets.npz \
        --stats data/tweets/stats.json [--train-url U --test-url U] [--malformed-rows error]

Non-ASCII handling (one stated rule): Unicode NFKD decomposition, combining marks dropped
(so "café" -> "cafe", "ﬁ" -> "fi"); any character still outside ASCII 0-127 becomes code 26
(ASCII SUB, "substitute"). Tweets longer than --max-length are truncated.
"""

from __future__ import annotations

import argparse
import csv
import io
import unicodedata
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assignment5.io import write_json

FILES = {"train": "tweets_train.csv", "test": "tweets_test.csv"}
REPLACEMENT = 26  # ASCII SUB
VOCAB = 128


class TweetDataError(RuntimeError):
    pass


@dataclass
class Report:
    """What loading one file found: kept rows, problems with their line numbers."""
    rows: int = 0
    kept: int = 0
    empty: list[int] = field(default_factory=list)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    non_ascii_tweets: int = 0
    folded_chars: int = 0
    replaced_chars: int = 0
    truncated: int = 0


def to_ascii(text: str) -> tuple[str, int, int]:
    """NFKD-fold then replace what is left outside ASCII; returns (text, folded, replaced)."""
    if text.isascii():
        return text, 0, 0
    out, folded, replaced = [], 0, 0
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        decomposed = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if decomposed and decomposed.isascii():
            out.append(decomposed)
            folded += 1
        else:
            out.append(chr(REPLACEMENT))
            replaced += 1
    return "".join(out), folded, replaced


def encode(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8)


def parse_csv(text: str, name: str, max_length: int, on_malformed: str):
    """Rows of ``text,label``; returns (texts, labels, Report). Line numbers are 1-based."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != ["text", "label"]:
        raise TweetDataError(f"{name}: line 1 must be the header 'text,label', found {header!r}")
    texts, labels, report = [], [], Report()
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num  # a quoted tweet may span several lines
        report.rows += 1
        problem = None
        if len(row) != 2:
            problem = f"expected 2 fields, found {len(row)}"
        elif row[1].strip() not in ("0", "1"):
            problem = f"label must be 0 or 1, found {row[1]!r}"
        if problem:
            if on_malformed == "error":
                raise TweetDataError(f"{name}, line {start}: {problem}")
            report.malformed.append((start, problem))
            continue
        tweet = row[0].strip()
        if not tweet:
            report.empty.append(start)
            continue
        ascii_text, folded, replaced = to_ascii(tweet)
        if folded or replaced:
            report.non_ascii_tweets += 1
            report.folded_chars += folded
            report.replaced_chars += replaced
        if len(ascii_text) > max_length:
            ascii_text = ascii_text[:max_length]
            report.truncated += 1
        texts.append(ascii_text)
        labels.append(int(row[1]))
        report.kept += 1
    return texts, labels, report


def read_source(split: str, source_dir: Path | None, url: str | None) -> tuple[str, str]:
    """The CSV text of one split and a name for messages."""
    if url:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read().decode("utf-8"), url
    path = Path(source_dir) / FILES[split]
    if not path.exists():
        raise TweetDataError(
            f"missing {path}: put {FILES['train']} and {FILES['test']} (CSV, header 'text,label', "
            f"label 0 negative / 1 positive) in {Path(source_dir)}/, set data_dir in the config, "
            "or set tweets.train_url and tweets.test_url")
    return path.read_text(encoding="utf-8"), str(path)


def pack(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Ragged storage: all codes concatenated, plus offsets (len n+1)."""
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    codes = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8)
    return codes, offsets


def summarise(labels: list[int], texts: list[str], report: Report) -> dict:
    lengths = np.array([len(t) for t in texts])
    return {
        "rows": report.rows, "kept": report.kept,
        "negative": int(labels.count(0)), "positive": int(labels.count(1)),
        "empty_skipped": len(report.empty), "empty_lines": report.empty[:20],
        "malformed": len(report.malformed),
        "malformed_lines": [{"line": ln, "problem": p} for ln, p in report.malformed[:20]],
        "non_ascii_tweets": report.non_ascii_tweets, "folded_chars": report.folded_chars,
        "replaced_chars": report.replaced_chars, "truncated": report.truncated,
        "length_mean": float(lengths.mean()), "length_median": float(np.median(lengths)),
        "length_p95": float(np.percentile(lengths, 95)), "length_max": int(lengths.max()),
        "length_histogram": np.bincount(lengths).tolist(),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir")
    parser.add_argument("--train-url")
    parser.add_argument("--test-url")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--max-length", type=int, default=280)
    parser.add_argument("--malformed-rows", choices=["skip", "error"], default="skip")
    args = parser.parse_args(argv)

    arrays, stats = {}, {"non_ascii_rule": "NFKD fold, combining marks dropped, rest -> code 26 (SUB)",
                         "max_length": args.max_length}
    for split in ("train", "test"):
        text, name = read_source(split, args.source_dir, getattr(args, f"{split}_url"))
        texts, labels, report = parse_csv(text, name, args.max_length, args.malformed_rows)
        if not texts:
            raise TweetDataError(f"{name}: no usable tweets")
        for line, problem in report.malformed[:20]:
            print(f"[tweets] {name}, line {line}: {problem} (skipped)")
        codes, offsets = pack(texts)
        arrays |= {f"{split}_codes": codes, f"{split}_offsets": offsets,
                   f"{split}_labels": np.array(labels, dtype=np.int64)}
        stats[split] = summarise(labels, texts, report) | {"source": Path(name).name}
        print(f"[tweets] {name}: {report.kept} tweets kept of {report.rows} rows; "
              f"{len(report.malformed)} malformed, {len(report.empty)} empty, "
              f"{report.non_ascii_tweets} with non-ASCII characters")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **arrays)
    write_json(args.stats, stats)


if __name__ == "__main__":
    main()
