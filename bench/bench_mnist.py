"""VGG11 training throughput: the workflow's step (bf16 autocast where supported, channels-last,
pre-resized uint8 data) against a plain fp32 loop of the same model (resizing every batch)."""

import sys

import torch
import torch.nn.functional as F

from assignment5.mnist.model import VGG11
from assignment5.mnist.train import MEAN, STD, to_input, train_step
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
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
