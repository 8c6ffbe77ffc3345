"""Small, atomic writers: a killed job never leaves a half-written result."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

from assignment5.errors import InputError

T = TypeVar("T")


def default_file_mode() -> int:
    """What open() would give a new file under the current umask (temporary files get 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic(path: str | Path, mode: str = "w", **open_args):
    """An open temporary file beside ``path`` that replaces it only when the block succeeds; on
    any failure (a full disk may first show when the file is closed) the temporary file goes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    f = tempfile.NamedTemporaryFile(mode, dir=path.parent, suffix=".tmp", delete=False, **open_args)
    try:
        with f:
            yield f
        os.chmod(f.name, default_file_mode())
        os.replace(f.name, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            f.close()
        with contextlib.suppress(OSError):
            os.unlink(f.name)
        if isinstance(err, OSError) and err.filename in (None, f.name):
            raise OSError(err.errno, err.strerror, str(path)) from None  # name the result, not the .tmp
        raise


def unwritable_folder(roots) -> str | None:
    """The first folder under ``roots`` (or the nearest existing parent of a root) in which no
    file can be created: a test file, since os.access says yes to root on a read-only mount."""
    for root in map(Path, roots):
        existing = next(p for p in (root, *root.parents) if p.exists())
        folders = [existing] if existing != root else [root, *(d for d in root.rglob("*") if d.is_dir())]
        for folder in folders:
            try:
                tempfile.TemporaryFile(dir=folder).close()
            except OSError:
                return str(folder)
    return None


def write_json(path: str | Path, data) -> None:
    with atomic(path) as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")


def write_tsv(path: str | Path, rows: list[dict]) -> None:
    """A table for Snakemake's HTML report: one header line, tab-separated, floats to 6 digits."""
    with atomic(path, newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}
                         for row in rows)


def write_npz(path: str | Path, compressed: bool = False, **arrays) -> None:
    """np.savez to exactly ``path`` (a file object: savez would add .npz to another name)."""
    import numpy as np

    with atomic(path, "wb") as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)


def write_model(state, path: str | Path) -> None:
    """torch.save of a state dict or a dict of plain values and tensors."""
    import torch

    with atomic(path, "wb") as f:
        torch.save(state, f)


def _why(err: Exception) -> str:
    """The error's type and first line, short enough for a one-line message."""
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:160]}"


def _damaged(path, err: Exception, what: str) -> InputError:
    return InputError(f"{path} is damaged or not {what} ({_why(err)}); delete it and run the workflow "
                      "again to rebuild it")


def decode_utf8(raw: bytes, name: str, error: type[InputError] = InputError) -> str:
    """UTF-8 text (a BOM is dropped); a bad byte is reported with its line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise error(f"{name}, line {line}: not UTF-8 (byte {raw[err.start]:#04x}); "
                    "save the file as UTF-8") from err


def read_json(path: str | Path):
    """A JSON file; a damaged one is one InputError naming it, not a traceback three steps on."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise _damaged(path, err, "a JSON file") from err


class Arrays(dict):
    """The arrays of an .npz file; asking for one it lacks names the file and what it has."""

    def __init__(self, path, arrays: dict):
        super().__init__(arrays)
        self.path = path

    def __missing__(self, key):
        raise InputError(f"{self.path} has no array {key!r} (it has {', '.join(self) or 'none'}): it "
                         "was written by another program or version; delete it and run the workflow again")


def read_npz(path: str | Path) -> Arrays:
    """Every array of an .npz file, read now (a truncated member fails here, naming the file,
    not midway through training) and without pickles."""
    import zipfile
    import zlib

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as f:
            return Arrays(path, {name: f[name] for name in f.files})
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise _damaged(path, err, "an .npz file of arrays") from err


def read_state(path: str | Path) -> dict:
    """A state dict saved with torch.save, loaded without unpickling code (weights_only)."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch.load raises many types for a file that is not a checkpoint
        raise _damaged(path, err, "a model file this workflow saved") from err
    if not isinstance(state, dict):
        raise _damaged(path, TypeError(f"it holds a {type(state).__name__}, not a state dict"),
                       "a model file this workflow saved")
    return state


def read_model(path: str | Path, build: Callable[[dict], T], what: str) -> T:
    """``build(state)`` for the state dict in ``path``; weights of another model (other keys,
    shapes or settings) are one InputError saying the file does not hold ``what``."""
    state = read_state(path)
    try:
        return build(state)
    except (KeyError, AttributeError, TypeError, ValueError, RuntimeError) as err:
        raise InputError(f"{path} does not hold {what} ({_why(err)})") from err
