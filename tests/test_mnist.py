"""Section 2: data integrity, safe unpickling, the adapted VGG11 and a training step."""

import dataclasses
import gzip
import io
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from assignment5 import paths, training
from assignment5.mnist import data as mnist_data
from assignment5.mnist.model import VGG11, layer_table
from assignment5.mnist import train as mnist_train
from assignment5.mnist.train import load_split, make_optimizer, train_epoch
from conftest import step_settings

pytestmark = pytest.mark.unit  # make check: the fast tier

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """The real data set from the PyPI wheel (checksummed); reuses a workflow's copy if present."""
    for budget in ("default", "smoke", "full"):
        if os.path.exists(paths.for_budget(budget).mnist_npz):
            return dict(np.load(paths.for_budget(budget).mnist_npz))
    wheel = mnist_data.download_wheel(tmp_path_factory.mktemp("wheel"))
    return mnist_data.read_wheel(wheel)


def test_real_mnist_counts(mnist):
    assert mnist["train_x"].shape == (60000, 28, 28) and mnist["train_x"].dtype == np.uint8
    assert mnist["test_x"].shape == (10000, 28, 28)
    assert np.bincount(mnist["train_y"]).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist["test_y"]).tolist() == TEST_COUNTS


def test_checksum_mismatch_names_file_and_expected():
    with pytest.raises(mnist_data.DataError, match="wheel x.whl: expected sha256 abc"):
        mnist_data.check_sha256(b"data", "abc", "wheel x.whl")


def test_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        mnist_data.NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2]))
    loaded = mnist_data.NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(arrays))).load()
    assert np.array_equal(loaded[0], arrays[0])


def write_idx(path, array: np.ndarray, compress=False):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def test_idx_reader(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (5, 28, 28))
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(5))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x[:2])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(2))
    arrays = mnist_data.read_idx(tmp_path)
    assert np.array_equal(arrays["train_x"], x) and arrays["test_y"].tolist() == [0, 1]
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(mnist_data.DataError, match="t10k-labels-idx1-ubyte"):
        mnist_data.read_idx(tmp_path)


