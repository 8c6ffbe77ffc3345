"""Galaxy Zoo: labels from either CSV layout, centre-cropped and downsampled images, stable split.

Labels: ``galaxy_labels.csv`` (GalaxyID, argmax_class, morphology) or Kaggle's
``training_solutions_rev1.csv`` (37 probability columns), from which the same two columns are
derived (argmax of the 37; the morphology thresholds below, first rule that holds).

Refused with the file and line named: probabilities outside [0, 1] or NaN, an empty or NaN
class, an unknown morphology, one id listed twice with different labels, no readable image, a
split without test images. Unreadable images and images over max_image_pixels are skipped and
listed (or fatal with corrupt_images: error), all decided here, before any training.
"""

from __future__ import annotations

import csv
import io
import hashlib
import math
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from assignment5 import paths, settings
from assignment5.errors import InputError
from assignment5.io import decode_utf8, write_json, write_npz
from assignment5.training import usable_threads

IMAGE_DIR = "images_training_rev1"
LABELS_SHORT = "galaxy_labels.csv"
LABELS_KAGGLE = "training_solutions_rev1.csv"
MORPHOLOGIES = ("round_smooth", "in_between_smooth", "cigar_smooth", "edge_on", "spiral")
IMAGE_SUFFIXES = paths.GALAXY_IMAGE_SUFFIXES
# (morphology, [(column, threshold), ...]) in order: the first rule that holds wins. These are
# the thresholds of Zhu et al. 2019 except Class4.1, where the shared labels use 0.69 (Zhu: 0.619);
# ZHU_2019 lists where the two differ, so the report states the thresholds actually used.
MORPHOLOGY_RULES = (
    ("round_smooth", (("Class1.1", 0.469), ("Class7.1", 0.50))),
    ("in_between_smooth", (("Class1.1", 0.469), ("Class7.2", 0.50))),
    ("cigar_smooth", (("Class1.1", 0.469), ("Class7.3", 0.50))),
    ("edge_on", (("Class1.2", 0.430), ("Class2.1", 0.602))),
    ("spiral", (("Class1.2", 0.430), ("Class2.2", 0.715), ("Class4.1", 0.69))),
)
ZHU_2019 = {"Class4.1": 0.619}


ANSWER_COLUMN = re.compile(r"Class\d{1,2}\.\d")  # the 37 Kaggle columns: Class1.1 ... Class11.6


class GalaxyDataError(InputError):
    pass


def morphology_from_row(row: dict[str, float]) -> str:
    for name, conditions in MORPHOLOGY_RULES:
        if all(row[col] >= threshold for col, threshold in conditions):
            return name
    return ""


def _add_label(labels: dict, seen: dict, galaxy: int, label: tuple[str, str], where: str) -> None:
    if galaxy in labels and labels[galaxy] != label:
        raise GalaxyDataError(f"{where}: GalaxyID {galaxy} is listed again with other labels "
                              f"{label} (first at {seen[galaxy]}: {labels[galaxy]})")
    labels[galaxy] = label
    seen.setdefault(galaxy, where)


def _csv_rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], Iterator[tuple[str, dict]]]:
    """The header (spaces stripped) of a UTF-8 CSV that has the required columns, and its rows,
    each with where it is ("<file>, line N") for messages."""
    text = decode_utf8(path.read_bytes(), str(path), GalaxyDataError)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as err:
        raise GalaxyDataError(f"{path}, line 1: {err}") from err
    missing = [name for name in required if name not in header]
    if missing:
        raise GalaxyDataError(f"{path}, line 1: no column {', '.join(missing)} in the header "
                              f"{','.join(header)!r}; expected {','.join(required)}"
                              f"{' (comma-separated)' if ';' in ''.join(header) else ''}")
    reader.fieldnames = header

    def rows():
        line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise GalaxyDataError(f"{path}, line {line + 1}: {err}") from err
            start, line = line + 1, reader.line_num  # a quoted field may span lines
            yield f"{path}, line {start}" if start == line else f"{path}, lines {start}-{line}", row

    return header, rows()


def _galaxy_id(row: dict, where: str) -> int:
    value = (row["GalaxyID"] or "").strip()
    if not (value.isascii() and value.isdigit()):
        raise GalaxyDataError(f"{where}: GalaxyID {value!r} is not a whole number")
    return int(value)


