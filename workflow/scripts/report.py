# Rule report: settings from params, log, one-line errors (assignment5.step); the logic is in src/.
from assignment5.report import run
from assignment5.step import run_step

results = {name: path for name, path in snakemake.input.items()
           if name not in ("template", "sections")}
out = snakemake.output
run_step(snakemake, lambda s: run(s, results=results, produced_by=snakemake.params.produced_by,
                                  template=snakemake.input.template,
                                  tex=out.tex, pdf=out.pdf, provenance_out=out.provenance))
