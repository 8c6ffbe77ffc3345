"""The config is validated before any job runs; errors name the offending key."""

import pytest
import yaml

from workflow_copy import copy_workflow, run_snakemake


def dry_run(folder, target, *args):
    return run_snakemake(folder, target, *args, "-n")


@pytest.fixture()
def workflow(tmp_path):
    return copy_workflow(tmp_path)


@pytest.mark.parametrize("profile", ["smoke", "full"])
def test_profiles_validate(workflow, profile):
    result = dry_run(workflow, "results/theory/cnn.json", "--configfile", f"config/{profile}.yaml")
    assert result.returncode == 0, result.stderr


def test_misspelt_key_is_named(workflow):
    (workflow / "bad.yaml").write_text(yaml.safe_dump({"mnist": {"epoch": 3}}))
    result = dry_run(workflow, "results/theory/cnn.json", "--configfile", "bad.yaml")
    assert result.returncode != 0
    assert "'epoch' was unexpected" in result.stdout + result.stderr


def test_wrong_type_is_named(workflow):
    result = dry_run(workflow, "results/theory/cnn.json", "--config", "tweets={'iterations': 'many'}")
    assert result.returncode != 0
    assert "'many' is not of type 'integer'" in result.stdout + result.stderr


def test_missing_galaxy_data_fails_at_once_naming_the_folder(workflow, tmp_path):
    result = dry_run(workflow, "results/galaxy/pca.json", "--config", f"data_dir={tmp_path / 'nowhere'}")
    assert result.returncode != 0
    assert "images_training_rev1" in result.stdout + result.stderr
