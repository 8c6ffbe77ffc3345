# Rule galaxy_data: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.galaxy.data import run
from assignment5.step import run_step

run_step(snakemake, lambda s: run(s, labels=snakemake.input.labels, images=snakemake.input.images,
                                  out=snakemake.output.npz, summary=snakemake.output.summary,
                                  threads=snakemake.threads))
