"""Tweets: read and validate the CSV files, fold text to ASCII codes, write ragged arrays.

Non-ASCII handling (one stated rule): Unicode NFKD decomposition, combining marks dropped
(so "café" -> "cafe", "ﬁ" -> "fi"); any character still outside ASCII 0-127 becomes code 26
(ASCII SUB, "substitute"). Control characters (NUL, escapes; not tab or newline) become a space.
Tweets longer than max_length are truncated.

The columns are found by name (text and label, any case and order; others are ignored); a
label is 0 or 1 (1.0 and 0.0 read too).

Refused with the file and line named: a file that is not UTF-8 (a BOM is fine), a header without
text and label, an unbalanced quote (it would swallow the rows after it), a field over the CSV
size limit, a share of malformed rows above max_malformed_fraction, and a training set with one
class. A file downloaded from tweets.train_url / test_url is used only when its sha256 matches
the config's.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import re
import unicodedata
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assignment5 import settings
from assignment5.errors import InputError
from assignment5.io import decode_utf8, write_json, write_npz

FILES = {"train": "tweets_train.csv", "test": "tweets_test.csv"}
CUES = {"URL": r"https?://\S+|www\.\S+", "user name": r"@\w+",
        "emoticon": r"(?<![\w:])[:;=8][-o*']?[)\](\[dDpP/\\|](?!\w)"}
# One code per cue that no stored tweet holds (control codes become spaces), standing for any URL
# or user name: the placeholder preprocessing a practitioner uses so that no single one is learnt.
PLACEHOLDERS = {"URL": "\x01", "user name": "\x02"}
PREPROCESSING = ("raw", "placeholders")


def with_placeholders(text: str) -> str:
    for cue, code in PLACEHOLDERS.items():
        text = re.sub(CUES[cue], code, text)
    return text


REPLACEMENT = 26  # ASCII SUB
VOCAB = 128


class TweetDataError(InputError):
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
    control_chars: int = 0


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_controls(text: str) -> tuple[str, int]:
    """Control characters (not tab or newline) become spaces; returns (text, how many)."""
    return _CONTROL.subn(" ", text)


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


_LOOKS_LIKE_ROW = re.compile(r",\s*[01](\.0*)?\s*$")


def decode(raw: bytes, name: str) -> str:
    return decode_utf8(raw, name, TweetDataError)


def label_value(field: str) -> int | None:
    """0 or 1 from "0", "1", " 1 ", "1.0" (a spreadsheet's or pandas' float column); else None."""
    try:
        value = float(field)
    except ValueError:
        return None
    return int(value) if value in (0.0, 1.0) else None


def parse_csv(text: str, name: str, max_length: int, on_malformed: str,
              max_malformed_fraction: float = 1.0):
    """Rows of ``text,label``; returns (texts, labels, Report). Line numbers are 1-based."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise TweetDataError(f"{name}, line 1: {err}") from err
    names = [h.strip().lower() for h in header or []]
    if not {"text", "label"} <= set(names) or len(set(names)) < len(names):
        raise TweetDataError(f"{name}: line 1 must be a header naming the columns text and label "
                             f"(e.g. 'text,label'; others are ignored), found {header!r}")
    text_at, label_at = names.index("text"), names.index("label")
    texts, labels, report = [], [], Report()
    line = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            hint = " (an unbalanced quote?)" if "EOF" in str(err) or "end of data" in str(err) else ""
            raise TweetDataError(f"{name}, line {line + 1}: {err}{hint}") from err
        start, line = line + 1, reader.line_num  # a quoted tweet may span several lines
        report.rows += 1
        problem = None
        if len(row) != len(names):
            problem = f"expected {len(names)} fields, found {len(row)}"
        elif (label := label_value(row[label_at])) is None:
            problem = f"label must be 0 or 1, found {row[label_at]!r}"
        elif sum(bool(_LOOKS_LIKE_ROW.search(part)) for part in row[text_at].split("\n")[:-1]) >= 1:
            problem = (f"an unbalanced quote makes lines {start}-{line} one field "
                       "(they look like separate rows)")
        if problem:
            if on_malformed == "error":
                raise TweetDataError(f"{name}, line {start}: {problem}")
            report.malformed.append((start, problem))
            continue
        tweet, controls = strip_controls(row[text_at].strip())
        tweet = tweet.strip()
        report.control_chars += controls
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
        labels.append(label)
        report.kept += 1
    check_quality(name, labels, report, max_malformed_fraction)
    return texts, labels, report


