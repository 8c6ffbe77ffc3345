"""Train VGG11 on MNIST (32 x 32), recording per-epoch train/test loss and accuracy.

    python -m assignment5.mnist.train --data data/mnist/mnist.npz --out-dir results/mnist
    python -m assignment5.mnist.train --data ... --out-dir /tmp/x --dry-run   # a few batches
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from assignment5 import paths
from assignment5.io import write_json
from assignment5.mnist.model import INPUT_SIZE, VGG11
from assignment5.training import Checkpointer, Stopwatch, autocast, resolve_precision, setup_torch

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


def train_step(model, optimizer, inputs, targets, precision: str):
    """One optimiser step; returns the (float32) logits and the loss tensor."""
    with autocast(precision):
        logits = model(inputs)
    loss = F.cross_entropy(logits.float(), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return logits, loss


def train_epoch(model, optimizer, scheduler, x, y, batch_size, precision, channels_last, generator,
                max_batches=None) -> dict:
    """One pass in train mode; returns the running (batch-averaged) loss and accuracy."""
    model.train()
    order = torch.randperm(len(x), generator=generator)
    loss_sum, correct, seen = 0.0, 0, 0
    for b, start in enumerate(range(0, len(x), batch_size)):
        if max_batches is not None and b >= max_batches:
            break
        idx = order[start: start + batch_size]
        targets = y[idx]
        logits, loss = train_step(model, optimizer, to_input(x[idx], channels_last), targets, precision)
        scheduler.step()
        loss_sum += loss.item() * len(idx)
        correct += (logits.argmax(1) == targets).sum().item()
        seen += len(idx)
    return {"loss": loss_sum / seen, "accuracy": correct / seen, "images": seen}


@torch.no_grad()
def evaluate(model, x, y, precision, channels_last, batch_size=1000) -> dict:
    """A full pass in eval mode (no dropout, BatchNorm running statistics)."""
    model.eval()
    loss_sum, correct, predictions = 0.0, 0, []
    for start in range(0, len(x), batch_size):
        inputs, targets = to_input(x[start: start + batch_size], channels_last), y[start: start + batch_size]
        with autocast(precision):
            logits = model(inputs).float()
        loss_sum += F.cross_entropy(logits, targets, reduction="sum").item()
        pred = logits.argmax(1)
        correct += (pred == targets).sum().item()
        predictions.append(pred)
    return {"loss": loss_sum / len(x), "accuracy": correct / len(x),
            "predictions": torch.cat(predictions)}


def make_optimizer(model, args, steps_per_epoch):
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=args.weight_decay, nesterov=True)
    # One-cycle: warm up, then anneal to ~0 so the last epoch drives the training loss down.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch,
        pct_start=0.15, div_factor=10, final_div_factor=1000)
    return optimizer, scheduler


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=paths.MNIST_NPZ)
    parser.add_argument("--out-dir", default=paths.MNIST_DIR)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--train-limit", type=int)
    parser.add_argument("--test-limit", type=int)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="3 batches, 1 epoch, small data")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.epochs, args.train_limit, args.test_limit = 1, args.train_limit or 256, args.test_limit or 256
    run(args)


def run(args) -> dict:
    setup_torch(args.threads, args.seed)
    precision = resolve_precision(args.precision)
    out = Path(args.out_dir)
    npz = np.load(args.data)
    train_x, train_y = load_split(npz, "train", args.train_limit)
    test_x, test_y = load_split(npz, "test", args.test_limit)
    settings = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "momentum", "weight_decay",
                                              "train_limit", "test_limit", "seed")} | {"precision": precision}

    model = VGG11()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    steps = -(-len(train_x) // args.batch_size)
    optimizer, scheduler = make_optimizer(model, args, steps)
    generator = torch.Generator().manual_seed(args.seed)
    checkpoints = Checkpointer(out / "checkpoints", settings)
    history, start_epoch, spent = [], 0, 0.0
    if (state := checkpoints.load()) is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        history, start_epoch, spent = state["history"], state["epoch"], state["seconds"]
        print(f"[mnist] resuming after epoch {start_epoch} from {checkpoints.path}")
    clock = Stopwatch(spent)
    for epoch in range(start_epoch, args.epochs):
        t0 = time.perf_counter()
        running = train_epoch(model, optimizer, scheduler, train_x, train_y, args.batch_size,
                              precision, args.channels_last, generator,
                              max_batches=3 if args.dry_run else None)
        train_seconds = time.perf_counter() - t0
        train_eval = evaluate(model, train_x, train_y, precision, args.channels_last)
        test_eval = evaluate(model, test_x, test_y, precision, args.channels_last)
        row = {"epoch": epoch + 1, "train_loss": train_eval["loss"], "train_accuracy": train_eval["accuracy"],
               "running_train_loss": running["loss"], "running_train_accuracy": running["accuracy"],
               "test_loss": test_eval["loss"], "test_accuracy": test_eval["accuracy"],
               "train_seconds": train_seconds, "images_per_second": running["images"] / train_seconds}
        history.append(row)
        print(f"[mnist] epoch {epoch + 1}/{args.epochs}: train loss {row['train_loss']:.4f} "
              f"acc {row['train_accuracy']:.4f} | test loss {row['test_loss']:.4f} "
              f"acc {row['test_accuracy']:.4f} | {row['images_per_second']:.0f} img/s", flush=True)
        checkpoints.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                          "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                          "history": history, "epoch": epoch + 1, "seconds": clock.seconds})

    torch.save(model.state_dict(), out / "model.pt")
    summary = {
        "settings": settings | {"optimizer": "SGD (Nesterov momentum)", "schedule": "one-cycle (cosine)",
                                "channels_last": args.channels_last, "augmentation": "none",
                                "train_images": len(train_x), "test_images": len(test_x)},
        "threads": torch.get_num_threads(), "wall_seconds": clock.seconds,
        "history": history,
        "final": history[-1],
    }
    write_json(out / "history.json", summary)
    checkpoints.clear()  # finished: a forced rerun starts afresh instead of resuming
    return summary


if __name__ == "__main__":
    main()
