# Rule galaxy_pca: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.galaxy.pca import run
from assignment5.step import run_step

run_step(snakemake, lambda s: run(s, data=snakemake.input[0], out=snakemake.output[0],
                                  threads=snakemake.threads))
