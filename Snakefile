# assignment5: every answer, number and figure of the assignment, compiled into one PDF.
#   snakemake --cores 2 report/assignment5.pdf                                  (default budgets)
#   snakemake --cores 2 --configfile config/smoke.yaml report/assignment5.pdf   (smoke)

configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/theory.smk"
include: "workflow/rules/mnist.smk"
include: "workflow/rules/tweets.smk"
include: "workflow/rules/galaxy.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        paths.REPORT_PDF,
