"""A one-layer LSTM for right-padded batches that returns the hidden state at each row's last step.

The recurrence runs in a small C++ extension (fused_lstm.cpp, compiled on first use with the
machine's own vector instructions) that splits the hidden units between the threads and reads
each one-hot input's projection as a row of W_ih^T + biases. The recurrent weight's gradient is
one large ATen product over all steps. Same function as nn.LSTM; the tests compare values and
gradients with it.

Precision "bf16" multiplies bf16 operands with fp32 sums, as bf16 autocast does; cell state,
gates, biases and the input projection stay fp32. It needs AVX512-BF16 (see `bf16_supported`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import torch

from assignment5.io import write_json

SOURCE = Path(__file__).with_name("fused_lstm.cpp")


def cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line for line in f if line.startswith("flags")), platform.processor())
    except OSError:
        return platform.machine() + platform.processor()


def build_key() -> str:
    """Hash of the source, the CPU's feature flags and torch's version. The kernel is built with
    -march=native, so a build cached in a home folder shared by different machines (a cluster)
    must not be reused across CPUs; and keyed on the source's content, not its path, one build
    serves every checkout of the same code on a machine."""
    payload = SOURCE.read_bytes() + cpu_flags().encode() + torch.__version__.encode()
    return hashlib.sha256(payload).hexdigest()[:12]


def extensions_root() -> Path:
    return Path(os.environ.get("TORCH_EXTENSIONS_DIR", Path.home() / ".cache" / "torch_extensions"))


def choice_cache_path() -> Path:
    """Where `kernel: auto` keeps its measurements (one JSON file beside the builds)."""
    return extensions_root() / "assignment5_kernel_choice.json"


def choice_key(precision: str, threads: int, hidden: int) -> str:
    """A measurement holds for this kernel build (source, CPU flags, torch), precision, threads
    and model size."""
    return f"{build_key()}|{precision}|threads={threads}|hidden={hidden}"


def cached_choice(key: str) -> dict | None:
    try:
        return json.loads(choice_cache_path().read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def store_choice(key: str, record: dict) -> None:
    """Add one measurement to the cache (written whole, atomically; a broken file is replaced)."""
    path = choice_cache_path()
    try:
        records = json.loads(path.read_text())
        records = records if isinstance(records, dict) else {}
    except (OSError, ValueError):
        records = {}
    records[key] = record
    write_json(path, records)


def staged_source(key: str) -> Path:
    """A copy of the source in the build's own folder: ninja records the source's absolute path,
    so building from this copy makes the build independent of where the checkout is."""
    folder = extensions_root() / f"assignment5_fused_lstm_{key}"
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / SOURCE.name
    if not staged.exists() or staged.read_bytes() != SOURCE.read_bytes():
        tmp = staged.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(SOURCE.read_bytes())
        os.replace(tmp, staged)
    return staged


@functools.cache
def extension():
    """The compiled kernel, or None where it cannot be built (then nn.LSTM is used)."""
    # A CPU kernel needs no CUDA: silence the import's "No CUDA runtime is found" warning.
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    from torch.utils.cpp_extension import load

    start = time.perf_counter()
    try:
        # -fopenmp: the kernel's threads are PyTorch's own OpenMP threads (same libgomp).
        key = build_key()
        source = staged_source(key)
        module = load(name=f"assignment5_fused_lstm_{key}", sources=[str(source)],
                      build_directory=str(source.parent),
                      extra_cflags=["-O3", "-march=native", "-fopenmp"], extra_ldflags=["-fopenmp"])
    except Exception as error:  # no compiler, no ninja, unsupported platform
        warnings.warn(f"fused LSTM kernel unavailable ({error.__class__.__name__}: {error}); "
                      "falling back to nn.LSTM", RuntimeWarning, stacklevel=2)
        return None
    if (seconds := time.perf_counter() - start) > 5:
        print(f"[fused_lstm] compiled the C++ LSTM kernel in {seconds:.0f} s (cached for next time)",
              file=sys.stderr)
    return module


def available() -> bool:
    return extension() is not None


def bf16_supported() -> bool:
    return available() and bool(extension().has_bf16)


def usable(precision: str, hidden: int) -> bool:
    """Whether the kernel can run at this precision and hidden size here (bf16 needs AVX512-BF16;
    the AVX-512 build needs a hidden size that is a multiple of its 16 lanes)."""
    runs = bf16_supported() if precision == "bf16" else available()
    return runs and hidden % extension().lanes == 0


class _LastStateLSTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, table, w_hh, codes, lengths, threads, use_bf16):
        last, h_all, c_all, gates = extension().forward(table, codes, w_hh, lengths, True, threads, use_bf16)
        ctx.save_for_backward(table, w_hh, codes, lengths, h_all, c_all, gates)
        ctx.threads, ctx.use_bf16 = threads, use_bf16
        return last

    @staticmethod
    def backward(ctx, d_last):
        table, w_hh, codes, lengths, h_all, c_all, gates = ctx.saved_tensors
        d_table, d_gates = extension().backward(d_last.float(), table, codes, w_hh, lengths, c_all, gates,
                                                ctx.threads, ctx.use_bf16)
        T, B, G = d_gates.shape
        d_w_hh = (d_gates.view(T * B, G).t() @ h_all[:-1].reshape(T * B, -1)).float()
        return d_table, d_w_hh, None, None, None, None


def last_hidden_state(lstm: torch.nn.LSTM, codes: torch.Tensor, lengths: torch.Tensor,
                      precision: str = "fp32", threads: int | None = None) -> torch.Tensor:
    """Hidden state of `lstm` (one layer, batch_first) after each tweet's last character.

    codes (B, T) int with values < lstm.input_size, right-padded; lengths (B,), each in 1..T.
    The one-hot input is never built: one-hot(c) @ W_ih^T is row c of W_ih^T, read by the kernel.
    """
    threads = torch.get_num_threads() if threads is None else threads
    use_bf16 = precision == "bf16"
    table = (lstm.weight_ih_l0.t() + (lstm.bias_ih_l0 + lstm.bias_hh_l0)).float().contiguous()
    w_hh = lstm.weight_hh_l0.float().contiguous()
    codes, lengths = codes.t().long().contiguous(), lengths.long().contiguous()
    if torch.is_grad_enabled() and any(p.requires_grad for p in lstm.parameters()):
        return _LastStateLSTM.apply(table, w_hh, codes, lengths, threads, use_bf16)
    return extension().forward(table, codes, w_hh, lengths, False, threads, use_bf16)[0]
