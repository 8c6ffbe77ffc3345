"""Train VGG11 on MNIST (32 x 32), recording per-epoch train/test loss and accuracy."""

from __future__ import annotations

import dataclasses
import time

import torch
import torch.nn.functional as F

from assignment5 import paths, settings
from assignment5.errors import InputError
from assignment5.io import read_npz, write_json, write_model
from assignment5.mnist.model import INPUT_SIZE, VGG11
from assignment5.training import (Checkpointer, Progress, Stopwatch, autocast, batch_slices, describe_device,
                                  diverged, grad_scaler, optimise, resolve_device, resolve_precision, setup_torch)

MEAN, STD = 0.1307, 0.3081  # MNIST pixel statistics


def load_split(npz, split: str, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize 28 -> 32 once (bilinear) and keep uint8 in memory; normalise per batch."""
    x = torch.from_numpy(npz[f"{split}_x"][:limit]).unsqueeze(1).float()
    x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    x = x.round().clamp(0, 255).to(torch.uint8)
    return x, torch.from_numpy(npz[f"{split}_y"][:limit])


def to_input(x_uint8: torch.Tensor, channels_last: bool) -> torch.Tensor:
    x = (x_uint8.float() / 255.0 - MEAN) / STD
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def train_sample(n: int, size: int | None, seed: int) -> torch.Tensor:
    """Indices of the training images scored after each epoch: all, or a fixed random draw of
    ``size`` (sorted). A pass over all 60,000 took 22 % as long as an epoch's training (fp32,
    2-core CPU): a sample of 10,000 estimates the training figures to about 0.1 point."""
    if size is None or size >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1))[:size].sort().values


def train_step(model, optimizer, inputs, targets, precision: str, scaler=None):
    """One optimiser step; returns the (float32) logits and the loss tensor."""
    with autocast(precision, inputs.device):
        logits = model(inputs)
    loss = F.cross_entropy(logits.float(), targets)
    optimise(loss, optimizer, scaler)
    return logits, loss


def train_epoch(model, optimizer, scheduler, x, y, batch_size, precision, channels_last, generator,
                max_batches=None, progress: Progress | None = None, done: int = 0, scaler=None) -> dict:
    """One pass in train mode; returns the running (batch-averaged) loss and accuracy.
    x and y live on the training device; the order is drawn on the CPU (same on every device)."""
    model.train()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    loss_sum, correct, seen = 0.0, 0, 0
    for b, batch in enumerate(batch_slices(len(x), batch_size)):
        if max_batches is not None and b >= max_batches:
            break
        idx = order[batch]
        targets = y[idx]
        logits, loss = train_step(model, optimizer, to_input(x[idx], channels_last), targets, precision,
                                  scaler)
        scheduler.step()
        loss_sum += loss.item() * len(idx)
        correct += (logits.argmax(1) == targets).sum().item()
        seen += len(idx)
        if progress:
            progress.update(done + b + 1)
    return {"loss": loss_sum / seen, "accuracy": correct / seen, "images": seen}


@torch.no_grad()
def evaluate(model, x, y, precision, channels_last, batch_size=1000) -> dict:
    """A full pass in eval mode (no dropout, BatchNorm running statistics)."""
    model.eval()
    loss_sum, correct, predictions = 0.0, 0, []
    for start in range(0, len(x), batch_size):
        inputs, targets = to_input(x[start: start + batch_size], channels_last), y[start: start + batch_size]
        with autocast(precision, inputs.device):
            logits = model(inputs).float()
        loss_sum += F.cross_entropy(logits, targets, reduction="sum").item()
        pred = logits.argmax(1)
        correct += (pred == targets).sum().item()
        predictions.append(pred)
    return {"loss": loss_sum / len(x), "accuracy": correct / len(x),
            "predictions": torch.cat(predictions).cpu()}


def make_optimizer(model, s: settings.MnistTrain, steps_per_epoch: int):
    optimizer = torch.optim.SGD(model.parameters(), lr=s.lr, momentum=s.momentum,
                                weight_decay=s.weight_decay, nesterov=s.nesterov)
    # One-cycle: warm up, then anneal to ~0 so the last epoch drives the training loss down.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=s.lr, epochs=s.epochs, steps_per_epoch=steps_per_epoch, **s.one_cycle)
    return optimizer, scheduler




def run(s: settings.MnistTrain, *, data: str, model: str, history: str, threads: int,
        dry_run: bool = False) -> dict:
    if dry_run:
        s = dataclasses.replace(s, epochs=1, train_limit=s.train_limit or 256,
                                test_limit=s.test_limit or 256)
    setup_torch(threads, s.seed)
    device = resolve_device(s.device)
    precision = resolve_precision(s.precision, device)
    npz = read_npz(data)
    # resident on the device: uint8 images are small (60,000 x 32 x 32 bytes)
    # with validation_images, the training images after the first train_limit (never trained on)
    wanted = (s.train_limit or 0) + s.validation_images if s.validation_images else s.train_limit
    x, y = load_split(npz, "train", wanted)
    if s.validation_images and (s.train_limit is None or len(x) < s.train_limit + s.validation_images):
        raise InputError(f"config key mnist.batchnorm_check.validation_images: {s.validation_images:,} "
                         f"images after the first {s.train_limit or len(x):,} need more than the "
                         f"{len(x):,} training images {data} holds")
    train_x, train_y = x[:s.train_limit].to(device), y[:s.train_limit].to(device)
    validation = (x[s.train_limit:].to(device), y[s.train_limit:].to(device)) if s.validation_images else None
    test_x, test_y = (t.to(device) for t in load_split(npz, "test", s.test_limit))
    scored = train_sample(len(train_x), s.train_eval_sample, s.seed).to(device)
    train_x_scored, train_y_scored = train_x[scored], train_y[scored]

    net = VGG11(batch_norm=s.batch_norm).to(device)
    if s.channels_last:
        net = net.to(memory_format=torch.channels_last)
    steps = len(batch_slices(len(train_x), s.batch_size))
    optimizer, scheduler = make_optimizer(net, s, steps)
    scaler = grad_scaler(precision, device)
    generator = torch.Generator().manual_seed(s.seed)
    checkpoints = Checkpointer(paths.checkpoint_of(str(model)), s.as_dict() | {"dry_run": dry_run}, [data],
                               model=net, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                               generator=generator)
    rows, start_epoch, spent = [], 0, 0.0
    if (state := checkpoints.load()) is not None:
        rows, start_epoch, spent = state["history"], state["epoch"], state["seconds"]
        print(f"[mnist] resuming after epoch {start_epoch} from {checkpoints.path}")
    clock = Stopwatch(spent)
    batches = 3 if dry_run else steps
    progress = Progress("mnist", s.epochs * batches, "batches", done=start_epoch * batches)
    diverged_at = None
    for epoch in range(start_epoch, s.epochs):
        t0 = time.perf_counter()
        running = train_epoch(net, optimizer, scheduler, train_x, train_y, s.batch_size,
                              precision, s.channels_last, generator,
                              max_batches=3 if dry_run else None, progress=progress,
                              done=epoch * batches, scaler=scaler)
        train_seconds = time.perf_counter() - t0
        train_eval = evaluate(net, train_x_scored, train_y_scored, precision, s.channels_last)
        test_eval = evaluate(net, test_x, test_y, precision, s.channels_last)
        row = {"epoch": epoch + 1, "train_loss": train_eval["loss"], "train_accuracy": train_eval["accuracy"],
               "running_train_loss": running["loss"], "running_train_accuracy": running["accuracy"],
               "test_loss": test_eval["loss"], "test_accuracy": test_eval["accuracy"],
               "train_seconds": train_seconds, "images_per_second": running["images"] / train_seconds}
        if validation:
            scores = evaluate(net, *validation, precision, s.channels_last)
            row |= {"validation_loss": scores["loss"], "validation_accuracy": scores["accuracy"]}
        rows.append(row)
        # a check run records it (a diverged rate is never chosen; without BatchNorm it is the finding)
        recorded = "recorded (the BatchNorm check never chooses a diverged rate)"
        if diverged(row["running_train_loss"] + row["train_loss"], str(model), ("epoch", epoch + 1), precision,
                    s.lr, stop_reason=None if s.batch_norm and not validation else recorded,
                    precision_key="mnist.precision"):
            diverged_at = epoch + 1
            break
        print(f"[mnist] epoch {epoch + 1}/{s.epochs}: train loss {row['train_loss']:.4f} "
              f"acc {row['train_accuracy']:.4f} | test loss {row['test_loss']:.4f} "
              f"acc {row['test_accuracy']:.4f} | {row['images_per_second']:.0f} img/s", flush=True)
        checkpoints.save({"history": rows, "epoch": epoch + 1, "seconds": clock.seconds})

    write_model(net.state_dict(), model)
    images = sum(r["train_seconds"] * r["images_per_second"] for r in rows)
    summary = {
        "settings": s.as_dict() | {"precision": precision, "device_used": describe_device(device),
                                   "train_images": len(train_x), "train_eval_images": len(scored),
                                   "validation_images": len(validation[0]) if validation else 0,
                                   "test_images": len(test_x), "dry_run": dry_run},
        "threads": torch.get_num_threads(), "wall_seconds": clock.seconds,
        "images_per_second": images / max(sum(r["train_seconds"] for r in rows), 1e-9),
        "epochs_run": rows[-1]["epoch"] - start_epoch,  # fewer than asked when the run diverged
        "resumed_from_epoch": start_epoch, "diverged_at_epoch": diverged_at,
        "history": rows, "final": rows[-1],
    }
    write_json(history, summary)
    checkpoints.clear()  # finished: a forced rerun starts afresh instead of resuming
    return summary
