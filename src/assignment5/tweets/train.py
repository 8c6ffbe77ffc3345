"""Train the character LSTM for a number of iterations, evaluating every eval_every."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
import torch.nn.functional as F

from assignment5 import paths, settings
from assignment5.io import read_npz, write_json, write_model
from assignment5.errors import InputError
from assignment5.training import (CPU, Checkpointer, Progress, Stopwatch, autocast, describe_device, diverged,
                                  grad_scaler, lr_schedule, optimise, WeightAverage, resolve_device, resolve_precision,
                                  setup_torch)
from assignment5.tweets.data import VOCAB
from assignment5.tweets import fused_lstm
from assignment5.timing import compare
from assignment5.tweets.model import Tweets, TweetLSTM, resolve_kernel


@torch.no_grad()
def evaluate(model, data: Tweets, subset=None, batch_size: int = 512, precision: str = "fp32",
             device: torch.device = CPU) -> dict:
    model.eval()
    correct, loss_sum, n, probs = 0, 0.0, 0, {}
    for index in data.sorted_batches(batch_size, subset):
        codes, lengths, labels = data.batch(index, device)
        with autocast(precision, device):
            logp = model(codes, lengths).float()
        loss_sum += F.nll_loss(logp, labels, reduction="sum").item()
        correct += (logp.argmax(1) == labels).sum().item()
        n += len(index)
        probs.update(zip(index.tolist(), logp[:, 1].exp().tolist()))
    model.train()
    return {"accuracy": correct / n, "loss": loss_sum / n, "positive_probability": probs}


def train_step(model, optimizer, codes, lengths, labels, precision: str, scaler=None,
               clip: float | None = None) -> float:
    """One optimiser step on one batch; returns the batch's NLL loss."""
    with autocast(precision, codes.device):
        log_probs = model(codes, lengths)
    loss = F.nll_loss(log_probs.float(), labels)
    optimise(loss, optimizer, scaler, clip)
    return loss.item()


def batch_stream(data: Tweets, batch_size: int, pool: int, seed: int, epoch: int, skip: int):
    """Endless bucketed batches; (epoch, position) is enough to resume exactly."""
    while True:
        batches = data.bucketed_batches(batch_size, np.random.default_rng([seed, epoch]), pool)
        for position in range(skip, len(batches)):
            yield epoch, position, batches[position]
        epoch, skip = epoch + 1, 0


def make_optimizer(model, s: settings.TweetsTrain):
    if s.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=s.lr, momentum=s.sgd_momentum)
    # fused: one kernel for all parameters instead of a dozen small ops per step (same update rule)
    if s.weight_decay > 0:
        return torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay, fused=True)
    return torch.optim.Adam(model.parameters(), lr=s.lr, fused=True)


def choose_kernel(s: settings.TweetsTrain, train: Tweets, precision: str, device: torch.device) -> dict:
    """Which LSTM implementation trains, and why. With `kernel: auto` on a CPU: the faster of the
    C++ kernel and nn.LSTM, timed on real batches of this data at start-up (a few seconds), and
    cached per kernel build, CPU, precision, threads and model size. Which one wins depends on
    the CPU: the kernel's bf16 dot products beat oneDNN where there is AVX512-BF16 and no AMX,
    while on an AVX2-only CPU nn.LSTM was faster in fp32 (bench/bench_tweets.py)."""
    if s.kernel != "auto" or device.type != "cpu":
        return {"kernel": resolve_kernel(s.kernel, precision, device, s.hidden_size),
                "how": "as configured" if s.kernel != "auto" else "nn.LSTM (cuDNN) on a GPU"}
    if not fused_lstm.usable(precision, s.hidden_size):
        return {"kernel": "pytorch",
                "how": f"the C++ kernel is not available in {precision} at hidden size {s.hidden_size} here"}
    key = fused_lstm.choice_key(precision, torch.get_num_threads(), s.hidden_size)
    if (cached := fused_lstm.cached_choice(key)) is not None:
        return cached | {"how": "measured earlier on this machine"}
    record = time_kernels(s, train, precision) | {"how": "measured at start-up"}
    fused_lstm.store_choice(key, {k: v for k, v in record.items() if k != "how"})
    return record


