# The two commands of the README; both set up what is missing first (scripts/setup.sh).
#   make report [DATA=folder] [PROFILE=smoke|default|full]
#   make test   [DATA=folder]
VENV    ?= .venv
CORES   ?= $(shell nproc)
PROFILE ?= default
DATA    ?=

CONFIG_ARGS := $(if $(filter-out default,$(PROFILE)),--configfile config/$(PROFILE).yaml)
DATA_ARGS   := $(if $(DATA),--config data_dir=$(abspath $(DATA)))

.PHONY: setup report test bench dry-run clean
setup:
	@bash scripts/setup.sh

report: setup
	$(VENV)/bin/snakemake report/assignment5.pdf --cores $(CORES) $(CONFIG_ARGS) $(DATA_ARGS)

test: setup
	ASSIGNMENT5_DATA=$(abspath $(or $(DATA),data/external)) $(VENV)/bin/pytest -q -rs

bench: setup
	$(VENV)/bin/python bench/run_all.py

dry-run: setup
	$(VENV)/bin/snakemake report/assignment5.pdf -n $(CONFIG_ARGS) $(DATA_ARGS)
