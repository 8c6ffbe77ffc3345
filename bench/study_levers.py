"""What the default budget's speed levers cost in reconstruction quality (docs/galaxy-levers.md).

Trains each variant for the same epochs on the same images (same training/test split, same
seed, same learning rate, a cosine schedule over the run) and scores every test image at 64 px:
a 32 px model's reconstruction is upsampled (bilinear) to 64 px first, so both sizes are judged
against the same 64 px originals. Needs the galaxy data of both budgets (64 px: full, 32 px: default):

    snakemake --cores 2 --configfile config/full.yaml --config data_dir=../shared/data -- data/full/galaxy/galaxy.npz
    snakemake --cores 2 --config data_dir=../shared/data -- data/default/galaxy/galaxy.npz
    python bench/study_levers.py EPOCHS VARIANT...   # variants: conv-64 conv-32 resnet-wide-32 resnet-32 mlp-64 mlp-32
"""

import dataclasses
import functools
import json
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from assignment5 import settings
from assignment5.galaxy import models
from assignment5.galaxy import train as galaxy_train
from assignment5.provenance import machine_tag

DATA = {64: "data/full/galaxy/galaxy.npz", 32: "data/default/galaxy/galaxy.npz"}
LR = 0.001


def variant(name: str) -> tuple[str, int, bool]:
    *arch, size = name.split("-")
    return arch[0], int(size), arch[1:] == ["wide"]


@torch.no_grad()
def mse_at_64(net, size: int) -> float:
    """Mean squared error per pixel of the mean reconstructions of the test images, at 64 px."""
    small, large = (np.load(DATA[s]) for s in (size, 64))
    test = small["test"]
    x = torch.from_numpy(small["images"][test]).permute(0, 3, 1, 2).float() / 255
    target = torch.from_numpy(large["images"][test]).permute(0, 3, 1, 2).float() / 255
    net.eval()
    recon = torch.cat([torch.sigmoid(net(b)[0].float()) for b in x.split(256)])
    if size != 64:
        recon = F.interpolate(recon, size=64, mode="bilinear", align_corners=False)
    return F.mse_loss(recon, target).item()


def main(epochs: int, names: list[str]) -> None:
    for name in names:
        arch, size, wide = variant(name)
        if wide:  # the ResNet at the convolutional VAE's widths (the full budget before this study)
            models.ARCHITECTURES["resnet"] = functools.partial(models.ResNetVAE, widths=models.WIDTHS)
        s = dataclasses.replace(settings.defaults("galaxy_train", arch), lr=LR, free_bits=0.0, epochs=epochs,
                                evaluations=1, schedule="cosine")
        with tempfile.TemporaryDirectory() as out:
            summary = galaxy_train.run(s, data=DATA[size], model=f"{out}/model.pt",
                                       history=f"{out}/history.json", threads=1)
            saved = torch.load(f"{out}/model.pt", weights_only=True)
        net = models.ARCHITECTURES[arch](saved["latent_dim"], saved["size"])
        net.load_state_dict(saved["state_dict"])
        row = {"variant": name, "epochs": epochs, "lr": LR, "batch_size": s.batch_size,
               "precision": summary["settings"]["precision"], "parameters": summary["parameters"],
               "test_mse_at_64px": mse_at_64(net, size),
               "test_mse_own_size": summary["final"]["test"]["mse"],
               "images_per_second": summary["images_per_second"],
               "seconds_per_epoch": summary["wall_seconds"] / epochs, "machine": machine_tag()}
        print(json.dumps(row), flush=True)
        models.ARCHITECTURES["resnet"] = models.ResNetVAE


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
