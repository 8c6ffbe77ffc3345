"""Section 5's statistics: active units, intervals and tests that the PDF's words follow."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm, ttest_ind

def active_units(scores: dict, threshold: float) -> int:
    """Latent dimensions whose posterior mean varies across the images by more than `threshold`
    (Cov_x E_q[z_u], Burda et al. 2016): a unit the decoder can read. A collapsed unit's mean
    is the same for every image, whatever its KL."""
    return sum(v > threshold for v in scores["mu_variance_per_dimension"])


def active_directions(mu: np.ndarray, threshold: float) -> int:
    """Active units counted along the principal directions of the posterior means instead of the
    axes: eigenvalues of Cov_x(mu) above `threshold`. Rotation-invariant, so two directions that
    spread a little variance over many axes count as two."""
    return int((np.linalg.eigvalsh(np.cov(np.asarray(mu, float), rowvar=False)) > threshold).sum())


def wilson_interval(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval of a proportion (accuracy on n test images); sound at small n."""
    if n == 0:
        return (math.nan, math.nan)
    z = norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def paired_relative_difference(errors: np.ndarray, baseline: np.ndarray, *, resamples: int, seed: int,
                               confidence: float) -> dict:
    """mean(errors) / mean(baseline) - 1 over the same images, with a percentile bootstrap
    interval that resamples images (both errors of an image together). Negative: lower error."""
    errors, baseline = np.asarray(errors, float), np.asarray(baseline, float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(errors), size=(resamples, len(errors)))
    ratios = errors[picks].mean(1) / baseline[picks].mean(1) - 1
    low, high = np.quantile(ratios, [(1 - confidence) / 2, (1 + confidence) / 2])
    return {"difference": float(errors.mean() / baseline.mean() - 1), "low": float(low), "high": float(high),
            "images": len(errors), "resamples": resamples, "confidence": confidence,
            "verdict": "lower" if high < 0 else "higher" if low > 0 else "matches"}


def spread(values: list[float]) -> dict:
    """Mean, sample standard deviation (0 for one value) and the values themselves."""
    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "values": [float(v) for v in values]}


def welch_p(a: list[float], b: list[float]) -> float | None:
    """Two-sided p-value of Welch's t-test that two variants' means differ (None when undefined)."""
    if min(len(a), len(b)) < 2 or (np.std(a) == 0 and np.std(b) == 0):
        return None
    return float(ttest_ind(a, b, equal_var=False).pvalue)


ISOPHOTE = 0.1  # of the peak: above the sky noise of real images (about 2.5 % of the peak), so a
#                noisy original and a smooth generated image are measured over the same light


def shapes(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per image (N, S, S, 3 in [0, 1]): the galaxy's light above the sky (the median of the border
    pixels) within the isophote at ISOPHOTE of its peak, its RMS radius in pixels and its axis
    ratio b/a (1 round, towards 0 elongated), from the light-weighted second moments."""
    grey = np.asarray(images, float).mean(-1)
    border = np.concatenate([grey[:, 0], grey[:, -1], grey[:, :, 0], grey[:, :, -1]], axis=1)
    light = np.clip(grey - np.median(border, axis=1)[:, None, None], 0, None)
    light = np.where(light >= ISOPHOTE * light.max((1, 2), keepdims=True), light, 0.0)
    flux = light.sum((1, 2)) + 1e-12
    ys, xs = np.indices(grey.shape[1:], dtype=float)
    cy, cx = ((light * c).sum((1, 2)) / flux for c in (ys, xs))
    dy, dx = ys - cy[:, None, None], xs - cx[:, None, None]
    cyy, cxx, cxy = ((light * a * b).sum((1, 2)) / flux for a, b in ((dy, dy), (dx, dx), (dx, dy)))
    half_trace, det = (cyy + cxx) / 2, cyy * cxx - cxy ** 2
    root = np.sqrt(np.clip(half_trace ** 2 - det, 0, None))
    major, minor = half_trace + root, np.clip(half_trace - root, 0, None)
    return {"light": flux / grey[0].size, "radius": np.sqrt(major + minor),
            "axis_ratio": np.sqrt(minor / np.maximum(major, 1e-12))}


def shape_summary(images: np.ndarray) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of each of shapes()' measures over the images."""
    return {k: {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
            for k, v in shapes(images).items()}
