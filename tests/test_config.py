"""The config is checked before any job runs; errors name the offending key."""

from pathlib import Path

import pytest
import yaml

from workflow_copy import copy_workflow, run_snakemake


def dry_run(folder, *args):
    return run_snakemake(folder, "results/smoke/theory/cnn.json", "--configfile", "config/smoke.yaml",
                         *args, "-n")


@pytest.fixture()
def workflow(tmp_path):
    return copy_workflow(tmp_path)


@pytest.mark.parametrize("budget", ["smoke", "full"])
def test_budgets_validate(workflow, budget):
    result = run_snakemake(workflow, f"results/{budget}/theory/cnn.json", "--configfile",
                           f"config/{budget}.yaml", "-n")
    assert result.returncode == 0, result.stderr


def test_misspelt_key_is_named(workflow):
    (workflow / "bad.yaml").write_text(yaml.safe_dump({"mnist": {"epoch": 3}}))
    result = dry_run(workflow, "--configfile", "config/smoke.yaml", "bad.yaml")
    assert result.returncode != 0
    assert "'epoch' was unexpected" in result.stdout + result.stderr


def test_wrong_type_is_named(workflow):
    result = dry_run(workflow, "--config", "tweets={'iterations': 'many'}")
    assert result.returncode != 0
    assert "'many' is not of type 'integer'" in result.stdout + result.stderr


def test_a_float_for_an_integer_is_named(workflow):
    (workflow / "bad.yaml").write_text("tweets:\n  max_length: 280.0\n")
    result = dry_run(workflow, "--configfile", "config/smoke.yaml", "bad.yaml")
    assert result.returncode != 0
    assert "tweets.max_length" in result.stdout + result.stderr


def test_duplicate_bonus_names_are_refused(workflow):
    variants = [{"name": "same", "beta": 1.0, "kl_warmup_epochs": 0, "free_bits": 0},
                {"name": "same", "beta": 0.5, "kl_warmup_epochs": 0, "free_bits": 0}]
    (workflow / "bad.yaml").write_text(yaml.safe_dump({"galaxy": {"bonus": {"variants": variants}}}))
    result = dry_run(workflow, "--configfile", "config/smoke.yaml", "bad.yaml")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "galaxy.bonus.variants" in out and "['same']" in out


def test_batchnorm_rates_that_name_the_same_run_are_refused(workflow):
    (workflow / "bad.yaml").write_text(yaml.safe_dump({"mnist": {"batchnorm_check": {"lrs": [0.1, 0.1000000001]}}}))
    result = dry_run(workflow, "--configfile", "config/smoke.yaml", "bad.yaml")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "config key mnist.batchnorm_check.lrs" in out and "print alike" in out and "Traceback" not in out


@pytest.mark.parametrize("override", ['tweets={"iterations": 1000}', 'tweets={"lr": "1e-3"}',
                                      "mnist={'nesterov': 'false', 'train_limit': 'null'}"])
def test_numeric_overrides_on_the_command_line_pass_the_schema(workflow, override):
    result = dry_run(workflow, "--config", override)
    assert result.returncode == 0, result.stderr[-2000:]


def test_command_line_strings_get_the_schema_types():
    from assignment5.config_check import coerce
    from assignment5.settings import load_config
    from conftest import ROOT

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    config = load_config([ROOT / "config" / "config.yaml"])
    config["tweets"] |= {"iterations": "1000", "lr": "1e-3", "train_url": "null", "max_length": "280.0"}
    config["mnist"] |= {"nesterov": "false", "idx_dir": "123"}
    config["galaxy"]["image_size"] = "64"
    out = coerce(config, schema, schema)
    assert out["tweets"]["iterations"] == 1000 and out["tweets"]["lr"] == 0.001
    assert out["tweets"]["train_url"] is None and out["mnist"]["nesterov"] is False
    assert out["mnist"]["idx_dir"] == "123"          # a string key stays a string
    assert out["galaxy"]["image_size"] == 64         # enum of integers
    assert out["tweets"]["max_length"] == "280.0"    # not a whole number: the schema refuses it


def test_missing_data_names_the_folder_and_the_setting(workflow, tmp_path):
    for target, needs in (("results/smoke/galaxy/pca.json", "images_training_rev1"),
                          ("results/smoke/tweets/history.json", "tweets_train.csv")):
        result = run_snakemake(workflow, target, "--configfile", "config/smoke.yaml", "--config",
                               f"data_dir={tmp_path / 'nowhere'}", "-n")
        out = result.stdout + result.stderr
        assert result.returncode != 0 and needs in out and "data_dir" in out, out[-2000:]
        assert str(tmp_path / "nowhere") in out


def test_config_readme_is_current():
    from conftest import ROOT
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "config_doc.py"), "--check"])
    assert result.returncode == 0, "config/README.md is stale: run python scripts/config_doc.py"


def test_the_estimate_uses_measured_rates(tmp_path, monkeypatch):
    import json

    from assignment5 import estimate, paths
    from assignment5.settings import load_config
    from conftest import ROOT

    monkeypatch.chdir(tmp_path)
    P = paths.for_budget("default")
    for path, data in ((P.mnist_history, {"images_per_second": 200.0}),
                       (P.tweets_history, {"iterations_per_second": 100.0}),
                       (P.galaxy_history("conv"), {"images_per_second": 50.0})):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data))
    images = tmp_path / "data" / "galaxy-zoo" / "images_training_rev1"
    images.mkdir(parents=True)
    for i in range(100):  # the estimate counts every image kind the data step reads
        (images / f"{i}.{('jpg', 'JPEG', 'png')[i % 3]}").write_bytes(b"")
    (images / "notes.txt").write_bytes(b"")
    config = load_config([ROOT / "config" / "config.yaml", ROOT / "config" / "full.yaml"])
    config["data_dir"] = str(tmp_path / "data")
    text = estimate.report(config, estimate.galaxy_images(config))
    assert "VGG11 on MNIST: 25m00s (5 epochs x 60,000 images at 200/s (default))" in text
    assert "character LSTM: 16m40s" in text
    assert "VAE conv: 6m00s (200 epochs x 90 images at 50/s (default))" in text
    assert "VAE mlp: no rate yet" in text and "run the smoke budget first" in text
