"""Sections 1 and 4: each sympy answer against an independent PyTorch computation."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from assignment5.theory import cnn, vae

pytestmark = pytest.mark.unit  # make check: the fast tier


def torch_network(input_shape, layers, same: bool):
    """The section-1 network in PyTorch: no biases, no nonlinearities; avg-pool stands in for
    pooling (same windows; its gradient reaches every pixel of a window)."""
    modules, channels = [], input_shape[2]
    for layer in cnn.parse_layers(layers):
        if layer.kind == "conv":
            kh, kw = layer.kernel
            stride = 1 if same else layer.stride[0]  # stride is set aside under "same size"
            padding = (kh // 2, kw // 2) if same else 0
            modules.append(nn.Conv2d(channels, layer.channels, layer.kernel, stride, padding, bias=False))
            channels = layer.channels
        elif layer.kind == "pool":
            modules.append(nn.AvgPool2d(layer.kernel, layer.kernel))
        else:
            modules += [nn.Flatten(), nn.LazyLinear(layer.channels, bias=False)]
    net = nn.Sequential(*modules)
    net(torch.zeros(1, input_shape[2], input_shape[0], input_shape[1]))  # materialise LazyLinear
    return net


@pytest.fixture(scope="module")
def arch(config):
    spec = config["theory"]["cnn"]
    return spec["input"], spec["layers"], cnn.derive(spec["input"], spec["layers"])


def test_padding_keeps_size_for_any_filter():
    answer = cnn.same_padding()
    assert answer["padding_width"] == "w" and answer["padding_height"] == "h"
    for w, h, W, H in [(1, 1, 9, 7), (2, 1, 16, 11), (3, 2, 20, 31)]:
        conv = nn.Conv2d(1, 1, (2 * h + 1, 2 * w + 1), stride=1, padding=(h, w))
        assert conv(torch.zeros(1, 1, H, W)).shape[-2:] == (H, W)


def test_output_sizes_match_pytorch(arch):
    shape, layers, answer = arch
    net = torch_network(shape, layers, same=False)
    x = torch.zeros(1, shape[2], shape[0], shape[1])
    rows = [r for r in answer["shapes_no_padding"] if r["kind"] != "fc"]
    spatial = [m for m in net if isinstance(m, (nn.Conv2d, nn.AvgPool2d))]
    for module, row in zip(spatial, rows):
        x = module(x)
        assert list(x.shape[1:]) == [row["shape"][2], row["shape"][0], row["shape"][1]], row["name"]
    assert answer["shapes_no_padding"][-1]["inputs"] == x.numel()


def test_the_assignment_numbers(arch):
    _, _, answer = arch
    assert [r["shape"] for r in answer["shapes_no_padding"][:-1]] == [
        [254, 254, 100], [84, 84, 50], [42, 42, 50], [40, 40, 30], [20, 10, 30]]


def test_receptive_field_by_backpropagation(arch):
    shape, layers, answer = arch
    net = torch_network(shape, layers, same=False)
    last_conv = max(i for i, m in enumerate(net) if isinstance(m, nn.Conv2d))
    for m in net:
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 1.0)  # positive weights: no cancellation in the gradient
    x = torch.zeros(1, shape[2], 96, 96, requires_grad=True)
    out = net[: last_conv + 1](x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    measured = [int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)]
    assert measured == answer["receptive_field"][-1]["field"] == [22, 22]


def test_parameter_count_matches_pytorch(arch):
    shape, layers, answer = arch
    net = torch_network(shape, layers, same=True)
    per_layer = [sum(p.numel() for p in m.parameters()) for m in net
                 if isinstance(m, (nn.Conv2d, nn.AvgPool2d, nn.LazyLinear, nn.Linear))]
    assert per_layer == [r["count"] for r in answer["parameters"]]
    assert answer["parameters_total"] == sum(p.numel() for p in net.parameters()) == 755_600


def test_bad_layer_list_names_the_entry():
    with pytest.raises(cnn.ArchitectureError, match=r"layers\[0\]"):
        cnn.parse_layers([{"name": "x", "type": "deconv"}, {"name": "fc", "type": "fc", "outputs": 2}])
    with pytest.raises(cnn.ArchitectureError, match="does not fit"):
        cnn.derive([4, 4, 1], [{"name": "c", "type": "conv", "filters": 1, "kernel": [5, 5], "stride": 1},
                               {"name": "fc", "type": "fc", "outputs": 2}])


def test_kl_matches_torch_distributions():
    import sympy as sp

    answer = vae.kl_normal_standard()
    kl = sp.lambdify((vae.mu, vae.sigma), sp.sympify(answer["kl"], locals={"mu": vae.mu, "sigma": vae.sigma}))
    kl_logvar = sp.lambdify((vae.mu, vae.log_var),
                            sp.sympify(answer["kl_log_var"], locals={"mu": vae.mu, "ell": vae.log_var}))
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(50, generator=g, dtype=torch.float64) * 2
    sigma = torch.rand(50, generator=g, dtype=torch.float64) * 3 + 0.05
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(mu, sigma),
                                                 torch.distributions.Normal(0.0, 1.0))
    for m, s, e in zip(mu.tolist(), sigma.tolist(), expected.tolist()):
        assert kl(m, s) == pytest.approx(e, rel=1e-10, abs=1e-12)
        assert kl_logvar(m, math.log(s * s)) == pytest.approx(e, rel=1e-10, abs=1e-12)


def test_bernoulli_loss_is_summed_bce():
    import sympy as sp

    answer = vae.bernoulli_reconstruction()
    x_d, y_d = sp.symbols("x_d y_d", positive=True)
    log_pmf = sp.lambdify((x_d, y_d), sp.sympify(answer["log_pmf"], locals={"x_d": x_d, "y_d": y_d}))
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(20, generator=g) > 0.5).double()
    y = torch.rand(3, 20, generator=g, dtype=torch.float64) * 0.98 + 0.01  # L = 3 samples
    ours = -sum(log_pmf(xi, yi) for yl in y for xi, yi in zip(x.tolist(), yl.tolist())) / len(y)
    torch_bce = sum(F.binary_cross_entropy(yl, x, reduction="sum") for yl in y) / len(y)
    assert ours == pytest.approx(torch_bce.item(), rel=1e-10)


def test_reparameterisation_derivatives():
    answer = vae.reparameterisation()
    assert answer["dz_dmu_latex"] == "1"
    mu = torch.tensor(0.3, requires_grad=True)
    ell = torch.tensor(-0.7, requires_grad=True)
    eps = torch.tensor(1.3)
    (mu + torch.exp(ell / 2) * eps).backward()
    assert ell.grad.item() == pytest.approx(math.exp(-0.35) * 1.3 / 2)
