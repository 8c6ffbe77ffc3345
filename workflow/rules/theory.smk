rule theory:
    """Sections 1 and 4: sympy derivations written as JSON."""
    output:
        cnn=P.theory_cnn,
        vae=P.theory_vae,
    log:
        P.log("theory"),
    benchmark:
        P.benchmark("theory")
    threads: 1
    resources:
        mem_mb=mem_for("theory"),
        runtime=runtime_for("theory"),
    params:
        code=code_digest("theory"),
        settings=step_settings("theory"),
    script:
        "../scripts/theory.py"
