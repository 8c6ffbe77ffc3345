"""Train one VAE on the preprocessed Galaxy Zoo images, recording reconstruction error.

A run is an architecture (mlp, conv, resnet), a learning-rate study run (lr-<arch>-<lr>) or a
bonus run (bonus-<variant>-seed<k>); with lr: study, lr_choice names the study's result file.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from assignment5.galaxy.models import build, describe, vae_loss
from assignment5 import paths, settings
from assignment5.errors import InputError
from assignment5.io import read_json, read_npz, write_json, write_model
from assignment5.training import (CPU, Checkpointer, Progress, Stopwatch, autocast, batch_slices, bf16_supported,
                                  describe_device, diverged, grad_scaler, held_out, lr_schedule, optimise,
                                  resolve_device, setup_torch)
from assignment5.training import resolve_precision as resolve_device_precision


def resolve_precision(requested: str, arch: str, device: torch.device = CPU) -> str:
    """On a CPU bf16 pays off for the convolutional models; the MLP's large GEMMs are faster in
    fp32 there. On a GPU, what the device computes natively (bf16, else fp16)."""
    if requested == "auto" and device.type == "cpu":
        return "bf16" if arch != "mlp" and bf16_supported() else "fp32"
    return resolve_device_precision(requested, device)


def load_images(npz) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 3, S, S) train and test tensors, kept in memory as one tensor each."""
    images = torch.from_numpy(npz["images"]).permute(0, 3, 1, 2).contiguous()
    test = torch.from_numpy(npz["test"])
    return images[~test], images[test]


def hold_out(train: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(fit, validation) images for a learning-rate study run (training.held_out)."""
    fit, held = (torch.from_numpy(i).to(train.device) for i in held_out(len(train), fraction, seed))
    return train[fit], train[held]


def study_choice(s: settings.GalaxyTrain, lr_choice: str | None) -> tuple[float, float, str]:
    """(lr, free bits, where the rate came from): the configured numbers, or the study's choice
    for this architecture where a setting is 'study'."""
    if "study" not in (s.lr, s.free_bits):
        return float(s.lr), float(s.free_bits), "config"
    if not lr_choice:
        raise InputError(f"galaxy.lr or galaxy.free_bits.{s.arch} is 'study': this run needs the "
                         "learning-rate study's result (results/<budget>/galaxy/lr_study.json)")
    try:
        chosen = read_json(lr_choice)["archs"][s.arch]
        return (float(chosen["chosen"] if s.lr == "study" else s.lr),
                float(chosen["free_bits"] if s.free_bits == "study" else s.free_bits),
                "study" if s.lr == "study" else "config")
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{lr_choice}: no chosen learning rate or free bits for {s.arch!r} ({err})") from err


def as_float(batch: torch.Tensor, channels_last: bool) -> torch.Tensor:
    x = batch.float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@torch.no_grad()
def reconstruction_error(model, images, precision, channels_last, batch_size=256) -> dict:
    """Per-pixel BCE and MSE of the mean reconstruction (z = mu), the mean KL per image, and per
    latent dimension the KL and the variance of the posterior means across the images (a unit is
    active when its mean moves with the input: Burda et al. 2016)."""
    model.eval()
    bce = mse = 0.0
    kl_dims = mu_sum = mu_squares = 0.0  # summed per latent dimension
    for start in range(0, len(images), batch_size):
        x = as_float(images[start: start + batch_size], channels_last)
        with autocast(precision, x.device):
            logits, mu, log_var = model(x)
        logits = logits.float()
        bce += F.binary_cross_entropy_with_logits(logits, x, reduction="sum").item()
        mse += F.mse_loss(torch.sigmoid(logits), x, reduction="sum").item()
        kl_dims = kl_dims + 0.5 * (mu.float() ** 2 + log_var.float().exp() - 1 - log_var.float()).sum(0)
        mu_sum, mu_squares = mu_sum + mu.double().sum(0), mu_squares + (mu.double() ** 2).sum(0)
    model.train()
    n = len(images)
    pixels = images[0].numel() * n
    kl = float(kl_dims.sum())
    mu_variance = (mu_squares / n - (mu_sum / n) ** 2).clamp(min=0)
    return {"bce": bce / pixels, "mse": mse / pixels, "kl": kl / n, "neg_elbo": (bce + kl) / n,
            "kl_per_dimension": (kl_dims / n).cpu().tolist(),
            "mu_variance_per_dimension": mu_variance.cpu().tolist()}


def batchnorm_layers(model) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_batchnorm(model, images, precision, channels_last, batch_size=256) -> int:
    """Replace each BatchNorm layer's running statistics, an average dominated by the last few
    dozen batches, by their plain average over all `images`, computed as in training (z sampled).
    Evaluation then stops depending on which batches happened to come last (on the default
    Galaxy Zoo data: conv VAE test MSE 0.001038 -> 0.001023). Returns the number of layers."""
    layers = batchnorm_layers(model)
    if not layers:
        return 0
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for batch in batch_slices(len(images), batch_size):
        x = as_float(images[batch], channels_last)
        with autocast(precision, x.device):
            model(x)
    for m, momentum in zip(layers, momenta):
        m.momentum = momentum
    return len(layers)


def train_step(model, optimizer, x, precision: str, kl_weight: float = 1.0, scaler=None, free_bits: float = 0.0):
    """One optimiser step on a batch of images in [0, 1]; returns (loss, bce, kl) tensors."""
    with autocast(precision, x.device):
        logits, mu, log_var = model(x)
    loss, bce, kl = vae_loss(logits, x.float(), mu, log_var, beta=kl_weight, free_bits=free_bits)
    optimise(loss, optimizer, scaler)
    return loss, bce, kl


def make_optimizer(net, lr: float) -> torch.optim.Adam:
    """Adam with its fused kernel (one pass over the weights, on CPU and GPU alike): the default
    per-tensor Adam took half of the feed-forward VAE's step on a CPU (12.9 M weights, little
    compute each); same update, 1.36x the steps per second there."""
    return torch.optim.Adam(net.parameters(), lr=lr, fused=True)


def kl_weight(step: int, steps_per_epoch: int, beta: float, warmup_epochs: int) -> float:
    """beta, ramped linearly from 0 over the first warmup_epochs (KL annealing)."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, step / (warmup_epochs * steps_per_epoch))




