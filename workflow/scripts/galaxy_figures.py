# Rule galaxy_figures: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.galaxy.figures import run
from assignment5.paths import GALAXY_FIGURES
from assignment5.step import run_step

i, out = snakemake.input, snakemake.output
figures = {name: getattr(out, name) for name in GALAXY_FIGURES}
run_step(snakemake, lambda s: run(s, histories=list(i.histories), analyses=list(i.analyses),
                                  arrays=list(i.arrays), pca=i.pca, summary=out.summary,
                                  figures=figures,
                                  tables={"summary": out.summary_table, "bonus": out.bonus_table},
                                  lr_study=i.get("lr_study")))
