"""VAE training throughput per architecture: the workflow's step (fused Adam; bf16 autocast and
channels-last where they help; data in memory as one uint8 tensor) against a plain fp32 loop of the
same model (default Adam, float images, default memory format)."""

import sys

import torch

from assignment5 import settings
from assignment5.galaxy.models import build, vae_loss
from assignment5.galaxy.train import as_float, make_optimizer, resolve_precision, train_step
from timing import compare, report

_TRAIN = settings.defaults("galaxy_train", "conv")  # the default budget's settings
# lr: study picks the rate per architecture; the step's speed does not depend on it
_LR = _TRAIN.lr if _TRAIN.lr != "study" else settings.defaults("galaxy_lr_study").lrs[0]
BATCH, SIZE, LATENT = _TRAIN.batch_size, settings.defaults("galaxy_data").image_size, _TRAIN.latent_dim


def workflow_step(arch: str, images: torch.Tensor):
    """The workflow's training step for one architecture (fused Adam; bf16 and channels-last
    where they help), as a callable over one fixed batch; also used by bench_parallel."""
    precision = resolve_precision("auto", arch)
    channels_last = arch != "mlp"
    model = build(arch, LATENT, SIZE)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, _LR)
    return lambda: train_step(model, optimizer, as_float(images, channels_last), precision), precision


def main(threads: int = 2, archs=("mlp", "conv", "resnet")) -> dict:
    torch.set_num_threads(threads)
    results = {}
    images = torch.randint(0, 256, (BATCH, 3, SIZE, SIZE), dtype=torch.uint8)
    floats = images.float() / 255
    for arch in archs:
        torch.manual_seed(0)
        fast_step, precision = workflow_step(arch, images)
        plain = build(arch, LATENT, SIZE)
        plain_opt = torch.optim.Adam(plain.parameters(), lr=_LR)

        def plain_step():
            logits, mu, log_var = plain(floats)
            loss = vae_loss(logits, floats, mu, log_var)[0]
            plain_opt.zero_grad()
            loss.backward()
            plain_opt.step()

        calls = 6 if arch != "resnet" else 2
        results[arch] = compare(fast_step, plain_step, BATCH, rounds=4, calls=calls, warmup=1)
        print(report(f"galaxy VAE {arch} ({precision}, {threads} threads)", "images/s", results[arch]))
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