def time_kernels(s: settings.TweetsTrain, train: Tweets, precision: str, batches: int = 8,
                 rounds: int = 4) -> dict:
    """Iterations per second of both kernels on the same batches, in alternating rounds; the
    models are throwaway copies and the RNG is restored, so training itself is unchanged."""
    with torch.random.fork_rng(devices=[]):
        rng = np.random.default_rng(s.seed + 1)
        sample = [train.batch(b) for b in train.bucketed_batches(s.batch_size, rng, s.bucket_pool)[:batches]]
        nets = {k: TweetLSTM(hidden=s.hidden_size, kernel=k) for k in ("fused", "pytorch")}
        nets["pytorch"].load_state_dict(nets["fused"].state_dict())
        optimizers = {k: make_optimizer(net, s) for k, net in nets.items()}

        def epoch(kernel: str):
            return lambda: [train_step(nets[kernel], optimizers[kernel], *batch, precision) for batch in sample]

        timed = compare(epoch("fused"), epoch("pytorch"), len(sample), rounds=rounds, calls=1, warmup=1)
    fused, plain = timed["fast"], timed["baseline"]
    return {"kernel": "fused" if fused >= plain else "pytorch",
            "fused_iterations_per_second": fused, "pytorch_iterations_per_second": plain}




def run(s: settings.TweetsTrain, *, data: str, model: str, history: str, threads: int,
        dry_run: bool = False) -> dict:
    if dry_run:
        s = dataclasses.replace(s, iterations=60, eval_every=20, train_eval_sample=200,
                                checkpoint_every=20)
    setup_torch(threads, s.seed)
    keys = "tweets.tuned" if s.validation_fraction > 0 else "tweets"  # where the run's own settings are
    device = resolve_device(s.device)
    precision = resolve_precision(s.precision, device)
    if precision == "fp16" and device.type == "cpu":
        raise InputError(f"config key {keys}.precision: fp16 needs a CUDA GPU (the CPU's oneDNN has "
                         "no fp16 LSTM); use bf16, fp32 or auto")
    npz = read_npz(data)
    train, test = Tweets.from_npz(npz, "train"), Tweets.from_npz(npz, "test")
    if s.preprocess == "placeholders":
        train, test = train.with_placeholders(), test.with_placeholders()
    validation = None
    if s.validation_fraction > 0:  # trained on the rest of the training file, scored on this share
        train, validation = train.hold_out(s.validation_fraction, s.seed)
    if s.keep == "best" and validation is None:
        raise InputError("config key tweets.tuned.keep: best needs validation tweets "
                         "(tweets.tuned.validation_fraction > 0)")
    sample = np.random.default_rng(s.seed).choice(len(train), min(s.train_eval_sample, len(train)),
                                                  replace=False)
    def scored(split):  # a dry run scores the first 200 tweets only
        return np.arange(min(len(split), 200)) if dry_run else None
    choice = choose_kernel(s, train, precision, device)
    print(f"[tweets] LSTM kernel: {choice['kernel']} ({choice['how']}"
          + (f": C++ kernel {choice['fused_iterations_per_second']:.1f} it/s, nn.LSTM "
             f"{choice['pytorch_iterations_per_second']:.1f} it/s" if "fused_iterations_per_second" in choice
             else "") + ")", flush=True)
    net = TweetLSTM(hidden=s.hidden_size, kernel=choice["kernel"], dropout=s.dropout,
                    placeholders=s.preprocess == "placeholders").to(device)
    kernel = net.kernel_in_use(precision, device)
    average = WeightAverage(net, s.ema_decay) if s.ema_decay is not None else None
    scored_net = average.model if average else net  # what evaluations score and the run keeps
    optimizer = make_optimizer(net, s)
    schedule = lr_schedule(optimizer, s.schedule, s.iterations)
    scaler = grad_scaler(precision, device)
    checkpoints = Checkpointer(paths.checkpoint_of(str(model)),
                               s.as_dict() | {"precision": precision, "kernel": kernel,
                                              "dry_run": dry_run}, [data],
                               model=net, optimizer=optimizer, schedule=schedule, scaler=scaler, average=average)
    rows, it, epoch, position, spent, step_seconds = [], 0, 0, 0, 0.0, 0.0
    best = None  # keep: best: {"row": index into rows, "model": weights}
    if (state := checkpoints.load()) is not None:
        rows, it, epoch, position, spent, step_seconds, best = (
            state[k] for k in ("history", "iteration", "epoch", "position", "seconds", "step_seconds", "best"))
        print(f"[tweets] resuming at iteration {it:,} from {checkpoints.path}")
    resumed_from = it
    clock = Stopwatch(spent)
    progress = Progress("tweets", s.iterations, "iterations", done=it)
    window_loss, window_n = 0.0, 0
    stream = batch_stream(train, s.batch_size, s.bucket_pool, s.seed, epoch, position)
    diverged_at = None
    net.train()
    while it < s.iterations:
        t0 = time.perf_counter()
        epoch, position, index = next(stream)
        loss = train_step(net, optimizer, *train.batch(index, device), precision, scaler, s.grad_clip)
        schedule.step()
        if average:
            average.update(net)
        it += 1
        step_seconds += time.perf_counter() - t0
        window_loss, window_n = window_loss + loss, window_n + 1
        progress.update(it)
        evaluating = it % s.eval_every == 0 or it == s.iterations
        tr = evaluate(scored_net, train, sample, precision=precision, device=device) if evaluating else None
        # a non-finite step loss, or weights a step made non-finite (seen by the evaluation)
        if diverged(loss if tr is None else loss + tr["loss"], str(model), ("iteration", it), precision,
                    s.lr, stop_reason="stopping here with the best weights so far (keep: best)" if best else None,
                    clip_key=f"{keys}.grad_clip", precision_key=f"{keys}.precision"):
            diverged_at = it
            break
        if evaluating:
            te = evaluate(scored_net, test, scored(test), precision=precision, device=device)
            rows.append({"iteration": it, "train_accuracy": tr["accuracy"], "train_loss": tr["loss"],
                         "test_accuracy": te["accuracy"], "test_loss": te["loss"],
                         "running_loss": window_loss / window_n, "seconds": clock.seconds})
            if validation is not None:
                va = evaluate(scored_net, validation, scored(validation), precision=precision, device=device)
                rows[-1] |= {"validation_accuracy": va["accuracy"], "validation_loss": va["loss"]}
                best_so_far = rows[best["row"]]["validation_accuracy"] if best else -1.0
                if s.keep == "best" and va["accuracy"] > best_so_far:
                    best = {"row": len(rows) - 1,
                            "model": {k: v.detach().clone() for k, v in scored_net.state_dict().items()}}
            window_loss, window_n = 0.0, 0
            print(f"[tweets] it {it:,}: train acc {tr['accuracy']:.4f} "
                  + (f"validation acc {rows[-1]['validation_accuracy']:.4f} " if validation is not None else "")
                  + f"test acc {te['accuracy']:.4f} loss {rows[-1]['running_loss']:.4f} ({clock.seconds:.0f}s)",
                  flush=True)
        if it % s.checkpoint_every == 0 and it < s.iterations:
            checkpoints.save({"history": rows, "iteration": it, "epoch": epoch, "position": position + 1,
                              "seconds": clock.seconds, "step_seconds": step_seconds, "best": best})

    write_model(best["model"] if best else scored_net.state_dict(), model)
    kept = rows[best["row"]] if best else rows[-1]
    summary = {
        "settings": s.as_dict() | {"precision": precision, "kernel": kernel, "vocabulary": VOCAB,
                                   "device_used": describe_device(device),
                                   "train_eval": len(sample), "train_tweets": len(train),
                                   "test_tweets": len(test), "dry_run": dry_run,
                                   "validation_tweets": len(validation) if validation is not None else 0},
        "kernel_choice": choice,
        "threads": torch.get_num_threads(), "wall_seconds": clock.seconds,
        "iterations_per_second": it / max(step_seconds, 1e-9),
        "step_seconds": step_seconds, "resumed_from_iteration": resumed_from,
        "iterations_run": it - resumed_from, "diverged_at_iteration": diverged_at,
        "history": rows, "final": kept, "last": rows[-1], "kept_iteration": kept["iteration"],
    }
    write_json(history, summary)
    checkpoints.clear()  # finished: a forced rerun starts afresh instead of resuming
    return summary
