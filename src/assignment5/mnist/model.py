"""VGG11 (configuration A of Simonyan & Zisserman 2014) adapted to 1 x 32 x 32 MNIST digits."""

from __future__ import annotations

import torch
from torch import nn

# Table 1, column A: numbers are 3x3 conv widths, "M" a 2x2 max-pool with stride 2.
VGG11_A = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
INPUT_SIZE = 32  # five 2x2 pools halve 32 to 1; 28 would become 14, 7, 3, 1 and then fail


class VGG11(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 10, batch_norm: bool = True,
                 fc_width: int = 4096, dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for item in VGG11_A:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(channels, item, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(item))
            layers.append(nn.ReLU(inplace=True))
            channels = item
        self.features = nn.Sequential(*layers)
        final_side = INPUT_SIZE // 2 ** VGG11_A.count("M")
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * final_side * final_side, fc_width), nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(fc_width, fc_width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(fc_width, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def layer_table(model: nn.Module, input_shape=(1, 1, INPUT_SIZE, INPUT_SIZE)) -> list[dict]:
    """Every leaf layer's output shape and parameter count, from a real forward pass."""
    rows: list[dict] = []
    hooks = []
    for name, module in model.named_modules():
        if len(list(module.children())) == 0:
            def hook(mod, inp, out, name=name):
                rows.append({"name": name, "type": type(mod).__name__, "detail": describe(mod),
                             "output": list(out.shape[1:]),
                             "params": sum(p.numel() for p in mod.parameters())})
            hooks.append(module.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(input_shape))
    for h in hooks:
        h.remove()
    return rows


def describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return f"{module.in_channels}->{module.out_channels}, 3x3, pad 1"
    if isinstance(module, nn.Linear):
        return f"{module.in_features}->{module.out_features}"
    if isinstance(module, nn.MaxPool2d):
        return "2x2, stride 2"
    if isinstance(module, nn.Dropout):
        return f"p = {module.p}"
    return ""
