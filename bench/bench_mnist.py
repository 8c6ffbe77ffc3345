"""VGG11 training throughput: the workflow's step (bf16 autocast where supported, channels-last,
pre-resized uint8 data) against a plain fp32 loop of the same model (resizing every batch); and an
epoch's work with the training figures scored on mnist.train_eval_sample images against all of
them (both scaled down by the same factor from the default budget's 60,000)."""

import sys

import torch
import torch.nn.functional as F

from assignment5.mnist.model import VGG11
from assignment5.mnist.train import MEAN, STD, evaluate, to_input, train_step
from assignment5 import settings
from assignment5.training import resolve_precision
from timing import compare, report

BATCH = settings.defaults("mnist_train").batch_size  # the default budget's


def main(threads: int = 2) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    raw = torch.randint(0, 256, (BATCH, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (BATCH,))
    resized = F.interpolate(raw.float(), size=32, mode="bilinear").round().to(torch.uint8)
    precision = resolve_precision("auto")

    fast_model = VGG11().to(memory_format=torch.channels_last)
    fast_opt = torch.optim.SGD(fast_model.parameters(), lr=0.01, momentum=0.9)
    plain_model = VGG11()
    plain_opt = torch.optim.SGD(plain_model.parameters(), lr=0.01, momentum=0.9)

    def workflow_step():
        train_step(fast_model, fast_opt, to_input(resized, channels_last=True), labels, precision)

    def plain_step():
        x = (F.interpolate(raw.float() / 255.0, size=32, mode="bilinear") - MEAN) / STD
        loss = F.cross_entropy(plain_model(x), labels)
        plain_opt.zero_grad()
        loss.backward()
        plain_opt.step()

    result = compare(workflow_step, plain_step, BATCH, rounds=6, calls=4)
    print(report(f"mnist VGG11 ({precision}, {threads} threads)", "images/s", result))
    return {"step": result, "epoch": epoch_with_scoring(fast_model, fast_opt, resized, labels, precision)}


def epoch_with_scoring(model, optimizer, images, labels, precision: str, batches: int = 3) -> dict:
    """``batches`` training steps, then the evaluation pass over the training images: over a
    sample (train_eval_sample of the 60,000, the same share of these) or over all of them."""
    sample = settings.defaults("mnist_train").train_eval_sample
    share = sample / 60000 if sample else 1.0
    x = to_input(images.repeat(batches, 1, 1, 1), channels_last=True)
    y = labels.repeat(batches)
    scored = max(1, round(share * len(x)))

    def epoch(n_scored: int):
        def run():
            for b in range(batches):
                train_step(model, optimizer, x[b * BATCH: (b + 1) * BATCH], y[b * BATCH: (b + 1) * BATCH], precision)
            evaluate(model, x[:n_scored], y[:n_scored], precision, channels_last=True)
        return run

    result = compare(epoch(scored), epoch(len(x)), len(x), rounds=4, calls=1, warmup=1)
    print(report(f"mnist epoch, training figures scored on {share:.0%} of the images vs all",
                 "images/s (training and scoring)", result))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
