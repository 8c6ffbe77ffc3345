"""The report template prints what the result files say, never a typed number: rendered in
seconds from small fixture result files (tests/fixtures/results/, from a smoke run)."""

import copy
import json
import re
import shutil

import pytest

from assignment5 import paths
from assignment5.latex import Latex, compile_pdf
from assignment5.report import render, sources
from conftest import ROOT

pytestmark = pytest.mark.unit  # make check: the fast tier

FIXTURES = ROOT / "tests" / "fixtures" / "results"


def context(tmp_path) -> dict:
    """What assignment5.report.load_context builds, from the fixtures; figures are one tiny PDF."""
    figure = tmp_path / "figure.pdf"
    if not figure.exists():
        shutil.copy(FIXTURES.parent / "figure.pdf", figure)
    ctx = {name.stem: json.loads(name.read_text()) for name in FIXTURES.glob("*.json")}
    ctx["fig"] = {name: Latex(figure.name) for name in paths.for_budget("smoke").report_inputs
                  if name.startswith(("mnist_", "tweets_", "galaxy_")) and name not in ctx}
    inputs = paths.for_budget("smoke").report_inputs
    ctx["sources"] = sources(inputs, {name: f"rule_of_{name}" for name in inputs})
    return ctx


def text_of(ctx) -> str:
    tex = render(ROOT / paths.REPORT_TEMPLATE, ctx)
    return re.sub(r"\s+", " ", tex)


def prose(ctx) -> str:
    """The rendered text with the empty groups that keep spaces after template tags removed."""
    return re.sub(r"\s+", " ", text_of(ctx).replace("{}", ""))


def test_the_template_renders_from_fixture_results(tmp_path):
    tex = text_of(context(tmp_path))
    assert "\\VAR" not in tex and "\\BLOCK" not in tex
    assert "budget \\texttt{smoke}" in tex
    # provenance: one appendix row per result, naming its rule and file, not a note under each float
    assert "[rule" not in tex
    for name, path in paths.for_budget("smoke").report_inputs.items():
        row = f"\\texttt{{{name}}} & \\texttt{{rule_of_{name}}} & \\texttt{{{path}}}"
        assert row.replace("_", "\\_") in tex, row


def test_settings_in_the_prose_follow_the_results(tmp_path):
    """Change the run's settings in the result files: every sentence that states them follows."""
    ctx = context(tmp_path)
    original = text_of(ctx)
    changed = copy.deepcopy(ctx)
    t = changed["tweets_history"]["settings"]
    t.update(iterations=12345, lr=0.0042, hidden_size=77, bucket_pool=9, eval_every=111)
    m = changed["mnist_history"]["settings"]
    m.update(epochs=7, lr=0.123, momentum=0.77)
    m["one_cycle"] = {"pct_start": 0.25, "div_factor": 4, "final_div_factor": 100}
    changed["galaxy"]["curves_skip_fraction"] = 0.07
    changed["galaxy"]["archs"]["mlp"]["architecture"]["hidden"] = [300, 200]
    changed["galaxy"]["names"]["conv"] = "(ii) my conv net"
    tex = text_of(changed)
    for shown in ("12,345", "0.0042", "hidden size 77", "linear $77 \\to 2$",
                  "every 111 iterations", "0.123", "momentum 0.77", "25\\,\\% warm-up", "peak$/$4",
                  "7\\,\\% of training", "300, 200 units", "(ii) my conv net"):
        assert shown in tex, shown
    assert "dropout of 30\\,\\% on the final hidden state" in original and "weight decay 0.05 (AdamW)" in original
    assert "global norm clipped at 1 at each step" in original
    kept = ctx["tweets_tuned"]["kept_iteration"]
    assert "(early stopping): those after iteration" in original and f"(kept {kept:,})" in original
    changed["tweets_tuned"]["settings"].update(dropout=0.0, weight_decay=0.0, grad_clip=None,  # plain Adam
                                               keep="last")
    tex = text_of(changed)
    assert "on the final hidden state while" not in tex and "AdamW" not in tex and "clipped at" not in tex
    assert "early stopping" not in tex and "(kept" not in tex
    for old in (f"{ctx['tweets_history']['settings']['iterations']:,} iterations",
                f"hidden size {ctx['tweets_history']['settings']['hidden_size']}"):
        assert old in original and old not in tex, old


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="TeX is installed by scripts/setup.sh")
def test_the_fixture_report_compiles_even_with_latex_specials_in_tweets(tmp_path):
    ctx = context(tmp_path)
    ctx["tweets_examples"]["examples"][0]["text"] = "[link] 100% #win & $5 ~ ^_^ {x} \\o/"
    tex = tmp_path / "assignment5.tex"
    tex.write_text(render(ROOT / paths.REPORT_TEMPLATE, ctx))
    compile_pdf(tex, tmp_path / "out.pdf", tmp_path / "build")
    assert (tmp_path / "out.pdf").stat().st_size > 10_000


