import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def config():
    with open(ROOT / "config" / "config.yaml") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder holding tweets/ and galaxy-zoo/ (make test DATA=... sets ASSIGNMENT5_DATA)."""
    folder = Path(os.environ.get("ASSIGNMENT5_DATA", ROOT / "data" / "external")).resolve()
    if not (folder / "tweets").is_dir() or not (folder / "galaxy-zoo").is_dir():
        pytest.skip(f"datasets not found in {folder}: run `make test DATA=<folder>`")
    return folder


@pytest.fixture
def nan_loss_from_call(monkeypatch):
    """nan_loss_from_call(module, n, part): from its n-th call on, module.train_step returns a
    NaN loss (the result itself, or its element ``part``), as when a run diverges."""

    def install(module, n: int, part: int | None = None):
        real, calls = module.train_step, {"n": 0}

        def diverging(*args, **kwargs):
            calls["n"] += 1
            result = real(*args, **kwargs)
            if calls["n"] < n:
                return result
            if part is None:
                return float("nan")
            return tuple(r * float("nan") if i == part else r for i, r in enumerate(result))

        monkeypatch.setattr(module, "train_step", diverging)
        return calls

    return install


@pytest.fixture
def kill_on_call(monkeypatch):
    """kill_on_call(module, name, n): module.<name> raises KeyboardInterrupt on its n-th call,
    as if the job were killed there; returns a function that restores the original."""

    def install(module, name: str, n: int):
        real, calls = getattr(module, name), {"n": 0}

        def dying(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, dying)
        return lambda: monkeypatch.setattr(module, name, real)

    return install


def step_settings(step: str, run: str | None = None, **overrides):
    """A step's typed settings from config/config.yaml, with some values replaced."""
    import dataclasses

    from assignment5 import settings

    return dataclasses.replace(settings.defaults(step, run), **overrides)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, shared_data):
    """The whole workflow, smoke budget, in a copy of the project: (folder, config args, PDF text)."""
    import shutil
    import subprocess

    from workflow_copy import copy_workflow, snakemake

    if shutil.which("pdftotext") is None or shutil.which("latexmk") is None:
        pytest.fail("TeX Live and poppler-utils are missing: run scripts/setup.sh")
    folder = copy_workflow(tmp_path_factory.mktemp("workflow"))
    config = ["--configfile", "config/smoke.yaml", "--config", f"data_dir={shared_data}"]
    result = snakemake(folder, *config)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    text = subprocess.run(["pdftotext", "-layout", str(folder / "report" / "assignment5-smoke.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    return folder, config, text


@pytest.fixture(autouse=True)
def kernel_choice_cache(tmp_path_factory, monkeypatch):
    """Tests measure `kernel: auto` into a cache of their own, never the user's."""
    from assignment5.tweets import fused_lstm

    path = tmp_path_factory.getbasetemp() / "kernel_choice.json"
    monkeypatch.setattr(fused_lstm, "choice_cache_path", lambda: path)
    return path