def _read_kaggle(path: Path) -> dict[int, tuple[str, str]]:
    labels, seen = {}, {}
    header, rows = _csv_rows(path, ("GalaxyID",))
    columns = [c for c in header if c.startswith("Class")]
    if len(columns) != 37:
        raise GalaxyDataError(f"{path}, line 1: expected GalaxyID and 37 Class columns, "
                              f"found {len(columns)} Class columns")
    for where, row in rows:
        galaxy = _galaxy_id(row, where)
        try:
            probs = {c: float(row[c]) for c in columns}
        except (TypeError, ValueError) as err:  # a short row gives None
            raise GalaxyDataError(f"{where}: {err}") from err
        bad = next((c for c, v in probs.items() if math.isnan(v) or not 0 <= v <= 1), None)
        if bad:
            raise GalaxyDataError(f"{where}: {bad} = {row[bad]!r} is not a probability in [0, 1]")
        _add_label(labels, seen, galaxy, (max(columns, key=probs.__getitem__), morphology_from_row(probs)),
                   where)
    return labels


def _read_short(path: Path) -> dict[int, tuple[str, str]]:
    labels, seen = {}, {}
    _, rows = _csv_rows(path, ("GalaxyID", "argmax_class", "morphology"))
    for where, row in rows:
        galaxy = _galaxy_id(row, where)
        argmax, morphology = (row["argmax_class"] or "").strip(), (row["morphology"] or "").strip()
        if not argmax or argmax.lower() == "nan":
            raise GalaxyDataError(f"{where}: argmax_class is empty or NaN")
        if not ANSWER_COLUMN.fullmatch(argmax):
            hint = " (an unbalanced quote joined lines?)" if "\n" in argmax else ""
            raise GalaxyDataError(f"{where}: argmax_class {argmax[:60]!r} is not a Galaxy Zoo answer "
                                  f"column (Class1.1 ... Class11.6){hint}")
        if morphology not in ("", *MORPHOLOGIES):
            raise GalaxyDataError(f"{where}: unknown morphology {morphology!r} "
                                  f"(expected one of {', '.join(MORPHOLOGIES)} or empty)")
        _add_label(labels, seen, galaxy, (argmax, morphology), where)
    return labels


def read_labels(source: Path) -> dict[int, tuple[str, str]]:
    """GalaxyID -> (argmax_class, morphology) from a label file, or from whichever is in source."""
    source = Path(source)
    if source.is_file():
        return _read_kaggle(source) if source.name == LABELS_KAGGLE else _read_short(source)
    if (source / LABELS_KAGGLE).exists():
        return _read_kaggle(source / LABELS_KAGGLE)
    if (source / LABELS_SHORT).exists():
        return _read_short(source / LABELS_SHORT)
    raise GalaxyDataError(
        f"no labels in {source}: put {LABELS_KAGGLE} (Kaggle, 37 columns) or {LABELS_SHORT} "
        f"(GalaxyID,argmax_class,morphology) there, next to {IMAGE_DIR}/, or set data_dir")


def in_test_split(galaxy_id: int, test_fraction: float) -> bool:
    """Stable across runs, machines and subsets: decided by a hash of the id alone."""
    digest = hashlib.sha256(f"split:{galaxy_id}".encode()).digest()  # independent of --limit order
    return int.from_bytes(digest[:8], "big") / 2**64 < test_fraction


def load_image(path: str, crop: int, size: int, max_pixels: int) -> np.ndarray:
    """Decode at the smallest DCT scale that keeps the crop >= size pixels, crop, downsample."""
    with Image.open(path) as img:
        if img.size[0] * img.size[1] > max_pixels:  # checked on the header, before decoding
            raise GalaxyDataError(f"{img.size[0]}x{img.size[1]} pixels, more than "
                                  f"galaxy.max_image_pixels = {max_pixels:,}")
        if min(img.size) < crop:
            raise GalaxyDataError(f"{img.size[0]}x{img.size[1]} pixels, smaller than the "
                                  f"{crop}-pixel crop")
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
    path, crop, size, max_pixels = job
    try:
        return load_image(path, crop, size, max_pixels), None
    except Exception as err:  # PIL raises several types for truncated or corrupt files
        return None, f"{type(err).__name__}: {err}"