def check_quality(name: str, labels: list[int], report: Report, max_fraction: float) -> None:
    """Refuse what would train a meaningless model: many bad rows, or one class only."""
    if report.rows and len(report.malformed) / report.rows > max_fraction:
        first = "; ".join(f"line {ln}: {p}" for ln, p in report.malformed[:3])
        sentiment140 = any("'4'" in p for _, p in report.malformed)
        words = any(re.search(r"found '\s*(pos|neg)", p, re.I) for _, p in report.malformed)
        hint = (" Labels 0/4 are Sentiment140's coding: write 1 for positive (4)." if sentiment140 else
                " Write the labels as numbers: 1 for positive, 0 for negative." if words else "")
        raise TweetDataError(
            f"{name}: {len(report.malformed):,} of {report.rows:,} rows are malformed "
            f"({100 * len(report.malformed) / report.rows:.1f}%, more than tweets.max_malformed_fraction "
            f"= {100 * max_fraction:g}%); first: {first}.{hint}")
    if not labels:
        raise TweetDataError(f"{name}: no usable tweets")
    if len(set(labels)) < 2:
        raise TweetDataError(f"{name}: every kept tweet has label {labels[0]}; a classifier needs "
                             "both 0 (negative) and 1 (positive)")


def download(url: str, split: str, expected_sha256: str | None, max_mb: float) -> bytes:
    """The file at ``url``, read in blocks up to ``max_mb`` and used only when its sha256 matches
    the configured one; without one, the error gives the digest to check and pin."""
    key, digest, blocks, size = f"tweets.{split}_sha256", hashlib.sha256(), [], 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                size += len(block)
                if size > max_mb * 1e6:
                    raise TweetDataError(f"{url}: larger than tweets.max_download_mb = {max_mb:g} MB; "
                                         "check the URL, or raise that limit if the file is right")
                digest.update(block)
                blocks.append(block)
    except (OSError, http.client.HTTPException) as err:  # URLError, HTTPError, timeouts are OSErrors
        raise TweetDataError(f"{url}: download failed ({err}); check the URL and the network, or "
                             "put the file in <data_dir>/tweets/ and set both URLs to null") from err
    got = digest.hexdigest()
    if expected_sha256 is None:
        raise TweetDataError(f"{url}: downloaded ({size:,} bytes, sha256 {got}) but not used: {key} "
                             f"is not set. Check that this is the file you expect, then set {key}: {got}")
    if got != expected_sha256.lower():
        raise TweetDataError(f"{url}: sha256 {got} does not match {key} = {expected_sha256}; the file "
                             "changed or is not the one expected, so it was not used")
    return b"".join(blocks)


def read_source(split: str, path: str | None, url: str | None, expected_sha256: str | None = None,
                max_download_mb: float = 0) -> tuple[str, str]:
    """The CSV text of one split and a name for messages."""
    if url:
        return decode(download(url, split, expected_sha256, max_download_mb), url), url
    if not path or not Path(path).is_file():
        raise TweetDataError(
            f"missing {path}: put {FILES['train']} and {FILES['test']} (CSV, header 'text,label', "
            "label 0 negative / 1 positive) in <data_dir>/tweets/, set data_dir in the config, "
            "or set tweets.train_url and tweets.test_url (with their sha256)")
    return decode(Path(path).read_bytes(), str(path)), str(path)


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
        "control_chars": report.control_chars,
        "length_mean": float(lengths.mean()), "length_median": float(np.median(lengths)),
        "length_p95": float(np.percentile(lengths, 95)), "length_max": int(lengths.max()),
        "length_histogram": np.bincount(lengths).tolist(),
    }


def run(s: settings.TweetsData, *, train_csv: str | None, test_csv: str | None, out: str,
        stats: str) -> dict:
    arrays, summary = {}, {"non_ascii_rule": "accented letters become their base letter (NFKD, combining marks dropped), any other character code 26 (SUB)",
                           "max_length": s.max_length}
    for split, path in (("train", train_csv), ("test", test_csv)):
        text, name = read_source(split, path, getattr(s, f"{split}_url"), getattr(s, f"{split}_sha256"),
                                 s.max_download_mb)
        texts, labels, report = parse_csv(text, name, s.max_length, s.malformed_rows,
                                          s.max_malformed_fraction)
        for line, problem in report.malformed[:20]:
            print(f"[tweets] {name}, line {line}: {problem} (skipped)")
        codes, offsets = pack(texts)
        arrays |= {f"{split}_codes": codes, f"{split}_offsets": offsets,
                   f"{split}_labels": np.array(labels, dtype=np.int64)}
        summary[split] = summarise(labels, texts, report) | {
            "source": Path(name).name, "sha256": hashlib.sha256(text.encode()).hexdigest()}
        print(f"[tweets] {name}: {report.kept:,} tweets kept of {report.rows:,} rows; "
              f"{len(report.malformed)} malformed, {len(report.empty)} empty, "
              f"{report.non_ascii_tweets} with non-ASCII characters")
    write_npz(out, **arrays)
    write_json(stats, summary)
    return summary
