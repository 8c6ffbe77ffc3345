"""Train one VAE on the preprocessed Galaxy Zoo images, recording reconstruction error.

    python -m assignment5.galaxy.train --data data/galaxy/galaxy.npz --arch conv \
        --out-dir results/galaxy/runs/conv --epochs 30
    python -m assignment5.galaxy.train --data ... --arch resnet --out-dir /tmp/x --dry-run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from assignment5.galaxy.models import ARCHITECTURES, build, vae_loss
from assignment5.io import write_json
from assignment5.training import (Checkpointer, Stopwatch, autocast, bf16_supported,
                                  setup_torch)


def resolve_precision(requested: str, arch: str) -> str:
    """bf16 pays off for the convolutional models; the MLP's large GEMMs are faster in fp32 here."""
    if requested == "auto":
        return "bf16" if arch != "mlp" and bf16_supported() else "fp32"
    return requested


def load_images(npz) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 3, S, S) train and test tensors, kept in memory as one tensor each."""
    images = torch.from_numpy(npz["images"]).permute(0, 3, 1, 2).contiguous()
    test = torch.from_numpy(npz["test"])
    return images[~test], images[test]


def as_float(batch: torch.Tensor, channels_last: bool) -> torch.Tensor:
    x = batch.float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@torch.no_grad()
def reconstruction_error(model, images, precision, channels_last, batch_size=256) -> dict:
    """Per-pixel BCE and MSE of the mean reconstruction (z = mu), and the mean KL per image."""
    model.eval()
    bce = mse = kl = 0.0
    for start in range(0, len(images), batch_size):
        x = as_float(images[start: start + batch_size], channels_last)
        with autocast(precision):
            logits, mu, log_var = model(x)
        logits = logits.float()
        bce += F.binary_cross_entropy_with_logits(logits, x, reduction="sum").item()
        mse += F.mse_loss(torch.sigmoid(logits), x, reduction="sum").item()
        kl += 0.5 * (mu.float() ** 2 + log_var.float().exp() - 1 - log_var.float()).sum().item()
    model.train()
    pixels = images[0].numel() * len(images)
    return {"bce": bce / pixels, "mse": mse / pixels, "kl": kl / len(images),
            "neg_elbo": (bce + kl) / len(images)}


def train_step(model, optimizer, x, precision: str, kl_weight: float = 1.0):
    """One optimiser step on a batch of images in [0, 1]; returns (loss, bce, kl) tensors."""
    with autocast(precision):
        logits, mu, log_var = model(x)
    loss, bce, kl = vae_loss(logits, x.float(), mu, log_var, beta=kl_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss, bce, kl


def kl_weight(step: int, steps_per_epoch: int, beta: float, warmup_epochs: int) -> float:
    """beta, ramped linearly from 0 over the first warmup_epochs (KL annealing)."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, step / (warmup_epochs * steps_per_epoch))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--kl-warmup-epochs", type=int, default=0)
    parser.add_argument("--evals-per-epoch", type=int, default=2)
    parser.add_argument("--eval-sample", type=int, default=1000, help="training images scored per evaluation")
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="1 epoch of at most 4 batches")
    args = parser.parse_args(argv)
    run(args)


def run(args) -> dict:
    setup_torch(args.threads, args.seed)
    precision = resolve_precision(args.precision, args.arch)
    channels_last = args.channels_last and args.arch != "mlp"
    out = Path(args.out_dir)
    npz = np.load(args.data)
    train, test = load_images(npz)
    size = train.shape[-1]
    if args.dry_run:
        args.epochs, train = 1, train[: 4 * args.batch_size]
    eval_train = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(1))[: args.eval_sample]]
    settings = {k: getattr(args, k) for k in ("arch", "epochs", "latent_dim", "batch_size", "lr", "beta",
                                              "kl_warmup_epochs", "evals_per_epoch", "seed")}
    settings |= {"precision": precision, "size": size, "train_images": len(train), "dry_run": args.dry_run}

    model = build(args.arch, args.latent_dim, size)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = -(-len(train) // args.batch_size)
    eval_at = set(np.linspace(0, steps_per_epoch, args.evals_per_epoch + 1, dtype=int)[1:].tolist())
    checkpoints = Checkpointer(out / "checkpoints", settings)
    generator = torch.Generator().manual_seed(args.seed)
    history, epoch, spent, step_seconds = [], 0, 0.0, 0.0
    if (state := checkpoints.load()) is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        history, epoch, spent, step_seconds = state["history"], state["epoch"], state["seconds"], state["step_seconds"]
        print(f"[galaxy:{args.arch}] resuming after epoch {epoch} from {checkpoints.path}")
    else:
        history.append({"iteration": 0, "epoch": 0.0,
                        "train": reconstruction_error(model, eval_train, precision, channels_last),
                        "test": reconstruction_error(model, test, precision, channels_last)})
    clock = Stopwatch(spent)
    model.train()
    for epoch in range(epoch, args.epochs):
        order = torch.randperm(len(train), generator=generator)
        for step in range(steps_per_epoch):
            t0 = time.perf_counter()
            x = as_float(train[order[step * args.batch_size: (step + 1) * args.batch_size]], channels_last)
            global_step = epoch * steps_per_epoch + step
            weight = kl_weight(global_step, steps_per_epoch, args.beta, args.kl_warmup_epochs)
            loss, bce, kl = train_step(model, optimizer, x, precision, weight)
            step_seconds += time.perf_counter() - t0
            if step + 1 in eval_at:
                history.append({
                    "iteration": global_step + 1, "epoch": epoch + (step + 1) / steps_per_epoch,
                    "kl_weight": weight, "batch_loss": loss.item(),
                    "train": reconstruction_error(model, eval_train, precision, channels_last),
                    "test": reconstruction_error(model, test, precision, channels_last),
                    "seconds": clock.seconds})
        last = history[-1]
        print(f"[galaxy:{args.arch}] epoch {epoch + 1}/{args.epochs}: test BCE/px {last['test']['bce']:.4f} "
              f"MSE/px {last['test']['mse']:.5f} KL {last['test']['kl']:.1f} ({clock.seconds:.0f}s)", flush=True)
        checkpoints.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                          "generator": generator.get_state(),
                          "history": history, "epoch": epoch + 1, "seconds": clock.seconds,
                          "step_seconds": step_seconds})

    torch.save({"arch": args.arch, "latent_dim": args.latent_dim, "size": size,
                "state_dict": model.state_dict()}, out / "model.pt")
    images_seen = args.epochs * len(train)
    summary = {"settings": settings | {"optimizer": "Adam", "channels_last": channels_last,
                                       "eval_train_sample": len(eval_train), "test_images": len(test)},
               "threads": torch.get_num_threads(), "wall_seconds": clock.seconds,
               "images_per_second": images_seen / max(step_seconds, 1e-9),
               "iterations": args.epochs * steps_per_epoch,
               "parameters": sum(p.numel() for p in model.parameters()),
               "history": history, "final": history[-1]}
    write_json(out / "history.json", summary)
    checkpoints.clear()  # finished: a forced rerun starts afresh instead of resuming
    return summary


if __name__ == "__main__":
    main()
