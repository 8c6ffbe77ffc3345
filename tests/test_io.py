import pytest
import os
import stat

from assignment5.io import read_json, write_json

pytestmark = pytest.mark.unit  # make check: the fast tier


def test_json_files_are_readable_by_others_like_any_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a" / "out.json", {"x": 1})
    finally:
        os.umask(old)
    assert read_json(tmp_path / "a" / "out.json") == {"x": 1}
    assert stat.S_IMODE((tmp_path / "a" / "out.json").stat().st_mode) == 0o644
    assert not list((tmp_path / "a").glob("*.tmp"))


def test_progress_lines_carry_elapsed_rate_and_eta(capsys, monkeypatch):
    from assignment5 import training

    clock = iter([0.0, 10.0, 20.0, 25.0, 40.0])
    monkeypatch.setattr(training.time, "perf_counter", lambda: next(clock))
    progress = training.Progress("test", 1000, "batches", every=15)
    progress.update(100)   # 10 s: too soon
    progress.update(200)   # 20 s: prints
    progress.update(250)   # 25 s: too soon
    progress.update(400)   # 40 s: prints
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["[test] 200/1,000 batches (20.0%), 0m20s elapsed, 10.0 batches/s, ETA 1m20s",
                     "[test] 400/1,000 batches (40.0%), 0m40s elapsed, 10.0 batches/s, ETA 1m00s"]


def test_image_grid_tiles_rows_and_columns():
    import numpy as np

    from assignment5.plotting import image_grid, plt

    fig, ax = plt.subplots()
    images = np.stack([np.full((4, 4), v) for v in (0.0, 0.25, 0.5)])
    canvas = image_grid(ax, images, 2, 2)
    plt.close(fig)
    assert canvas.shape == (9, 9)
    assert canvas[0, 0] == 0.0 and canvas[0, 5] == 0.25 and canvas[5, 0] == 0.5
    assert canvas[5, 5] == 1.0 and canvas[4, 0] == 1.0  # the empty cell and the gaps are white
