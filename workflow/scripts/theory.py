# Rule theory: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.step import run_step
from assignment5.theory.results import run

run_step(snakemake, lambda s: run(s, cnn_out=snakemake.output.cnn, vae_out=snakemake.output.vae))
