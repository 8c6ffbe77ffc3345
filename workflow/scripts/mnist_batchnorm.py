# Rule mnist_batchnorm: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.mnist.batchnorm import run
from assignment5.step import run_step

run_step(snakemake, lambda s: run(s, histories=list(snakemake.input.histories), output=snakemake.output[0]))
