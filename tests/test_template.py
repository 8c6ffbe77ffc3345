"""The report template prints what the result files say, never a typed number: rendered in
seconds from small fixture result files (tests/fixtures/results/, from a smoke run)."""

import copy
import json
import re
import shutil

import pytest

from assignment5 import paths
from assignment5.latex import Latex, compile_pdf
from assignment5.report import origins, render
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "results"


def context(tmp_path) -> dict:
    """What assignment5.report.load_context builds, from the fixtures; figures are one tiny PDF."""
    figure = tmp_path / "figure.pdf"
    if not figure.exists():
        shutil.copy(FIXTURES.parent / "figure.pdf", figure)
    ctx = {name.stem: json.loads(name.read_text()) for name in FIXTURES.glob("*.json")}
    ctx["fig"] = {name: Latex(figure.name) for name in paths.for_budget("smoke").report_inputs
                  if name.startswith(("mnist_", "tweets_", "galaxy_")) and name not in ctx}
    ctx["origin"] = origins(paths.for_budget("smoke").report_inputs)
    return ctx


def text_of(ctx) -> str:
    tex = render(ROOT / paths.REPORT_TEMPLATE, ctx)
    return re.sub(r"\s+", " ", tex)


def test_the_template_renders_from_fixture_results(tmp_path):
    tex = text_of(context(tmp_path))
    assert "\\VAR" not in tex and "\\BLOCK" not in tex
    assert "budget \\texttt{smoke}" in tex
    # every caption ends with the rule and the file it came from
    # (3 captions describe the PDF itself; one origin note closes the baseline paragraph)
    assert tex.count("\\caption{") - 3 == tex.count("{\\scriptsize [rule \\texttt{") - 1
    assert "[rule \\texttt{galaxy\\_figures}, \\texttt{results/smoke/galaxy/fig\\_latent.pdf}]" in tex


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
    for shown in ("12,345", "0.0042", "hidden size 77", "linear $77 \\to 2$", "pool of 9 batches",
                  "every 111 iterations", "0.123", "momentum 0.77", "25\\,\\% warm-up", "peak$/$4",
                  "7\\,\\% of training", "300, 200 units", "(ii) my conv net"):
        assert shown in tex, shown
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
