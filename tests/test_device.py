"""The device setting: the CUDA branches that a CPU can run are run here (device passed in,
fp16 with a gradient scaler, checkpoints across devices); the rest is checked by `make gpu-check`."""

import numpy as np
import pytest
import torch

from assignment5 import training
from assignment5.errors import InputError
from assignment5.galaxy import train as gtrain
from assignment5.tweets import train as ttrain
from conftest import step_settings

pytestmark = pytest.mark.unit  # make check: the fast tier


def test_auto_is_the_cpu_without_a_gpu_and_cuda_without_one_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(InputError, match="device: cuda was asked for"):
        training.resolve_device("cuda")


@pytest.mark.parametrize("present", ["mps", "xpu", "cuda"])
def test_auto_takes_whichever_accelerator_pytorch_reports_and_others_are_one_line(monkeypatch, present):
    """No machine here has one: torch.accelerator is made to report it (never run on the real
    hardware for mps and xpu; see README, GPU)."""
    monkeypatch.setattr(torch.accelerator, "current_accelerator",
                        lambda check_available=False: torch.device(present))
    assert training.resolve_device("auto") == torch.device(present)
    assert training.resolve_device(present) == torch.device(present)
    assert training.resolve_device("cpu") == training.CPU
    for other in set(training.ACCELERATORS) - {present}:
        with pytest.raises(InputError, match=f"device: {other} was asked for.*it sees {present}"):
            training.resolve_device(other)


def test_mps_autocasts_in_fp16_with_a_scaler(monkeypatch):
    assert training.resolve_precision("auto", torch.device("mps")) == "fp16"
    monkeypatch.setattr(torch.xpu, "is_bf16_supported", lambda *a, **k: True)
    assert training.resolve_precision("auto", torch.device("xpu")) == "bf16"


@pytest.mark.parametrize("bf16, expected", [(True, "bf16"), (False, "fp16")])
def test_auto_precision_on_a_gpu_is_bf16_where_supported_else_fp16(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)
    assert training.resolve_precision("auto", torch.device("cuda")) == expected
    assert gtrain.resolve_precision("auto", "mlp", torch.device("cuda")) == expected
    assert training.resolve_precision("fp32", torch.device("cuda")) == "fp32"


@pytest.mark.parametrize("avx512_bf16, amx, onednn, expected", [
    (False, False, True, "fp32"),   # AVX-512 alone: oneDNN says yes, but emulates bf16 (slow)
    (True, False, True, "bf16"), (False, True, True, "bf16"),
    (True, True, False, "fp32"),    # a PyTorch build whose oneDNN has no bf16 kernels
])
def test_auto_precision_on_a_cpu_is_bf16_only_where_the_cpu_has_it(monkeypatch, avx512_bf16, amx, onednn,
                                                                     expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn)
    assert training.resolve_precision("auto") == expected
    assert gtrain.resolve_precision("auto", "conv", training.CPU) == expected
    assert gtrain.resolve_precision("auto", "mlp", training.CPU) == "fp32"


def test_the_scaler_is_on_for_fp16_only():
    assert training.grad_scaler("fp16").is_enabled()
    assert not training.grad_scaler("bf16").is_enabled() and not training.grad_scaler("fp32").is_enabled()


@pytest.fixture()
def tiny_images(tmp_path):
    rng = np.random.default_rng(0)
    n, size = 32, 32
    yy, xx = np.mgrid[:size, :size]
    radius = rng.uniform(3, 10, n)
    blobs = np.exp(-((yy - 16) ** 2 + (xx - 16) ** 2)[None] / (2 * radius[:, None, None] ** 2))
    path = tmp_path / "galaxy.npz"
    np.savez(path, images=(np.repeat(blobs[..., None], 3, -1) * 255).astype(np.uint8), ids=np.arange(n),
             test=np.arange(n) % 4 == 0, argmax_class=np.zeros(n, int), morphology=np.zeros(n, int))
    return path


def train_vae(npz, out, **overrides):
    s = step_settings("galaxy_train", "conv", **({"epochs": 2, "latent_dim": 4, "batch_size": 16, "lr": 1e-3,
                                                   "evaluations": 2, "free_bits": 0.0, "eval_sample": 16,
                                                   "channels_last": False, "device": "cpu"} | overrides))
    return gtrain.run(s, data=str(npz), model=str(out / "model.pt"), history=str(out / "history.json"),
                      threads=1)


def test_fp16_with_a_gradient_scaler_trains_and_resumes(tiny_images, tmp_path, kill_on_call):
    """The path a GPU without bf16 takes (fp16 autocast, loss scaling), run on the CPU."""
    summary = train_vae(tiny_images, tmp_path / "ref", precision="fp16")
    assert summary["settings"]["precision"] == "fp16" and summary["settings"]["device_used"] == "cpu"
    assert np.isfinite(summary["final"]["test"]["bce"])
    restore = kill_on_call(gtrain, "reconstruction_error", 5)  # dies after epoch 1's checkpoint
    with pytest.raises(KeyboardInterrupt):
        train_vae(tiny_images, tmp_path / "run", precision="fp16")
    restore()
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert checkpoint["objects"]["scaler"]["scale"] > 0  # the scaler's state is saved with the model's
    resumed = train_vae(tiny_images, tmp_path / "run", precision="fp16")
    assert resumed["resumed_from_epoch"] == 1
    assert resumed["final"]["test"]["bce"] == pytest.approx(summary["final"]["test"]["bce"], rel=1e-3)


def test_an_fp16_lstm_on_the_cpu_is_refused_by_name(tmp_path):
    from assignment5.tweets import data as tdata

    codes, offsets = tdata.pack(["good day", "bad day"])
    np.savez(tmp_path / "t.npz", train_codes=codes, train_offsets=offsets, train_labels=np.array([1, 0]),
             test_codes=codes, test_offsets=offsets, test_labels=np.array([1, 0]))
    s = step_settings("tweets_train", precision="fp16", device="cpu")
    with pytest.raises(InputError, match="tweets.precision: fp16 needs a CUDA GPU"):
        ttrain.run(s, data=str(tmp_path / "t.npz"), model=str(tmp_path / "m.pt"),
                   history=str(tmp_path / "h.json"), threads=1)