def test_convergence_and_the_bonus_verdict_follow_the_measurements(tmp_path):
    """The convergence sentence and the bonus verdict are chosen by the numbers, not written."""
    ctx = context(tmp_path)
    archs, bonus = ctx["galaxy"]["archs"], ctx["galaxy"]["bonus"]
    for arch, (change, state) in zip(("mlp", "conv", "resnet"),
                                     ((0.2, "improving"), (0.001, "converged"), (-0.05, "rising"))):
        archs[arch].update(late_improvement=change, convergence=state)
    for arch in archs:
        archs[arch]["late_window"] = 0.1
    archs["resnet"]["late_window"] = 1 / 3  # three evaluations: the window spans the last third
    variant = next(name for name in bonus if name != "plain")
    bonus[variant]["p_vs_plain"] = 0.003
    tex = prose(ctx)
    assert "fell by 20.00\\,\\% for (i) feed-forward" in tex
    assert "rose by 5.00\\,\\% for (iii) ResNet (over its last 33\\,\\%)" in tex
    assert "(ii) convolutional (over" not in tex
    assert "(i) feed-forward was still improving by more than 1\\,\\% even at these small steps: it has not converged" in tex
    assert "the schedule ran out, not that the model converged" in tex  # cosine: no claim of convergence
    assert "(ii) convolutional changed by less than" not in tex
    assert "The test error of (iii) ResNet rose at the end" in tex
    assert "$p = 0.003$, below 0.05: a real difference" in tex

    bonus[variant]["p_vs_plain"] = 0.4
    for arch in archs:
        archs[arch].update(late_improvement=0.0, convergence="converged")
        archs[arch]["settings"]["schedule"] = "constant"
    tex = prose(ctx)
    assert "$p = 0.400$, not below 0.05: within the spread between seeds, no evidence either way" in " ".join(tex.split())
    assert "still improving" not in tex and "schedule ran out" not in tex
    assert "At a constant rate, (i) feed-forward and (ii) convolutional and (iii) ResNet changed by less than 1\\,\\%: converged at this rate." in tex


def test_the_learning_rate_study_shows_its_choice_or_is_absent(tmp_path):
    ctx = context(tmp_path)
    study = ctx["galaxy"]["lr_study"]
    tex = text_of(ctx)
    assert "Learning-rate study" in tex and "held out; the test split is never used" in tex
    for arch, a in study["archs"].items():
        assert f"\\textbf{{{a['chosen']}}}" in tex, arch
    assert f"lowest validation {study['select_by'].upper()}" in tex
    conv = study["archs"]["conv"]["runs"][0]
    assert "follows the learning-rate schedule of its architecture's main run" in tex
    assert f"``{conv['epochs']} of {conv['schedule_epochs']}''" in tex
    own = copy.deepcopy(ctx)
    own["galaxy"]["lr_study"]["horizon"] = "own"
    for a in own["galaxy"]["lr_study"]["archs"].values():
        for r in a["runs"]:
            r["schedule_epochs"] = r["epochs"]
    tex = text_of(own)
    assert "whose rate already falls to zero" in tex and "main run and stops" not in tex
    assert f"{conv['epochs']} of {conv['schedule_epochs']}" not in tex
    changed = copy.deepcopy(ctx)
    changed["galaxy"]["lr_study"] = None  # galaxy.lr is a number: no study, no table
    tex = text_of(changed)
    assert "Learning-rate study" not in tex and "(Adam, the rate falling to 0 along a cosine by the last step, batch size" in tex