def list_images(image_dir: Path) -> list[Path]:
    """<GalaxyID>.jpg (or .jpeg, .png; any case) files; one id in two files is refused, as
    either could be the galaxy meant."""
    files = sorted((p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: (p.stem, p.name))
    twice = next(((a, b) for a, b in zip(files, files[1:]) if a.stem == b.stem), None)
    if twice:
        raise GalaxyDataError(f"{image_dir}: {twice[0].name} and {twice[1].name} are the same GalaxyID; "
                              "keep one of them")
    return files


def preprocess(s: settings.GalaxyData, labels_path: Path, image_dir: Path,
               threads: int) -> tuple[dict, dict]:
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        raise GalaxyDataError(f"missing {image_dir}/: put the Galaxy Zoo training JPGs "
                              "(<GalaxyID>.jpg) there, or set data_dir")
    labels = read_labels(labels_path)
    files = list_images(image_dir)
    labelled = [p for p in files if p.stem.isascii() and p.stem.isdigit() and int(p.stem) in labels]
    known = labelled
    if not known:
        raise GalaxyDataError(f"{image_dir}: none of {len(files)} images (<GalaxyID>.jpg, .jpeg or .png) "
                              f"has a label in {labels_path}")
    if s.limit:  # a hash order, so a limited run is a fair sample and stable
        known = sorted(known, key=lambda p: hashlib.sha256(p.stem.encode()).digest())[:s.limit]
        known.sort(key=lambda p: p.stem)
    started = time.perf_counter()
    # One preallocated array: memory stays at the output's size however many images there are.
    images = np.empty((len(known), s.image_size, s.image_size, 3), np.uint8)
    ids, bad, used = [], [], 0
    jobs = ((str(p), s.crop, s.image_size, s.max_image_pixels) for p in known)
    last_print = started
    with ProcessPoolExecutor(max_workers=usable_threads(threads)) as pool:
        for n, (path, (array, error)) in enumerate(zip(known, pool.map(_load, jobs, chunksize=64)), 1):
            if error:
                if s.corrupt_images == "error":
                    raise GalaxyDataError(f"{path}: unreadable image ({error})")
                bad.append({"file": path.name, "error": error})
            else:
                images[used] = array
                ids.append(int(path.stem))
                used += 1
            now = time.perf_counter()
            if now - last_print > 30 or n == len(known):
                last_print = now
                print(f"[galaxy] decoded {n:,}/{len(known):,} images ({now - started:.1f}s, "
                      f"{n / (now - started):.0f} images/s)", flush=True)
    for item in bad:
        print(f"[galaxy] skipped unreadable {item['file']}: {item['error']}")
    if not ids:
        raise GalaxyDataError(f"{image_dir}: none of the {len(known):,} labelled images could be read "
                              f"(first: {bad[0]['file']}: {bad[0]['error']})")
    images = images[:used]
    test = np.array([in_test_split(i, s.test_fraction) for i in ids], dtype=bool)
    n_train = int((~test).sum())
    if n_train < 2 or not test.any():  # BatchNorm cannot train on one image
        problem = "no test images" if not test.any() else f"{n_train} training images (at least 2 are needed)"
        raise GalaxyDataError(f"the split of {len(ids)} images has {problem}: raise galaxy.limit or "
                              f"adjust galaxy.test_fraction (now {s.test_fraction})")
    classes = sorted({labels[i][0] for i in ids})
    arrays = {
        "images": images,
        "ids": np.array(ids, dtype=np.int64),
        "test": test,
        "argmax_class": np.array([classes.index(labels[i][0]) for i in ids], dtype=np.int64),
        "morphology": np.array([MORPHOLOGIES.index(labels[i][1]) if labels[i][1] else -1 for i in ids],
                               dtype=np.int64),
    }
    morph = arrays["morphology"]
    summary = {
        "label_file": Path(labels_path).name if Path(labels_path).is_file() else str(labels_path),
        "labelled_ids": len(labels), "morphology_rules": [
            {"class": name, "conditions": [{"column": c, "at_least": t} for c, t in conditions]}
            for name, conditions in MORPHOLOGY_RULES],
        "thresholds_not_zhu": [{"column": column, "used": used, "zhu_2019": ZHU_2019[column]}
                               for column, used in {c: t for _, cs in MORPHOLOGY_RULES for c, t in cs}.items()
                               if ZHU_2019.get(column, used) != used],
        "jpgs_found": len(files), "labelled_jpgs": len(labelled),
        "used": len(ids), "unreadable": len(bad), "unreadable_files": bad[:50],
        "train": int((~test).sum()), "test": int(test.sum()),
        "crop": s.crop, "size": s.image_size, "test_fraction": s.test_fraction, "limit": s.limit,
        "argmax_classes": classes, "morphologies": list(MORPHOLOGIES),
        "morphology_counts": {m: int((morph == k).sum()) for k, m in enumerate(MORPHOLOGIES)},
        "unlabelled_morphology": int((morph < 0).sum()),
        "seconds": time.perf_counter() - started, "threads": threads,
    }
    return arrays, summary


def run(s: settings.GalaxyData, *, labels: str, images: str, out: str, summary: str,
        threads: int) -> dict:
    arrays, info = preprocess(s, Path(labels), Path(images), threads)
    write_npz(out, **arrays)
    write_json(summary, info)
    print(f"[galaxy] wrote {out}: {info['train']:,} train / {info['test']:,} test images, "
          f"{info['unreadable']} unreadable")
    return info
