# Rule mnist_data: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.mnist.data import run
from assignment5.step import run_step

run_step(snakemake, lambda s: run(s, out=snakemake.output[0]))