def test_the_study_says_whether_its_grid_brackets_each_rate_and_which_free_bits_won(tmp_path):
    ctx = context(tmp_path)
    study = ctx["galaxy"]["lr_study"]
    study["lrs"] = [0.001, 0.002, 0.003]
    for a in study["archs"].values():
        a["bracketed"] = True
    assert "For every architecture the chosen rate lies inside the grid" in prose(ctx)
    study["archs"]["conv"]["bracketed"] = False
    tex = prose(ctx)
    assert "lies at the edge of the grid for (ii) convolutional: a rate beyond it was not tried" in tex
    assert "for the others it lies inside the grid" in tex
    mlp = study["archs"]["mlp"]
    assert mlp["free_bits_tried"] == [0, 0.5]  # config/smoke.yaml
    assert f"$\\lambda \\in \\{{0, 0.5\\}}$ nats" in tex and f"here $\\lambda = {mlp['free_bits']}$" in tex
    mlp["free_bits_tried"] = [0]
    assert "Free bits against posterior collapse" not in prose(ctx)


def test_the_budget_sentence_says_whether_every_architecture_had_200_epochs(tmp_path):
    ctx = context(tmp_path)
    assert "which trains every architecture for fewer (the table above)" in prose(ctx)
    for r in ctx["galaxy"]["archs"].values():
        r["epochs"] = 200
    tex = prose(ctx)
    assert "for fewer" not in tex and "every architecture trains for 200 epochs on the same images" in tex
    assert "the \\texttt{full} budget trains at 64~px" in tex


def test_the_mnist_training_figures_say_which_images_they_score(tmp_path):
    ctx = context(tmp_path)
    m = ctx["mnist_history"]["settings"]
    assert f"a pass over all {m['train_images']:,} training images" in prose(ctx)
    m.update(train_images=60000, train_eval_images=10000)
    assert "a pass over a fixed random draw of 10,000 of the 60,000 training images" in prose(ctx)


def test_a_diverged_run_is_reported_where_its_numbers_would_be(tmp_path):
    ctx = context(tmp_path)
    original = prose(ctx)
    assert "diverged" not in original.replace("a run that diverged", "")
    ctx["tweets_tuned"]["diverged_at_iteration"] = 4321
    ctx["mnist_batchnorm"]["chosen"]["without-batchnorm"]["diverged_at_epoch"] = 3
    ctx["galaxy"]["lr_study"]["archs"]["conv"]["runs"][-1]["diverged_at_iteration"] = 77
    tex = prose(ctx)
    assert "Its training loss stopped being a finite number at iteration 4,321 (it diverged in fp32)" in tex
    assert "its training loss stopped being a finite number in epoch 3: it diverged" in tex
    assert "\\multicolumn{3}{c}{diverged at iteration 77}" in tex


def test_a_tuned_variant_in_its_own_precision_says_so(tmp_path):
    ctx = context(tmp_path)
    assert "(the mandated run: " not in prose(ctx)
    ctx["tweets_history"]["settings"]["precision"] = "bf16"
    assert "at each step, in fp32 (the mandated run: bf16)." in prose(ctx)


def test_the_pca_verdict_follows_the_bootstrap_interval(tmp_path):
    ctx = context(tmp_path)
    archs = ctx["galaxy"]["archs"]
    for arch, r in archs.items():
        r["test"]["mse"] = 0.0012 + 0.0001 * len(arch)
    best = archs["mlp"]  # the lowest test MSE now
    verdicts = {"matches": (-0.02, -0.05, 0.01), "lower": (-0.1, -0.15, -0.05), "higher": (0.1, 0.05, 0.15)}
    words = {"matches": "the best VAE matches the linear baseline", "lower": "the best VAE reconstructs better",
             "higher": "none of the VAEs reaches the linear baseline"}
    for verdict, (difference, low, high) in verdicts.items():
        best["vs_pca"].update(difference=difference, low=low, high=high, verdict=verdict)
        tex = prose(ctx)
        assert words[verdict] in tex, verdict
        assert f"{abs(difference):.1%}".replace("%", "\\,\\%") in tex
        assert ("optimal \\emph{linear} reconstruction" in tex) == (verdict != "lower")
        assert all(words[other] not in tex for other in words if other != verdict)


