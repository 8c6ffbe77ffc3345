"""Train the character LSTM for a number of iterations, evaluating every --eval-every.

    python -m assignment5.tweets.train --data data/tweets/tweets.npz --out-dir results/tweets
    python -m assignment5.tweets.train --data ... --out-dir /tmp/x --dry-run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from assignment5 import paths
from assignment5.io import write_json
from assignment5.training import Checkpointer, Stopwatch, autocast, resolve_precision, setup_torch
from assignment5.tweets.model import KERNELS, Tweets, TweetLSTM


@torch.no_grad()
def evaluate(model, data: Tweets, subset=None, batch_size: int = 512, precision: str = "fp32") -> dict:
    model.eval()
    correct, loss_sum, n, probs = 0, 0.0, 0, {}
    for index in data.sorted_batches(batch_size, subset):
        codes, lengths, labels = data.batch(index)
        with autocast(precision):
            logp = model(codes, lengths).float()
        loss_sum += F.nll_loss(logp, labels, reduction="sum").item()
        correct += (logp.argmax(1) == labels).sum().item()
        n += len(index)
        probs.update(zip(index.tolist(), logp[:, 1].exp().tolist()))
    model.train()
    return {"accuracy": correct / n, "loss": loss_sum / n, "positive_probability": probs}


def train_step(model, optimizer, codes, lengths, labels, precision: str) -> float:
    """One optimiser step on one batch; returns the batch's NLL loss."""
    with autocast(precision):
        log_probs = model(codes, lengths)
    loss = F.nll_loss(log_probs.float(), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def batch_stream(data: Tweets, batch_size: int, seed: int, epoch: int, skip: int):
    """Endless bucketed batches; (epoch, position) is enough to resume exactly."""
    while True:
        batches = data.bucketed_batches(batch_size, np.random.default_rng([seed, epoch]))
        for position in range(skip, len(batches)):
            yield epoch, position, batches[position]
        epoch, skip = epoch + 1, 0


def make_optimizer(model, name: str, lr: float):
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    # fused: one kernel for all parameters instead of a dozen small ops per step (same update rule)
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=paths.TWEETS_NPZ)
    parser.add_argument("--out-dir", default=paths.TWEETS_DIR)
    parser.add_argument("--iterations", type=int, default=100_000)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--train-eval-sample", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                        help="bf16 autocast of the LSTM where the CPU has native bf16 (weights stay fp32)")
    parser.add_argument("--kernel", choices=KERNELS, default="auto",
                        help="LSTM recurrence: fused C++ CPU kernel, PyTorch's nn.LSTM, or auto (fused on CPU)")
    parser.add_argument("--checkpoint-every", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="60 iterations, tiny evaluation")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.iterations, args.eval_every, args.train_eval_sample, args.checkpoint_every = 60, 20, 200, 20
    run(args)


def run(args) -> dict:
    setup_torch(args.threads, args.seed)
    precision = resolve_precision(args.precision)
    out = Path(args.out_dir)
    npz = np.load(args.data)
    train, test = Tweets.from_npz(npz, "train"), Tweets.from_npz(npz, "test")
    sample = np.random.default_rng(args.seed).choice(len(train), min(args.train_eval_sample, len(train)),
                                                     replace=False)
    test_subset = np.arange(min(len(test), 200)) if getattr(args, "dry_run", False) else None
    settings = {k: getattr(args, k) for k in ("iterations", "eval_every", "train_eval_sample",
                                              "batch_size", "lr", "optimizer", "seed")}
    settings["precision"] = precision
    model = TweetLSTM(kernel=args.kernel)
    settings["kernel"] = model.kernel_in_use(precision)
    optimizer = make_optimizer(model, args.optimizer, args.lr)
    checkpoints = Checkpointer(out / "checkpoints", settings)
    history, it, epoch, position, spent, step_seconds = [], 0, 0, 0, 0.0, 0.0
    if (state := checkpoints.load()) is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, it, epoch, position, spent, step_seconds = (
            state[k] for k in ("history", "iteration", "epoch", "position", "seconds", "step_seconds"))
        print(f"[tweets] resuming at iteration {it} from {checkpoints.path}")
    clock = Stopwatch(spent)
    window_loss, window_n = 0.0, 0
    stream = batch_stream(train, args.batch_size, args.seed, epoch, position)
    model.train()
    while it < args.iterations:
        t0 = time.perf_counter()
        epoch, position, index = next(stream)
        loss = train_step(model, optimizer, *train.batch(index), precision)
        it += 1
        step_seconds += time.perf_counter() - t0
        window_loss, window_n = window_loss + loss, window_n + 1
        if it % args.eval_every == 0 or it == args.iterations:
            tr = evaluate(model, train, sample, precision=precision)
            te = evaluate(model, test, test_subset, precision=precision)
            history.append({"iteration": it, "train_accuracy": tr["accuracy"], "train_loss": tr["loss"],
                            "test_accuracy": te["accuracy"], "test_loss": te["loss"],
                            "running_loss": window_loss / window_n, "seconds": clock.seconds})
            window_loss, window_n = 0.0, 0
            print(f"[tweets] it {it}: train acc {tr['accuracy']:.4f} test acc {te['accuracy']:.4f} "
                  f"loss {history[-1]['running_loss']:.4f} ({clock.seconds:.0f}s)", flush=True)
        if it % args.checkpoint_every == 0 and it < args.iterations:
            checkpoints.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                              "history": history, "iteration": it, "epoch": epoch,
                              "position": position + 1, "seconds": clock.seconds,
                              "step_seconds": step_seconds})

    torch.save(model.state_dict(), out / "model.pt")
    summary = {
        "settings": settings | {"hidden": 128, "input": "one-hot ASCII, 128",
                                "train_eval": f"fixed random sample of {len(sample):,} training tweets",
                                "train_tweets": len(train), "test_tweets": len(test)},
        "threads": torch.get_num_threads(), "wall_seconds": clock.seconds,
        "iterations_per_second": it / max(step_seconds, 1e-9),
        "step_seconds": step_seconds,
        "history": history, "final": history[-1],
    }
    write_json(out / "history.json", summary)
    checkpoints.clear()  # finished: a forced rerun starts afresh instead of resuming
    return summary


if __name__ == "__main__":
    main()