def run(s: settings.GalaxyTrain, *, data: str, model: str, history: str, threads: int,
        lr_choice: str | None = None, dry_run: bool = False) -> dict:
    if dry_run:
        s = dataclasses.replace(s, epochs=1, schedule_epochs=None)
    lr, free_bits, lr_from = study_choice(s, lr_choice)
    setup_torch(threads, s.seed)
    device = resolve_device(s.device)
    precision = resolve_precision(s.precision, s.arch, device)
    channels_last = s.channels_last and s.arch != "mlp"
    npz = read_npz(data)
    train, test = (t.to(device) for t in load_images(npz))  # uint8, resident on the device
    if s.validation_fraction > 0:  # a study run: "test" below is the held-out validation share
        train, test = hold_out(train, s.validation_fraction, s.seed)
    size = train.shape[-1]
    if dry_run:
        train = train[: 4 * s.batch_size]
    eval_train = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(s.seed + 1))
                       [: s.eval_sample].to(device)]
    net = build(s.arch, s.latent_dim, size).to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(net, lr)
    scaler = grad_scaler(precision, device)
    batches = batch_slices(len(train), s.batch_size)
    steps_per_epoch = len(batches)
    total_steps = s.epochs * steps_per_epoch
    recalibrate = s.recalibrate_batchnorm and bool(batchnorm_layers(net))
    schedule_steps = max(s.schedule_epochs or 0, s.epochs) * steps_per_epoch  # beyond total_steps: stops early
    schedule = lr_schedule(optimizer, s.schedule, schedule_steps)
    eval_at = set(np.linspace(0, total_steps, min(s.evaluations, total_steps) + 1, dtype=int)[1:].tolist())
    generator = torch.Generator().manual_seed(s.seed)
    checkpoints = Checkpointer(paths.checkpoint_of(str(model)),
                               s.as_dict() | {"lr": lr, "free_bits": free_bits, "precision": precision,
                                              "dry_run": dry_run}, [data],
                               model=net, optimizer=optimizer, schedule=schedule, scaler=scaler, generator=generator)
    rows, epoch, spent, step_seconds = [], 0, 0.0, 0.0
    if (state := checkpoints.load()) is not None:
        rows, epoch, spent, step_seconds = state["history"], state["epoch"], state["seconds"], state["step_seconds"]
        print(f"[galaxy:{s.arch}] resuming after epoch {epoch} from {checkpoints.path}")
    else:
        rows.append({"iteration": 0, "epoch": 0.0,
                     "train": reconstruction_error(net, eval_train, precision, channels_last),
                     "test": reconstruction_error(net, test, precision, channels_last)})
    resumed_from = epoch
    clock = Stopwatch(spent)
    progress = Progress(f"galaxy:{s.arch}", total_steps, "batches",
                        done=epoch * steps_per_epoch)
    diverged_at = None
    net.train()
    for epoch in range(epoch, s.epochs):
        order = torch.randperm(len(train), generator=generator).to(device)  # drawn on the CPU
        for step in range(steps_per_epoch):
            t0 = time.perf_counter()
            x = as_float(train[order[batches[step]]], channels_last)
            global_step = epoch * steps_per_epoch + step
            weight = kl_weight(global_step, steps_per_epoch, s.beta, s.kl_warmup_epochs)
            loss, bce, kl = train_step(net, optimizer, x, precision, weight, scaler, free_bits)
            schedule.step()
            step_seconds += time.perf_counter() - t0
            progress.update(global_step + 1)
            if recalibrate and global_step + 1 == total_steps:
                recalibrate_batchnorm(net, train, precision, channels_last)
            if global_step + 1 in eval_at:  # spread evenly over the run, always at its last step
                rows.append({
                    "iteration": global_step + 1, "epoch": epoch + (step + 1) / steps_per_epoch,
                    "kl_weight": weight, "batch_loss": loss.item(),
                    "train": reconstruction_error(net, eval_train, precision, channels_last),
                    "test": reconstruction_error(net, test, precision, channels_last),
                    "seconds": clock.seconds})
                if diverged(rows[-1]["batch_loss"] + rows[-1]["train"]["neg_elbo"], str(model),
                            ("iteration", global_step + 1), precision, lr, stop_reason=(
                                "a study run stops here and its rate is not chosen" if s.validation_fraction > 0
                                else None), precision_key="galaxy.precision"):
                    diverged_at = global_step + 1
                    break
                last = rows[-1]["test"]
                print(f"[galaxy:{s.arch}] epoch {rows[-1]['epoch']:.3g}/{s.epochs}: test BCE/px {last['bce']:.4f} "
                      f"MSE/px {last['mse']:.5f} KL {last['kl']:.1f} ({clock.seconds:.0f}s)", flush=True)
        if diverged_at:
            break
        checkpoints.save({"history": rows, "epoch": epoch + 1, "seconds": clock.seconds,
                          "step_seconds": step_seconds})

    write_model({"arch": s.arch, "latent_dim": s.latent_dim, "size": size,
                 "state_dict": net.state_dict()}, model)
    epochs_run = rows[-1]["epoch"] - resumed_from  # fewer than asked when the run diverged
    images_seen = round(epochs_run * len(train))
    summary = {"settings": s.as_dict() | {"lr": lr, "lr_from": lr_from, "free_bits": free_bits,
                                          "evaluated_on": "validation" if s.validation_fraction > 0 else "test",
                                          "batchnorm_recalibrated": recalibrate,
                                          "precision": precision, "channels_last": channels_last,
                                          "device_used": describe_device(device),
                                          "size": size, "train_images": len(train),
                                          "eval_train_sample": len(eval_train),
                                          "test_images": len(test), "optimizer": "Adam",
                                          "dry_run": dry_run},
               "architecture": describe(net),
               "threads": torch.get_num_threads(), "wall_seconds": clock.seconds,
               "images_per_second": images_seen / max(step_seconds, 1e-9) if images_seen else None,
               "iterations": total_steps, "schedule_iterations": schedule_steps,
               "final_lr": optimizer.param_groups[0]["lr"], "resumed_from_epoch": resumed_from,
               "epochs_run": epochs_run, "diverged_at_iteration": diverged_at,
               "parameters": sum(p.numel() for p in net.parameters()),
               "history": rows, "final": rows[-1]}
    write_json(history, summary)
    checkpoints.clear()  # finished: a forced rerun starts afresh instead of resuming
    return summary