def test_active_units_collapse_and_probe_intervals_follow_the_numbers(tmp_path):
    ctx = context(tmp_path)
    g = ctx["galaxy"]
    for arch, units, directions in zip(("mlp", "conv", "resnet"), (23, 31, 32), (2, 24, 14)):
        g["archs"][arch].update(active_units=units, active_directions=directions)
    g["archs"]["mlp"]["latent_pca_explained"] = 0.997
    tex = prose(ctx)
    assert "23 for (i) feed-forward, 31 for (ii) convolutional, 32 for (iii) ResNet are \\emph{active units}" in tex
    assert "variance above 0.01 number 2 for (i) feed-forward, 24 for (ii) convolutional, 14 for (iii) ResNet." in " ".join(tex.split())
    assert "(i) feed-forward has largely \\emph{collapsed} to the prior: its means vary along 2 directions" in tex
    assert "(99.7\\,\\% of their variance lies in the two of the latent scatter below), spread thinly over 23 axes" in tex
    assert "(ii) convolutional has largely" not in tex
    for r in g["archs"].values():
        r["probe"].update(accuracy=0.5, interval=[0.45, 0.55])
    g["pca"]["probe"].update(accuracy=0.52, interval=[0.47, 0.57])
    assert "every VAE's interval overlaps that of the pixels' PCA" in prose(ctx)
    g["archs"]["conv"]["probe"].update(accuracy=0.7, interval=[0.65, 0.75])
    tex = prose(ctx)
    assert "the intervals of (ii) convolutional and of the pixels' PCA do not overlap" in tex


def test_the_words_of_the_batchnorm_and_tweet_comparisons_follow_their_intervals(tmp_path):
    ctx = context(tmp_path)
    best = ctx["tweets_best"]
    ctx["mnist_batchnorm"]["difference"] = {"value": 0.01, "interval": [-0.01, 0.03]}
    best["placeholders"]["validation"] |= {"value": -0.006, "interval": [-0.018, 0.005]}
    best["placeholders"]["test"] |= {"value": -0.013, "interval": [-0.024, -0.002]}
    best["vs_baseline"]["tuned"] |= {"value": 0.002, "interval": [-0.009, 0.013]}
    best["vs_baseline"]["main"] |= {"value": -0.062, "interval": [-0.074, -0.05]}
    best["chosen"] = "tuned"
    tex = prose(ctx)
    assert "The two match: their difference, $1.0$ points, has an interval from $-1.0$ to $3.0$" in tex
    assert "($-0.6$ points, 95\\,\\% interval $-1.8$ to $+0.5$): the two match." in tex
    assert "($-1.3$ points, 95\\,\\% interval $-2.4$ to $-0.2$): placeholders cost accuracy there" in tex
    assert "The character LSTM of this run stays below it ($-6.2$ points" in tex
    assert "for the TF-IDF baseline: it matches the baseline ($+0.2$ points" in tex
    assert "so the prediction command keeps raw text" in tex
    ctx["mnist_batchnorm"]["difference"] = {"value": 0.5, "interval": [0.4, 0.6]}
    best["placeholders"]["validation"] |= {"value": 0.02, "interval": [0.01, 0.03]}
    best["chosen"] = "tuned-placeholders"
    tex = prose(ctx)
    assert "At this budget BatchNorm is ahead by 50.0 points (40.0 to 60.0)" in tex
    assert "($+2.0$ points, 95\\,\\% interval $+1.0$ to $+3.0$): placeholders help." in tex
    assert "uses placeholder text and prepares what it reads the same way" in tex


def test_a_cue_that_moves_the_prediction_less_than_its_control_is_called_so(tmp_path):
    ctx = context(tmp_path)
    rows = ctx["tweets_examples"]["cues"]["rows"]
    rows[0] |= {"tweets": 50, "mean_abs_change": 0.2, "control_abs_change": 0.05, "flipped": 0.1}
    rows[1] |= {"tweets": 40, "mean_abs_change": 0.05, "control_abs_change": 0.1, "flipped": 0.1,
                "positive_share": 0.5, "accuracy_with": 0.5, "accuracy_without": 0.5}
    tex = prose(ctx)
    assert "deleting as many other characters of the same tweets moves it by 0.050." in tex
    assert f"Deleting the {rows[1]['cue']}s moves it less than deleting as many other characters (0.050 against 0.100)" in tex
