import glob
import json
import os
import sys

from snakemake.utils import validate

from assignment5 import paths

# Stop before any job when a key is unknown, misspelt or of the wrong type.
validate(config, schema="../schemas/config.schema.yaml")

# The interpreter running snakemake runs every step, so an unactivated venv works too.
PY = f'"{sys.executable}" -m'
DATA_DIR = config["data_dir"]


def as_json(value):
    """Pass a config value to an entry point as one shell argument ({params.x:q})."""
    return json.dumps(value, separators=(",", ":"))
