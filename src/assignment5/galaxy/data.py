"""Galaxy Zoo: labels from either CSV layout, centre-cropped and downsampled images, stable split.

    python -m assignment5.galaxy.data --source DATA/galaxy-zoo --out data/galaxy/galaxy.npz \
        --summary data/galaxy/preprocess.json --crop 207 --size 64 --test-fraction 0.1 --threads 2

Labels: ``galaxy_labels.csv`` (GalaxyID, argmax_class, morphology) or Kaggle's
``training_solutions_rev1.csv`` (37 probability columns), from which the same two columns are
derived (argmax of the 37; the morphology thresholds of Zhu et al. 2019, first rule that holds).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from assignment5.io import write_json

IMAGE_DIR = "images_training_rev1"
LABELS_SHORT = "galaxy_labels.csv"
LABELS_KAGGLE = "training_solutions_rev1.csv"
MORPHOLOGIES = ("round_smooth", "in_between_smooth", "cigar_smooth", "edge_on", "spiral")
# (morphology, [(column, threshold), ...]) in order: the first rule that holds wins.
MORPHOLOGY_RULES = (
    ("round_smooth", (("Class1.1", 0.469), ("Class7.1", 0.50))),
    ("in_between_smooth", (("Class1.1", 0.469), ("Class7.2", 0.50))),
    ("cigar_smooth", (("Class1.1", 0.469), ("Class7.3", 0.50))),
    ("edge_on", (("Class1.2", 0.430), ("Class2.1", 0.602))),
    ("spiral", (("Class1.2", 0.430), ("Class2.2", 0.715), ("Class4.1", 0.69))),
)


class GalaxyDataError(RuntimeError):
    pass


def morphology_from_row(row: dict[str, float]) -> str:
    for name, conditions in MORPHOLOGY_RULES:
        if all(row[col] >= threshold for col, threshold in conditions):
            return name
    return ""


def read_labels(source: Path) -> dict[int, tuple[str, str]]:
    """GalaxyID -> (argmax_class, morphology) from whichever label file is present."""
    short, kaggle = source / LABELS_SHORT, source / LABELS_KAGGLE
    labels: dict[int, tuple[str, str]] = {}
    if kaggle.exists():
        with open(kaggle, newline="") as f:
            reader = csv.DictReader(f)
            columns = [c for c in reader.fieldnames or [] if c.startswith("Class")]
            if len(columns) != 37:
                raise GalaxyDataError(f"{kaggle}: expected 37 Class columns, found {len(columns)}")
            for line, row in enumerate(reader, start=2):
                try:
                    probs = {c: float(row[c]) for c in columns}
                    galaxy = int(row["GalaxyID"])
                except (KeyError, TypeError, ValueError) as err:
                    raise GalaxyDataError(f"{kaggle}, line {line}: {err}") from err
                labels[galaxy] = (max(columns, key=probs.__getitem__), morphology_from_row(probs))
        return labels
    if short.exists():
        with open(short, newline="") as f:
            reader = csv.DictReader(f)
            for line, row in enumerate(reader, start=2):
                try:
                    labels[int(row["GalaxyID"])] = (row["argmax_class"], row["morphology"] or "")
                except (KeyError, TypeError, ValueError) as err:
                    raise GalaxyDataError(f"{short}, line {line}: {err}") from err
                if labels[int(row["GalaxyID"])][1] not in ("", *MORPHOLOGIES):
                    raise GalaxyDataError(f"{short}, line {line}: unknown morphology {row['morphology']!r}")
        return labels
    raise GalaxyDataError(
        f"no labels in {source}: put {LABELS_KAGGLE} (Kaggle, 37 columns) or {LABELS_SHORT} "
        f"(GalaxyID,argmax_class,morphology) there, next to {IMAGE_DIR}/, or set data_dir")


def in_test_split(galaxy_id: int, test_fraction: float) -> bool:
    """Stable across runs, machines and subsets: decided by a hash of the id alone."""
    digest = hashlib.sha256(f"split:{galaxy_id}".encode()).digest()  # independent of --limit order
    return int.from_bytes(digest[:8], "big") / 2**64 < test_fraction


def load_image(path: str, crop: int, size: int) -> np.ndarray:
    """Decode at the smallest DCT scale that keeps the crop >= size pixels, crop, downsample."""
    with Image.open(path) as img:
        full = img.size[0]
        img.draft("RGB", (full * size // crop, full * size // crop))
        scale = img.size[0] / full
        img = img.convert("RGB")
        half = crop * scale / 2
        cx, cy = img.size[0] / 2, img.size[1] / 2
        box = (round(cx - half), round(cy - half), round(cx + half), round(cy + half))
        img = img.resize((size, size), Image.Resampling.BOX, box=box)
        return np.asarray(img, dtype=np.uint8)


def _load(job):
    path, crop, size = job
    try:
        return load_image(path, crop, size), None
    except Exception as err:  # PIL raises several types for truncated or corrupt files
        return None, f"{type(err).__name__}: {err}"


def preprocess(source: Path, crop: int, size: int, test_fraction: float, threads: int,
               limit: int | None = None, on_corrupt: str = "skip") -> tuple[dict, dict]:
    image_dir = source / IMAGE_DIR
    if not image_dir.is_dir():
        raise GalaxyDataError(f"missing {image_dir}/: put the Galaxy Zoo training JPGs "
                              "(<GalaxyID>.jpg) there, or set data_dir")
    labels = read_labels(source)
    files = sorted(image_dir.glob("*.jpg"), key=lambda p: p.stem)
    known = [p for p in files if p.stem.isdigit() and int(p.stem) in labels]
    if not known:
        raise GalaxyDataError(f"{image_dir}: none of {len(files)} JPGs has a label")
    if limit:  # a hash order, so a limited run is a fair sample and stable
        known = sorted(known, key=lambda p: hashlib.sha256(p.stem.encode()).digest())[:limit]
        known.sort(key=lambda p: p.stem)
    started = time.perf_counter()
    images, ids, bad = [], [], []
    jobs = [(str(p), crop, size) for p in known]
    with ProcessPoolExecutor(max_workers=max(1, threads)) as pool:
        for n, (path, (array, error)) in enumerate(zip(known, pool.map(_load, jobs, chunksize=64)), 1):
            if error:
                if on_corrupt == "error":
                    raise GalaxyDataError(f"{path}: unreadable JPEG ({error})")
                bad.append({"file": path.name, "error": error})
            else:
                images.append(array)
                ids.append(int(path.stem))
            if n % max(1, len(known) // 10) == 0 or n == len(known):
                print(f"[galaxy] decoded {n}/{len(known)} images "
                      f"({time.perf_counter() - started:.1f}s)", flush=True)
    for item in bad:
        print(f"[galaxy] skipped unreadable {item['file']}: {item['error']}")
    ids_arr = np.array(ids, dtype=np.int64)
    classes = sorted({labels[i][0] for i in ids})
    arrays = {
        "images": np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8),
        "ids": ids_arr,
        "test": np.array([in_test_split(i, test_fraction) for i in ids], dtype=bool),
        "argmax_class": np.array([classes.index(labels[i][0]) for i in ids], dtype=np.int64),
        "morphology": np.array([MORPHOLOGIES.index(labels[i][1]) if labels[i][1] else -1 for i in ids],
                               dtype=np.int64),
    }
    morph = arrays["morphology"]
    summary = {
        "label_file": LABELS_KAGGLE if (source / LABELS_KAGGLE).exists() else LABELS_SHORT,
        "jpgs_found": len(files), "labelled_jpgs": len(known) if not limit else None,
        "used": len(ids), "unreadable": len(bad), "unreadable_files": bad[:50],
        "train": int((~arrays["test"]).sum()), "test": int(arrays["test"].sum()),
        "crop": crop, "size": size, "test_fraction": test_fraction, "limit": limit,
        "argmax_classes": classes, "morphologies": list(MORPHOLOGIES),
        "morphology_counts": {m: int((morph == k).sum()) for k, m in enumerate(MORPHOLOGIES)},
        "unlabelled_morphology": int((morph < 0).sum()),
        "seconds": time.perf_counter() - started, "threads": threads,
    }
    return arrays, summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="folder with images_training_rev1/ and labels")
    parser.add_argument("--out", required=True)
    parser.add_argument("--summary", required=True)
    parser.add_argument("--crop", type=int, default=207)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--corrupt-images", choices=["skip", "error"], default="skip")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    arrays, summary = preprocess(Path(args.source), args.crop, args.size, args.test_fraction,
                                 args.threads, args.limit, args.corrupt_images)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **arrays)
    write_json(args.summary, summary)
    print(f"[galaxy] wrote {args.out}: {summary['train']} train / {summary['test']} test images, "
          f"{summary['unreadable']} unreadable")


if __name__ == "__main__":
    main()
