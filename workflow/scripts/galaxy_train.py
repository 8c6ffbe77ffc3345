# Rule galaxy_train: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.galaxy.train import run
from assignment5.step import run_step

run_step(snakemake, lambda s: run(s, data=snakemake.input.data, model=snakemake.output.model,
                                  history=snakemake.output.history, threads=snakemake.threads,
                                  lr_choice=snakemake.input.get("lr_choice")))
