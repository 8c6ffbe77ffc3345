rule theory:
    """Sections 1 and 4: sympy derivations written as JSON."""
    output:
        cnn=P.theory_cnn,
        vae=P.theory_vae,
    params:
        settings=step_settings("theory"),
    log:
        P.log("theory"),
    benchmark:
        P.benchmark("theory")
    threads: 1
    script:
        "../scripts/theory.py"
