rule theory:
    """Sections 1 and 4: sympy derivations written as JSON plus LaTeX fragments."""
    output:
        cnn=paths.THEORY_CNN,
        vae=paths.THEORY_VAE,
    params:
        layers=as_json(config["theory"]["cnn"]["layers"]),
        shape=config["theory"]["cnn"]["input"],
    log:
        f"{paths.LOGS}/theory.log",
    benchmark:
        f"{paths.BENCHMARKS}/theory.tsv"
    threads: 1
    shell:
        "{PY} assignment5.theory --layers {params.layers:q} --input {params.shape}"
        " --cnn-out {output.cnn} --vae-out {output.vae} 2>&1 | tee {log}"
