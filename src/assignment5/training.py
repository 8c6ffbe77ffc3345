"""Pieces every training entry point shares: threads, precision, seeds, resumable checkpoints."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from assignment5.errors import InputError
from assignment5.io import _why, write_model


def usable_threads(requested: int) -> int:
    """The job's threads, never more than the CPUs this process may run on (more only thrash)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    if requested > cpus:
        print(f"[threads] {requested} threads asked for, but this machine lets the job use {cpus} "
              f"CPUs; using {cpus}", flush=True)
    return max(1, min(requested, cpus))


def held_out(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) indices, each sorted: a fixed random share of n items set aside, so
    settings are chosen without looking at the test split (and redrawn identically later)."""
    order = np.random.default_rng(seed).permutation(n)
    held = max(1, round(n * fraction))
    return np.sort(order[held:]), np.sort(order[:held])


def setup_torch(threads: int, seed: int) -> None:
    torch.set_num_threads(usable_threads(threads))
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def bf16_supported() -> bool:
    """True where the CPU computes bf16 natively (AVX512-BF16 or AMX) and oneDNN has kernels for
    it. oneDNN alone also says yes on any AVX-512 CPU, where it emulates bf16: on an Intel Xeon
    without AVX512-BF16 a VGG11 step ran 2.3x slower in bf16 than in fp32."""
    try:
        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        return bool(native and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


CPU = torch.device("cpu")


ACCELERATORS = ("cuda", "mps", "xpu")  # the config's device values besides auto and cpu


def resolve_device(requested: str) -> torch.device:
    """auto: the accelerator PyTorch reports (CUDA, MPS or XPU), else the CPU; an accelerator
    asked for by name that PyTorch does not see is a one-line error."""
    found = torch.accelerator.current_accelerator(check_available=True)
    if requested == "auto":
        device = found or CPU
    elif requested == "cpu":
        device = CPU
    elif found is not None and found.type == requested:
        device = found
    else:
        sees = f"it sees {found.type}" if found is not None else "it sees only the CPU"
        raise InputError(f"config key device: {requested} was asked for, but PyTorch sees no "
                         f"{requested} device ({sees}; set device: auto or cpu)")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    return device


def describe_device(device: torch.device) -> str:
    if device.type in ("cuda", "xpu"):
        return f"{device.type} ({torch.get_device_module(device.type).get_device_name(device)})"
    return device.type


def resolve_precision(requested: str, device: torch.device = CPU) -> str:
    """auto: bf16 where the device computes it natively; on an accelerator without bf16, fp16
    (with a gradient scaler); fp32 on other CPUs."""
    if requested != "auto":
        return requested
    if device.type == "cpu":
        return "bf16" if bf16_supported() else "fp32"
    module = torch.get_device_module(device.type)
    has_bf16 = getattr(module, "is_bf16_supported", lambda: False)()  # MPS has no such check
    return "bf16" if has_bf16 else "fp16"


def autocast(precision: str, device: torch.device = CPU):
    """Autocast in bf16 or fp16 on the device (weights and optimiser stay fp32), or nothing."""
    if precision in ("bf16", "fp16"):
        return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return contextlib.nullcontext()


def grad_scaler(precision: str, device: torch.device = CPU):
    """fp16 needs loss scaling against underflow; bf16 and fp32 do not (then it does nothing)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


def optimise(loss, optimizer, scaler=None, clip: float | None = None) -> None:
    """zero_grad, backward, step, through the gradient scaler when one is enabled; with clip, the
    gradients' global norm is capped at that value first (on the unscaled gradients)."""
    optimizer.zero_grad(set_to_none=True)
    scaling = scaler is not None and scaler.is_enabled()
    (scaler.scale(loss) if scaling else loss).backward()
    if clip is not None:
        if scaling:
            scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], clip)
    if scaling:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()


class WeightAverage:
    """An exponential moving average of a model's weights (Polyak averaging), scored and kept in
    place of the weights themselves: it averages out the last ~1/(1 - decay) steps' noise. Until
    step 1/(1 - decay) it is the plain mean of all steps so far (step t weighs 1/t), so it never
    carries the initial weights."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.model = copy.deepcopy(model).requires_grad_(False)
        self.decay, self.steps = decay, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.steps += 1
        weight = max(1 - self.decay, 1 / self.steps)
        for mine, theirs in zip(self.model.parameters(), model.parameters()):
            mine.lerp_(theirs.detach(), weight)
        for mine, theirs in zip(self.model.buffers(), model.buffers()):
            mine.copy_(theirs)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.steps = state["steps"]


def lr_schedule(optimizer, kind: str, steps: int):
    """constant: the rate as set; cosine: from it down to 0 at step `steps` (and 0 after), so a run
    ends on small steps that average out single batches' noise instead of ending on one."""
    if kind == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive batches of ``batch_size`` covering ``n`` items, except that a last batch of one
    joins the batch before it: BatchNorm cannot normalise a single value per channel in training
    mode (the VAEs at 32 px end in 1x1 maps), and which batch sizes leave one depends on the data."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(a, b) for a, b in zip(starts, starts[1:] + [n])]


class Diverged(InputError):
    """The training loss stopped being a finite number: too large a learning rate, or a low
    precision's overflow. Settings to change, so reported in one line like bad input."""


