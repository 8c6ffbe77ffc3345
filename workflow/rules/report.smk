localrules:
    mnist_data,
    report,


rule report:
    """Render report/assignment5.tex.j2 from the result files and compile it with latexmk."""
    input:
        template=paths.REPORT_TEMPLATE,
        sections=paths.REPORT_SECTIONS,
        **P.report_inputs,
    output:
        pdf=update(P.report_pdf),  # a failed build restores the last good PDF
        tex=P.report_tex,
        provenance=P.report_provenance,
    params:
        settings=step_settings("report"),
    log:
        P.log("report"),
    benchmark:
        P.benchmark("report")
    threads: 1
    script:
        "../scripts/report.py"
