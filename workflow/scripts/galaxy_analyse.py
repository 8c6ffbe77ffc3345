# Rule galaxy_analyse: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.galaxy.analyse import run
from assignment5.step import run_step

run_step(snakemake, lambda s: run(s, data=snakemake.input.data, model=snakemake.input.model,
                                  npz=snakemake.output.npz, json=snakemake.output.json,
                                  threads=snakemake.threads))
