"""Section 1: CNN basics, derived with sympy from a layer list given in config.

Each layer is a dict: ``{"name", "type": "conv"|"pool"|"fc", ...}``; conv layers have
``filters``, ``kernel: [kh, kw]`` and ``stride``; pool layers ``window: [wh, ww]`` (stride equals
the window, so windows tile the image); the fc layer has ``outputs``. Sizes are (height, width).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from assignment5.errors import InputError

# Symbols of the output-size formula floor((n + 2p - k)/s) + 1.
n, p, k, s = sp.symbols("n p k s", integer=True, nonnegative=True)
w, h = sp.symbols("w h", integer=True, nonnegative=True)
W, H = sp.symbols("W H", integer=True, positive=True)
OUTPUT_SIZE = sp.floor((n + 2 * p - k) / s) + 1


class ArchitectureError(InputError, ValueError):
    """A layer list that does not describe a valid network (one line, naming the config key)."""


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str  # conv | pool | fc
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    channels: int = 0  # output channels (conv) or outputs (fc)


def parse_layers(spec: list[dict]) -> list[Layer]:
    """Turn the config's layer list into Layers, naming the offending entry on error."""
    layers = []
    for i, entry in enumerate(spec):
        where = f"theory.cnn.layers[{i}] ({entry.get('name', '?')})"
        kind = entry.get("type")
        if kind == "conv":
            kh, kw = entry["kernel"]
            st = entry.get("stride", 1)
            layers.append(Layer(entry["name"], "conv", (kh, kw), (st, st), entry["filters"]))
        elif kind == "pool":
            wh, ww = entry["window"]
            layers.append(Layer(entry["name"], "pool", (wh, ww), (wh, ww)))
        elif kind == "fc":
            layers.append(Layer(entry["name"], "fc", channels=entry["outputs"]))
        else:
            raise ArchitectureError(f"{where}: unknown layer type {kind!r}")
    if not layers or layers[-1].kind != "fc" or any(l.kind == "fc" for l in layers[:-1]):
        raise ArchitectureError("theory.cnn.layers: exactly one fc layer, last, is expected")
    return layers


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Evaluate floor((n + 2p - k)/s) + 1 with sympy; refuse layers that do not fit."""
    out = OUTPUT_SIZE.subs({n: size, p: padding, k: kernel, s: stride})
    if out < 1:
        raise ArchitectureError(f"a {kernel}-wide window with stride {stride} does not fit a "
                                f"{size}-wide input")
    return int(out)


def same_padding() -> dict:
    """1.1: solve floor((n + 2p - (2w+1))/1) + 1 = n for p (and likewise for h)."""
    formula = OUTPUT_SIZE.subs({k: 2 * w + 1, s: 1})  # floor of an integer is the integer
    width_eq = sp.Eq(formula.subs(n, W), W)
    height_eq = sp.Eq(formula.subs({n: H, w: h}), H)
    p_w = sp.solve(width_eq, p)
    p_h = sp.solve(height_eq, p)
    if len(p_w) != 1 or len(p_h) != 1:
        raise ArithmeticError("expected a unique padding")
    return {
        "formula_latex": sp.latex(sp.Eq(sp.Symbol("n_{out}"), OUTPUT_SIZE)),
        "substituted_latex": sp.latex(sp.Eq(formula.subs(n, W), W)),
        "simplified_latex": sp.latex(sp.Eq(sp.simplify(formula.subs(n, W)), W)),
        "padding_width": str(p_w[0]),
        "padding_height": str(p_h[0]),
        "padding_width_latex": sp.latex(sp.Eq(sp.Symbol("p_W"), p_w[0])),
        "padding_height_latex": sp.latex(sp.Eq(sp.Symbol("p_H"), p_h[0])),
    }


def layer_shapes(input_shape: list[int], layers: list[Layer], same: bool = False) -> list[dict]:
    """1.2: (height, width, channels) after every layer. ``same`` keeps conv outputs at input size."""
    height, width, channels = input_shape
    rows = []
    for i, layer in enumerate(layers):
        if layer.kind == "fc":
            rows.append({"name": layer.name, "kind": "fc", "inputs": height * width * channels,
                         "shape": [layer.channels]})
            continue
        if layer.kind == "conv" and same:
            new_h, new_w = height, width
        else:
            try:
                new_h = output_size(height, layer.kernel[0], layer.stride[0])
                new_w = output_size(width, layer.kernel[1], layer.stride[1])
            except ArchitectureError as err:
                raise ArchitectureError(f"config key theory.cnn.layers[{i}] ({layer.name}): {err} "
                                        f"(its input is {height} x {width})") from None
        if layer.kind == "conv":
            channels_in, channels = channels, layer.channels
        else:
            channels_in = channels
        rows.append({
            "name": layer.name, "kind": layer.kind,
            "kernel": list(layer.kernel), "stride": list(layer.stride),
            "input": [height, width, channels_in], "shape": [new_h, new_w, channels],
        })
        height, width = new_h, new_w
    return rows


def receptive_field(layers: list[Layer]) -> list[dict]:
    """1.3: r_l = r_{l-1} + (k_l - 1) j_{l-1}, j_l = j_{l-1} s_l per axis, up to the last conv."""
    last_conv = max(i for i, layer in enumerate(layers) if layer.kind == "conv")
    r = sp.Matrix([1, 1])
    j = sp.Matrix([1, 1])
    rows = []
    for layer in layers[: last_conv + 1]:
        r = r + sp.Matrix([(layer.kernel[a] - 1) * j[a] for a in range(2)])
        j = sp.Matrix([j[a] * layer.stride[a] for a in range(2)])
        rows.append({"name": layer.name, "kernel": list(layer.kernel), "stride": list(layer.stride),
                     "jump": [int(j[0]), int(j[1])], "field": [int(r[0]), int(r[1])]})
    return rows


def parameter_counts(input_shape: list[int], layers: list[Layer]) -> list[dict]:
    """1.4: weights per layer (no biases) when every conv keeps its input's spatial size."""
    shapes = layer_shapes(input_shape, layers, same=True)
    rows = []
    channels = input_shape[2]
    for layer, shape in zip(layers, shapes):
        if layer.kind == "conv":
            kh, kw = sp.symbols("k_h k_w")
            c_in, c_out = sp.symbols("C_in C_out")
            formula = kh * kw * c_in * c_out
            count = formula.subs({kh: layer.kernel[0], kw: layer.kernel[1],
                                  c_in: channels, c_out: layer.channels})
            factors = [layer.kernel[0], layer.kernel[1], channels, layer.channels]
            channels = layer.channels
        elif layer.kind == "fc":
            count = sp.Integer(shape["inputs"] * layer.channels)
            factors = [shape["inputs"], layer.channels]
        else:
            count, factors = sp.Integer(0), []
        rows.append({"name": layer.name, "kind": layer.kind, "factors": factors, "count": int(count),
                     "output": shape["shape"]})
    return rows


def derive(input_shape: list[int], layer_spec: list[dict]) -> dict:
    """All of section 1 as one JSON-ready dict."""
    layers = parse_layers(layer_spec)
    counts = parameter_counts(input_shape, layers)
    return {
        "input_shape": list(input_shape),
        "layers": layer_spec,
        "padding": same_padding(),
        "shapes_no_padding": layer_shapes(input_shape, layers),
        "receptive_field": receptive_field(layers),
        "parameters": counts,
        "parameters_total": sum(row["count"] for row in counts),
    }
