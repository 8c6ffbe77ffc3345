# assignment5: every answer, number and figure of the assignment, compiled into one PDF.
#   snakemake --cores 2                                   (default budget: report/assignment5.pdf)
#   snakemake --cores 2 --configfile config/smoke.yaml    (smoke: report/assignment5-smoke.pdf)


import os

from snakemake.utils import min_version

min_version("9.0")


# Found beside this file, so that --directory elsewhere keeps results there and reads the code here.
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/theory.smk"
include: "workflow/rules/mnist.smk"
include: "workflow/rules/tweets.smk"
include: "workflow/rules/galaxy.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        P.report_pdf,
