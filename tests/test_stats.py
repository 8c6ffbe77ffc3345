"""Section 5's statistics (active units, intervals) and the code digest that reruns edited rules."""

import numpy as np
import pytest

from assignment5 import code_digest
from assignment5.galaxy import stats
from conftest import ROOT

pytestmark = pytest.mark.unit


def test_active_units_count_dimensions_whose_mean_moves_with_the_input():
    scores = {"mu_variance_per_dimension": [0.5, 0.02, 0.009, 0.0], "kl_per_dimension": [3, 0.2, 0.2, 0.2]}
    assert stats.active_units(scores, 0.01) == 2  # a KL of 0.2 nats alone does not make a unit active


def test_wilson_interval_contains_the_estimate_and_narrows_with_n():
    low, high = stats.wilson_interval(60, 100, 0.95)
    assert low < 0.6 < high and high - low == pytest.approx(0.19, abs=0.01)
    low2, high2 = stats.wilson_interval(600, 1000, 0.95)
    assert high2 - low2 < (high - low) / 3
    assert stats.wilson_interval(0, 10, 0.95)[0] == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("shift, verdict", [(-0.2, "lower"), (0.0, "matches"), (0.2, "higher")])
def test_paired_bootstrap_says_lower_higher_or_matches_by_its_interval(shift, verdict):
    rng = np.random.default_rng(1)
    baseline = rng.uniform(1, 2, 500)
    errors = baseline * (1 + shift) + rng.normal(0, 0.05, 500)
    result = stats.paired_relative_difference(errors, baseline, resamples=2000, seed=0, confidence=0.95)
    assert result["verdict"] == verdict
    assert result["low"] <= result["difference"] <= result["high"]
    assert result == stats.paired_relative_difference(errors, baseline, resamples=2000, seed=0, confidence=0.95)  # the seed fixes it


def test_code_digest_ignores_comments_and_docstrings_but_not_code(tmp_path, monkeypatch):
    script = tmp_path / "step.py"
    script.write_text('"""A step."""\nfrom assignment5.galaxy.stats import spread\nX = 1  # one\n')
    first = code_digest.of_script(str(script))
    code_digest.of_script.cache_clear()
    script.write_text('"""Another docstring."""\nfrom assignment5.galaxy.stats import spread\nX = 1  # uno\n')
    assert code_digest.of_script(str(script)) == first
    code_digest.of_script.cache_clear()
    script.write_text('"""A step."""\nfrom assignment5.galaxy.stats import spread\nX = 2\n')
    assert code_digest.of_script(str(script)) != first
    code_digest.of_script.cache_clear()


def test_code_digest_follows_the_package_imports_and_the_kernel_source():
    files = {p.name for p in code_digest.files_of_script(str(ROOT / "workflow" / "scripts" / "tweets_train.py"))}
    assert {"train.py", "model.py", "fused_lstm.py", "fused_lstm.cpp", "training.py"} <= files
    assert "figures.py" not in files and "cnn.py" not in files


def test_active_directions_count_two_directions_spread_over_many_axes_as_two():
    rng = np.random.default_rng(0)
    two = rng.normal(size=(500, 2)) @ rng.normal(size=(2, 16))  # two directions, spread over 16 axes
    mu = two + rng.normal(scale=0.01, size=(500, 16))
    assert stats.active_directions(mu, 0.01) == 2
    assert stats.active_units({"mu_variance_per_dimension": mu.var(0).tolist()}, 0.01) >= 12  # most axes


def gaussian_galaxies(n, sigma_y, sigma_x, size=32, sky=0.05, seed=0):
    """n images of one elliptical Gaussian galaxy on a noisy sky, randomly placed near the centre."""
    rng = np.random.default_rng(seed)
    ys, xs = np.indices((size, size))
    images = []
    for cy, cx in rng.uniform(size / 2 - 2, size / 2 + 2, (n, 2)):
        light = 0.8 * np.exp(-((ys - cy) ** 2 / (2 * sigma_y ** 2) + (xs - cx) ** 2 / (2 * sigma_x ** 2)))
        grey = np.clip(sky + light + rng.normal(scale=0.01, size=light.shape), 0, 1)
        images.append(np.repeat(grey[..., None], 3, -1))
    return np.array(images)


def test_shapes_measure_size_and_elongation_whatever_the_sky_and_position():
    round_, long_ = stats.shapes(gaussian_galaxies(20, 3, 3)), stats.shapes(gaussian_galaxies(20, 1.5, 6))
    # a Gaussian cut at 10 % of its peak (r = 2.15 sigma) has an RMS radius of 1.23 sigma
    assert np.allclose(round_["radius"], 1.23 * 3, rtol=0.05) and (round_["axis_ratio"] > 0.9).all()
    assert np.allclose(long_["axis_ratio"], 0.25, atol=0.06)
    summary = stats.shape_summary(gaussian_galaxies(20, 1.5, 6))
    assert set(summary) == {"light", "radius", "axis_ratio"} and summary["radius"]["sd"] > 0


def test_a_generated_class_matches_a_measure_within_one_standard_deviation_of_the_originals():
    from assignment5.galaxy.figures import class_shapes

    originals = stats.shape_summary(gaussian_galaxies(30, 1.5, 6))
    infos = {arch: {"class_shapes": {"edge_on": {"originals": originals,
                                                 "generated": stats.shape_summary(gaussian_galaxies(30, sy, sx, seed=1))}}}
             for arch, (sy, sx) in {"mlp": (3, 3), "conv": (1.5, 6)}.items()}
    out = class_shapes(infos, ["edge_on"])["edge_on"]["generated"]
    assert not out["mlp"]["axis_ratio"]["within_sd"] and out["conv"]["axis_ratio"]["within_sd"]
    assert out["conv"]["radius"]["within_sd"]
