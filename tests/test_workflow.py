"""End to end: the whole workflow in the smoke budget, then the PDF's text is checked."""

import re

import pytest
import yaml

from conftest import ROOT
from workflow_copy import scheduled_jobs, snakemake

pytestmark = pytest.mark.slow


def test_every_answered_item_is_in_the_pdf(smoke_run):
    _, _, text = smoke_run
    flat = re.sub(r"\s+", " ", text)
    for item in ("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "4.1", "4.2", "4.3"):
        assert f"Answer {item}." in flat, item
    assert "755,600 parameters" in flat                        # 1.4
    assert "pW=w" in flat.replace(" ", "")                    # 1.1
    assert "254 × 254 × 100" in flat and "84 × 84 × 50" in flat and "20 × 10 × 30" in flat  # 1.2
    assert "22 × 22 pixel patch" in flat                       # 1.3
    assert "binary cross-entropy" in flat                      # 4.3
    for heading in ("VGG11 on MNIST", "character LSTM on tweets", "VAEs on Galaxy Zoo",
                    "Bonus: beyond the description", "Provenance and budgets"):
        assert heading in flat, heading
    assert "budget smoke" in flat and "torchvision" in flat and "git commit" in flat
    # the appendix names the rule Snakemake resolves for each file
    for result, rule in (("tweets_tuned", "tweets_variant"), ("mnist_batchnorm", "mnist_batchnorm"),
                         ("galaxy_curves", "galaxy_figures"), ("cnn", "theory")):
        assert re.search(rf"{result}\s+{rule}\s+results/smoke/", text), result
    # the body (contents to the last section's end) fits in 12 pages: the appendix starts by page 13
    appendix_page = int(re.search(r"A\s+Reference tables\s+(\d+)", text).group(1))
    assert appendix_page <= 13, appendix_page


def test_the_pdf_shows_the_smoke_settings_not_the_default_ones(smoke_run):
    """Numbers in the prose come from the run's files: the smoke budget's, read from its config."""
    _, _, text = smoke_run
    flat = re.sub(r"\s+", " ", text)
    smoke = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    iterations = smoke["tweets"]["iterations"]
    assert f"iterations {iterations:,} (" in flat and f"After {iterations:,} iterations" in flat
    assert f"{default['tweets']['iterations']:,}" not in flat
    assert f"training / test images {smoke['mnist']['train_limit']} / {smoke['mnist']['test_limit']}" in flat
    limit = smoke["galaxy"]["limit"]
    assert f"This run uses {limit} of them" in flat and f"a fixed, hash-ordered subset of {limit}" in flat
    assert f"3 × {smoke['galaxy']['image_size']} × {smoke['galaxy']['image_size']} values" in flat
    assert f"learning rate {default['tweets']['lr']}" in flat  # not overridden by smoke


def test_nothing_left_to_do_and_a_template_edit_reruns_only_report(smoke_run):
    folder, config, _ = smoke_run
    result = snakemake(folder, *config, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
    # An edit, not a touch: Snakemake 9 ignores a newer mtime when the content is unchanged.
    template = folder / "report" / "assignment5.tex.j2"
    original = template.read_text()
    template.write_text(original + "%# edited\n")
    try:
        result = snakemake(folder, *config, "-n")
        assert scheduled_jobs(result.stdout) == {"report"}, result.stdout
    finally:
        template.write_text(original)


def test_html_report_holds_every_figure_and_table_with_captions(smoke_run):
    folder, config, _ = smoke_run
    result = snakemake(folder, *config, "--report", "report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    html = (folder / "report.html").read_text()
    for name in ("fig_curves.pdf", "fig_confusion.pdf", "fig_misclassified.pdf", "fig_lengths.pdf",
                 "fig_reconstructions.pdf", "fig_prior.pdf", "fig_generation.pdf", "fig_latent.pdf", "fig_weights.pdf",
                 "fig_bonus.pdf", "epochs.tsv", "evaluations.tsv", "summary.tsv", "bonus.tsv",
                 "assignment5-smoke.pdf"):
        assert name in html, name
    for caption in ("Per-epoch figures of the VGG11 run", "Bonus study: test negative ELBO",
                    "2 VGG11 on MNIST", "5 Galaxy Zoo VAEs", "reproduces a deep-learning course"):
        assert caption in html, caption


def test_a_failed_pdf_build_keeps_the_last_good_pdf(smoke_run):
    folder, config, _ = smoke_run
    pdf = folder / "report" / "assignment5-smoke.pdf"
    before = pdf.read_bytes()
    section = folder / "report" / "section3.tex.j2"
    original = section.read_text()
    section.write_text(original + "\n\\undefinedmacro\n")
    try:
        result = snakemake(folder, *config)
        out = result.stdout + result.stderr
        assert result.returncode != 0 and "Undefined control sequence" in out
        assert pdf.read_bytes() == before
    finally:
        section.write_text(original)
    assert snakemake(folder, *config).returncode == 0  # and the next good build replaces it