def test_architecture_table_matches_model():
    model = VGG11()
    table = layer_table(model)
    assert sum(r["params"] for r in table) == sum(p.numel() for p in model.parameters())
    pools = [r["output"] for r in table if r["type"] == "MaxPool2d"]
    assert pools == [[64, 16, 16], [128, 8, 8], [256, 4, 4], [512, 2, 2], [512, 1, 1]]
    convs = [r for r in table if r["type"] == "Conv2d"]
    assert [r["output"][0] for r in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert convs[0]["detail"].startswith("1->64")
    linears = [r["detail"] for r in table if r["type"] == "Linear"]
    assert linears == ["512->4096", "4096->4096", "4096->10"]
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_the_scored_training_images_are_a_fixed_draw_or_all():
    draw = mnist_train.train_sample(1000, 100, seed=0)
    assert len(draw) == 100 == len(set(draw.tolist())) and draw.tolist() == sorted(draw.tolist())
    assert torch.equal(draw, mnist_train.train_sample(1000, 100, seed=0))  # the same every epoch and run
    assert not torch.equal(draw, mnist_train.train_sample(1000, 100, seed=1))
    assert torch.equal(mnist_train.train_sample(50, None, 0), torch.arange(50))
    assert torch.equal(mnist_train.train_sample(50, 80, 0), torch.arange(50))


def test_a_few_batches_lower_the_loss(mnist):
    torch.manual_seed(0)
    npz = {k: v[:256] for k, v in mnist.items()}
    x, y = load_split(npz, "train", 256)
    assert x.shape == (256, 1, 32, 32) and x.dtype == torch.uint8
    model = VGG11()
    s = step_settings("mnist_train", lr=0.02, weight_decay=0.0, epochs=6)
    optimizer, scheduler = make_optimizer(model, s, steps_per_epoch=4)
    g = torch.Generator().manual_seed(0)
    losses = [train_epoch(model, optimizer, scheduler, x, y, 64, "fp32", False, g)["loss"] for _ in range(6)]
    assert losses[-1] < 0.7 * losses[0], losses


def test_killed_run_resumes_from_its_checkpoint(mnist, tmp_path, kill_on_call):
    np.savez(tmp_path / "mnist.npz", **{k: v[:256] for k, v in mnist.items()})

    def run(out):
        s = step_settings("mnist_train", epochs=3, batch_size=64, lr=0.02, weight_decay=0.0,
                          precision="fp32", train_limit=256, test_limit=128)
        return mnist_train.run(s, data=str(tmp_path / "mnist.npz"), model=str(tmp_path / out / "model.pt"),
                               history=str(tmp_path / out / "history.json"), threads=1)

    reference = run("ref")
    restore = kill_on_call(mnist_train, "evaluate", 3)  # epoch 1 checkpointed; dies in epoch 2
    with pytest.raises(KeyboardInterrupt):
        run("run")
    restore()
    assert (tmp_path / "run" / "checkpoints" / "last.pt").exists()
    epochs = {"n": 0}
    real_epoch = mnist_train.train_epoch

    def counting_epoch(*args, **kwargs):
        epochs["n"] += 1
        return real_epoch(*args, **kwargs)

    mnist_train.train_epoch = counting_epoch
    try:
        resumed = run("run")
    finally:
        mnist_train.train_epoch = real_epoch
    assert epochs["n"] == 2 and resumed["resumed_from_epoch"] == 1  # epoch 1 came from the checkpoint
    assert [r["epoch"] for r in resumed["history"]] == [1, 2, 3]
    for a, b in zip(reference["history"], resumed["history"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["test_accuracy"] == b["test_accuracy"]


def test_divergence_is_the_finding_without_batchnorm_and_an_error_with_it(mnist, tmp_path, nan_loss_from_call):
    np.savez(tmp_path / "mnist.npz", **{k: v[:256] for k, v in mnist.items()})

    def run(out, batch_norm):
        s = step_settings("mnist_train", epochs=3, batch_size=64, lr=0.02, precision="fp32",
                          train_limit=256, test_limit=128, batch_norm=batch_norm)
        return mnist_train.run(s, data=str(tmp_path / "mnist.npz"), model=str(tmp_path / out / "model.pt"),
                               history=str(tmp_path / out / "history.json"), threads=1)

    calls = nan_loss_from_call(mnist_train, 5, part=1)  # 4 batches an epoch: epoch 2 diverges
    without = run("without", batch_norm=False)
    assert without["diverged_at_epoch"] == 2 and [r["epoch"] for r in without["history"]] == [1, 2]
    assert without["epochs_run"] == 2
    calls["n"] = 0
    with pytest.raises(training.Diverged, match=r"with/model.pt: the training loss became nan at epoch 2 "
                                                  r"\(precision fp32, learning rate 0.02\); lower its learning rate, then"):
        run("with", batch_norm=True)
    assert torch.load(paths.checkpoint_of(str(tmp_path / "with" / "model.pt")), weights_only=True)["position"]["epoch"] == 1


def test_the_batchnorm_check_chooses_each_rate_on_validation_images_never_on_test(mnist, tmp_path):
    """Each check run is scored on training images it never trained on; the choice reads those
    alone (a higher test accuracy does not win; a diverged run never does; ties: the smaller rate)."""
    from assignment5 import settings
    from assignment5.errors import InputError
    from assignment5.io import read_json, write_json
    from assignment5.mnist import batchnorm

    np.savez(tmp_path / "mnist.npz", **{k: v[:300] for k, v in mnist.items()})
    s = step_settings("mnist_check", "with-batchnorm-lr0.05", train_limit=128, validation_images=64, test_limit=64,
                      train_eval_sample=64, precision="fp32")
    h = mnist_train.run(s, data=str(tmp_path / "mnist.npz"), model=str(tmp_path / "m.pt"),
                        history=str(tmp_path / "h.json"), threads=1)
    assert h["settings"]["validation_images"] == 64 and 0 <= h["final"]["validation_accuracy"] <= 1
    with pytest.raises(InputError, match="mnist.batchnorm_check.validation_images: 200 images after the first 128"):
        mnist_train.run(dataclasses.replace(s, validation_images=200), data=str(tmp_path / "mnist.npz"),
                        model=str(tmp_path / "x.pt"), history=str(tmp_path / "x.json"), threads=1)

    def history(validation, test, diverged=None):
        final = {"validation_accuracy": validation, "test_accuracy": test, "running_train_loss": 1.0}
        return {"settings": {"epochs": 1, "train_images": 128, "validation_images": 64, "test_images": 1000,
                             "batch_size": 64}, "final": final, "diverged_at_epoch": diverged}

    scores = {("with-batchnorm", 0.1): (0.9, 0.5), ("with-batchnorm", 0.2): (0.8, 0.99),
              ("with-batchnorm", 0.4): (0.95, 0.9, 1), ("without-batchnorm", 0.1): (0.3, 0.3),
              ("without-batchnorm", 0.2): (0.3, 0.4), ("without-batchnorm", 0.4): (0.2, 0.2)}
    runs, files = [], []
    for (variant, lr), score in scores.items():
        files.append(str(tmp_path / f"{variant}-{lr}.json"))
        write_json(files[-1], history(*score))
        runs.append([variant, lr, f"{variant}-lr{lr}"])
    out = batchnorm.run(settings.MnistBatchnorm(runs=runs, confidence=0.95), histories=files,
                        output=str(tmp_path / "batchnorm.json"))
    assert out == read_json(tmp_path / "batchnorm.json")
    with_bn, without = out["chosen"]["with-batchnorm"], out["chosen"]["without-batchnorm"]
    assert (with_bn["lr"], with_bn["test_accuracy"], with_bn["bracketed"]) == (0.1, 0.5, False)
    assert (without["lr"], without["bracketed"]) == (0.1, False)
    assert with_bn["interval"][0] < 0.5 < with_bn["interval"][1]
    assert out["difference"]["value"] == pytest.approx(0.2)
