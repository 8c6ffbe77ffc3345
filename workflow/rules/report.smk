# Run where the workflow was started, never as cluster jobs: compute nodes often lack network
# (downloads) or TeX (the PDF).
localrules:
    mnist_data,
    tweets_data,
    galaxy_lr_study,
    report,


rule report:
    """Render report/assignment5.tex.j2 from the result files and compile it with latexmk."""
    input:
        **P.report_inputs,
        # beside the workflow, not in the working directory (snakemake --directory elsewhere)
        template=beside_workflow(paths.REPORT_TEMPLATE),
        sections=[beside_workflow(f) for f in paths.REPORT_SECTIONS],
    output:
        # update(): a failed build restores the last good PDF
        pdf=report(update(P.report_pdf), caption="../report/pdf.rst", category="PDF"),
        tex=P.report_tex,
        provenance=P.report_provenance,
    log:
        P.log("report"),
    benchmark:
        P.benchmark("report")
    threads: 1
    params:
        code=code_digest("report"),
        settings=step_settings("report"),
        produced_by=lambda wildcards: producers(P.report_inputs),
    script:
        "../scripts/report.py"