def diverged(loss: float, run: str, at: tuple[str, int], precision: str, lr: float, *,
             precision_key: str, stop_reason: str | None = None, clip_key: str | None = None) -> bool:
    """False while ``loss`` is finite. Otherwise a message naming the run, the step (``at``: unit
    and number, formatted only then) and what to change (the config keys of the run's precision
    and, where it has one, gradient clipping): raised as Diverged, or, for a run whose divergence
    is itself a result (``stop_reason`` says why), printed, and True returned: the run stops and
    records it."""
    if math.isfinite(loss):
        return False
    cures = ["lower its learning rate"] + ([f"clip its gradients ({clip_key})"] if clip_key else []) + (
        [f"set {precision_key} to fp32"] if precision != "fp32" else [])
    message = (f"{run}: the training loss became {loss} at {at[0]} {at[1]:,} (precision {precision}, "
               f"learning rate {lr:g}); {', '.join(cures[:-1]) + ' or ' if len(cures) > 1 else ''}"
               f"{cures[-1]}, then run again")
    if stop_reason is None:
        raise Diverged(message)
    print(f"{message}; {stop_reason}", flush=True)
    return True


def file_digest(path: str | Path) -> str:
    """sha256 of a file, read in blocks (inputs are up to a few hundred MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(settings: dict, data_files=()) -> str:
    """A short hash of what a run computes from: its settings and its input data."""
    payload = json.dumps({"settings": settings, "data": [file_digest(p) for p in data_files]},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def accelerator_module():
    """torch.cuda, torch.mps or torch.xpu where such a device is present, else None."""
    found = torch.accelerator.current_accelerator(check_available=True)
    return None if found is None else torch.get_device_module(found.type)


class _GeneratorState:
    """A torch.Generator seen through the state_dict interface the other checkpointed objects share."""

    def __init__(self, generator: torch.Generator):
        self.generator = generator

    def state_dict(self) -> torch.Tensor:
        return self.generator.get_state()

    def load_state_dict(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)


class Checkpointer:
    """Saves training state atomically to ``path``; resumes only the same settings and data.

    ``stateful`` names the objects whose state a checkpoint holds (model, optimiser, schedule,
    scaler, averaged weights: anything with state_dict/load_state_dict, or a torch.Generator;
    None is skipped): save() stores theirs beside the loop's own position, and load() restores
    them and returns that position.

    The global torch RNG (dropout masks, sampling noise) is saved and restored with every state,
    so a resumed run draws the same random numbers as one that never stopped. Everything saved
    is tensors and plain Python values, so it loads with ``weights_only=True``: a planted file
    cannot run code. A checkpoint of other settings or data, or one that cannot be read, is set
    aside with a one-line message and training starts afresh. A run that finishes clears its
    checkpoint: it exists only to resume an interrupted run."""

    def __init__(self, path: str | Path, settings: dict, data_files=(), **stateful):
        self.path = Path(path)
        self.key = fingerprint(settings, data_files)
        self.stateful = {name: _GeneratorState(obj) if isinstance(obj, torch.Generator) else obj
                         for name, obj in stateful.items() if obj is not None}

    def save(self, position: dict) -> None:
        rng = {"torch_rng": torch.get_rng_state()}
        if (module := accelerator_module()) is not None:  # an accelerator draws from its own generator
            rng["accelerator_rng"] = [module.get_rng_state()]
        objects = {name: obj.state_dict() for name, obj in self.stateful.items()}
        write_model({"fingerprint": self.key, **rng, "objects": objects, "position": position}, self.path)

    def load(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or not isinstance(state.get("torch_rng"), torch.Tensor):
                raise ValueError("not a checkpoint of this workflow")
        except Exception as err:  # truncated, corrupt, or holding objects we refuse to unpickle
            return self._set_aside(err)
        if state.get("fingerprint") != self.key:
            print(f"[checkpoint] {self.path} was made with other settings or data; starting afresh",
                  flush=True)
            return None
        objects, position = state.get("objects"), state.get("position")
        if not (isinstance(objects, dict) and set(objects) == set(self.stateful) and isinstance(position, dict)):
            return self._set_aside(ValueError("not a checkpoint of this workflow"))
        try:
            for name, obj in self.stateful.items():
                obj.load_state_dict(objects[name])
        except Exception as err:  # some objects may already hold its state: starting afresh would mix runs
            raise InputError(f"{self.path}: its saved state does not fit this run ({_why(err)}); "
                             "delete it and run again") from err
        torch.set_rng_state(state["torch_rng"])
        accelerator_rng, module = state.get("accelerator_rng"), accelerator_module()
        if accelerator_rng and module is not None:
            module.set_rng_state(accelerator_rng[0])
        return position

    def _set_aside(self, err: Exception) -> None:
        aside = self.path.with_suffix(".unreadable")
        os.replace(self.path, aside)
        print(f"[checkpoint] {self.path} could not be read ({_why(err)}); moved to {aside.name}, "
              "starting afresh", flush=True)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class Progress:
    """A progress line at most every ``every`` seconds: done/total, elapsed, rate and ETA.

    Plain lines (no carriage returns), so a log file stays readable."""

    def __init__(self, tag: str, total: int, unit: str, done: int = 0, every: float = 30.0):
        self.tag, self.total, self.unit, self.every = tag, total, unit, every
        self.start_done, self.start = done, time.perf_counter()
        self.last = self.start

    def update(self, done: int, force: bool = False, extra: str = "") -> None:
        now = time.perf_counter()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.start
        rate = (done - self.start_done) / max(elapsed, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        print(f"[{self.tag}] {done:,}/{self.total:,} {self.unit} ({100 * done / max(self.total, 1):.1f}%), "
              f"{format_duration(elapsed)} elapsed, {rate:,.1f} {self.unit}/s, "
              f"ETA {format_duration(eta)}{extra}", flush=True)


def format_duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class Stopwatch:
    """Wall time that survives a resume: seconds already spent are carried in the checkpoint."""

    def __init__(self, already: float = 0.0):
        self.already = already
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.already + time.perf_counter() - self.start
