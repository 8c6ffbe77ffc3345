# The two commands of the README; both set up what is missing first (scripts/setup.sh).
#   make report [DATA=folder] [BUDGET=smoke|default|full]
#   make test   [DATA=folder]     (the full suite, as CI runs it)
#   make check                    (the fast unit tests)
VENV   ?= .venv
CORES  ?= $(shell nproc)
BUDGET ?= default
DATA   ?=

BUDGETS := default $(filter-out config,$(basename $(notdir $(wildcard config/*.yaml))))
ifeq ($(filter $(BUDGET),$(BUDGETS)),)
  $(error BUDGET=$(BUDGET) is not a budget; the budgets are: $(BUDGETS) (config/<budget>.yaml))
endif
CONFIG_ARGS := $(if $(filter-out default,$(BUDGET)),--configfile config/$(BUDGET).yaml)
# DATA is single-quoted for the shell (a folder name may hold spaces, &, $ or quotes).
quote        = '$(subst ','\'',$(1))'
DATA_ARGS   := $(if $(DATA),--config $(call quote,data_dir=$(DATA)))

.PHONY: setup report test check bench gpu-check dry-run clean
setup:
	@bash scripts/setup.sh

report: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(CONFIG_ARGS) $(DATA_ARGS)

test: setup
	ASSIGNMENT5_DATA=$(call quote,$(or $(DATA),data/external)) $(VENV)/bin/pytest -q -rs

check: setup
	ASSIGNMENT5_DATA=$(call quote,$(or $(DATA),data/external)) $(VENV)/bin/pytest -q -m unit

bench: setup
	$(VENV)/bin/python bench/run_all.py

# On a CUDA machine: the smoke budget end to end on the GPU, with each run's throughput.
gpu-check: setup
	$(VENV)/bin/python scripts/gpu_check.py $(call quote,$(or $(DATA),data/external))

dry-run: setup
	$(VENV)/bin/snakemake -n $(CONFIG_ARGS) $(DATA_ARGS)

# Results and data of one budget (BUDGET=...), its PDF and its Snakemake records; not the venv.
clean:
	rm -rf "results/$(BUDGET)" "data/$(BUDGET)" \
	  "report/assignment5$(if $(filter-out default,$(BUDGET)),-$(BUDGET)).pdf"
