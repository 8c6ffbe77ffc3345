# Rule mnist_figures: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.mnist.evaluate import run
from assignment5.step import run_step

out = snakemake.output
run_step(snakemake, lambda s: run(s, data=snakemake.input.data, model=snakemake.input.model,
                                  history=snakemake.input.history, evaluation=out.evaluation,
                                  architecture=out.architecture,
                                  figures=[out.curves, out.confusion, out.misclassified],
                                  threads=snakemake.threads, table=out.epochs_table))
