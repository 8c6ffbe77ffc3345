# Rule tweets_baseline: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.step import run_step
from assignment5.tweets.baseline import run

run_step(snakemake, lambda s: run(s, data=snakemake.input[0], out=snakemake.output[0]))
