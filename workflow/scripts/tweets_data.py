# Rule tweets_data: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.step import run_step
from assignment5.tweets.data import run

inputs = snakemake.input
run_step(snakemake, lambda s: run(s, train_csv=inputs.get("train"), test_csv=inputs.get("test"),
                                  out=snakemake.output.npz, stats=snakemake.output.stats))
