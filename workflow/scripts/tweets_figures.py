# Rule tweets_figures: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.step import run_step
from assignment5.settings import TUNED_VARIANTS
from assignment5.tweets.figures import run

i, out = snakemake.input, snakemake.output
run_step(snakemake, lambda s: run(s, data=i.data, stats=i.stats, model=i.model, history=i.history,
                                  examples=out.examples, figures=[out.curves, out.lengths],
                                  table=out.evaluations_table, best=out.best, baseline=i.baseline,
                                  variants={run: (i[f"{run}_model"], i[f"{run}_history"]) for run in TUNED_VARIANTS}))
