def report_inputs():
    """Every result the template reads, by the name it uses."""
    inputs = {"cnn": paths.THEORY_CNN, "vae": paths.THEORY_VAE}
    inputs.update(SECTION_REPORT_INPUTS)
    return inputs


rule report:
    """Render report/assignment5.tex.j2 from the result files and compile it with latexmk."""
    input:
        template=paths.REPORT_TEMPLATE,
        sections=glob.glob("report/section*.tex.j2"),
        **report_inputs(),
    output:
        pdf=paths.REPORT_PDF,
        tex=paths.REPORT_TEX,
        provenance=paths.REPORT_PROVENANCE,
    params:
        manifest=as_json(report_inputs()),
        profile=config["profile"],
    log:
        f"{paths.LOGS}/report.log",
    benchmark:
        f"{paths.BENCHMARKS}/report.tsv"
    threads: 1
    shell:
        "{PY} assignment5.report --manifest {params.manifest:q} --profile {params.profile}"
        " --template {input.template} --tex {output.tex}"
        " --pdf {output.pdf} --provenance {output.provenance} 2>&1 | tee {log}"
