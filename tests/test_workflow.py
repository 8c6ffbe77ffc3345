"""End to end: the whole workflow in the smoke profile, then the PDF's text is checked."""

import os
import re
import shutil
import subprocess

import pytest

from workflow_copy import copy_workflow, run_snakemake

pytestmark = pytest.mark.slow


def snakemake(folder, target, *args):
    return run_snakemake(folder, target, *args, cores=os.cpu_count() or 2)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, shared_data):
    if shutil.which("pdftotext") is None or shutil.which("latexmk") is None:
        pytest.fail("TeX Live and poppler-utils are missing: run scripts/setup.sh")
    folder = copy_workflow(tmp_path_factory.mktemp("workflow"))
    config = ["--configfile", "config/smoke.yaml", "--config", f"data_dir={shared_data}"]
    result = snakemake(folder, "report/assignment5.pdf", *config)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    text = subprocess.run(["pdftotext", "-layout", str(folder / "report" / "assignment5.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    return folder, config, text


def test_every_answered_item_is_in_the_pdf(smoke_run):
    _, _, text = smoke_run
    flat = re.sub(r"\s+", " ", text)
    for item in ("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "4.1", "4.2", "4.3"):
        assert f"Answer {item}." in flat, item
    assert "755,600 parameters" in flat                        # 1.4
    assert "pW=w" in flat.replace(" ", "")                    # 1.1
    for shape in ("254", "84", "42", "40", "20", "10"):        # 1.2
        assert shape in flat
    assert "22 × 22 pixel patch" in flat                       # 1.3
    assert "binary cross-entropy" in flat                      # 4.3
    for heading in ("VGG11 on MNIST", "character LSTM on tweets", "VAEs on Galaxy Zoo",
                    "Bonus: beyond the description", "Provenance and budgets"):
        assert heading in flat, heading
    assert "profile smoke" in flat and "torchvision" in flat and "git commit" in flat


def test_nothing_left_to_do_and_a_template_edit_reruns_only_report(smoke_run):
    folder, config, _ = smoke_run
    result = snakemake(folder, "report/assignment5.pdf", *config, "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
    # An edit, not a touch: Snakemake 9 ignores a newer mtime when the content is unchanged.
    with open(folder / "report" / "assignment5.tex.j2", "a") as template:
        template.write("%# edited\n")
    result = snakemake(folder, "report/assignment5.pdf", *config, "-n")
    jobs = re.findall(r"^(?:local)?rule (\w+):", result.stdout, re.M)
    assert jobs == ["report"], result.stdout
