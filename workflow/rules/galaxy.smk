rule galaxy_data:
    """Centre-crop and downsample every training JPG once (PIL draft mode, a process pool)."""
    input:
        unpack(galaxy_source),
    output:
        npz=P.galaxy_npz,
        summary=P.galaxy_prep,
    log:
        P.log("galaxy_data"),
    benchmark:
        P.benchmark("galaxy_data")
    priority: priority_for("galaxy_data")
    threads: threads_for("preprocessing")
    resources:
        mem_mb=mem_for("galaxy_data"),
        runtime=runtime_for("galaxy_data"),
    params:
        code=code_digest("galaxy_data"),
        settings=step_settings("galaxy_data"),
    script:
        "../scripts/galaxy_data.py"


rule galaxy_train:
    """One VAE run (a study run, an architecture or a bonus run); checkpoints every epoch, resumes."""
    input:
        unpack(lr_choice),
        data=P.galaxy_npz,
    output:
        model=P.galaxy_model("{run}"),
        history=P.galaxy_history("{run}"),
    log:
        P.log("galaxy_train_{run}"),
    benchmark:
        P.benchmark("galaxy_train_{run}")
    wildcard_constraints:
        run="|".join(re.escape(run) for run in GALAXY_RUNS),
    priority: priority_for("galaxy_train")
    threads: threads_for("training")
    resources:
        mem_mb=mem_for("galaxy_train"),
        runtime=runtime_for("galaxy_train"),
    params:
        code=code_digest("galaxy_train"),
        settings=run_settings,
    script:
        "../scripts/galaxy_train.py"


rule galaxy_lr_study:
    """Each architecture's learning rate: the lowest validation error of the short study runs."""
    input:
        histories=[
            P.galaxy_history(run) for runs in LR_STUDY.runs for _, _, run in runs
        ],
    output:
        P.galaxy_lr_study,
    log:
        P.log("galaxy_lr_study"),
    priority: priority_for("galaxy_lr_study")
    params:
        code=code_digest("galaxy_lr_study"),
        settings=step_settings("galaxy_lr_study"),
    script:
        "../scripts/galaxy_lr_study.py"


rule galaxy_analyse:
    """Latent means, linear probe, class-conditional samples and weights of one architecture."""
    input:
        data=P.galaxy_npz,
        model=P.galaxy_model("{arch}"),
    output:
        npz=P.galaxy_analysis("{arch}", "npz"),
        json=P.galaxy_analysis("{arch}", "json"),
    log:
        P.log("galaxy_analyse_{arch}"),
    benchmark:
        P.benchmark("galaxy_analyse_{arch}")
    wildcard_constraints:
        arch="|".join(GALAXY_ARCHS),
    threads: threads_for("evaluation")
    resources:
        mem_mb=mem_for("galaxy_analyse"),
        runtime=runtime_for("galaxy_analyse"),
    params:
        code=code_digest("galaxy_analyse"),
        settings=step_settings("galaxy_analyse"),
    script:
        "../scripts/galaxy_analyse.py"


rule galaxy_pca:
    """The PCA baseline with as many components as the latent."""
    input:
        P.galaxy_npz,
    output:
        P.galaxy_pca,
    log:
        P.log("galaxy_pca"),
    benchmark:
        P.benchmark("galaxy_pca")
    threads: threads_for("evaluation")
    resources:
        mem_mb=mem_for("galaxy_pca"),
        runtime=runtime_for("galaxy_pca"),
    params:
        code=code_digest("galaxy_pca"),
        settings=step_settings("galaxy_pca"),
    script:
        "../scripts/galaxy_pca.py"


rule galaxy_figures:
    """Curves, reconstructions, class generation, latent scatter, weights, bonus; summary table."""
    input:
        **lr_study_result(),
        histories=expand(P.galaxy_history("{run}"), run=[*GALAXY_ARCHS, *BONUS_RUNS]),
        analyses=expand(P.galaxy_analysis("{arch}", "json"), arch=GALAXY_ARCHS),
        arrays=expand(P.galaxy_analysis("{arch}", "npz"), arch=GALAXY_ARCHS),
        pca=P.galaxy_pca,
    output:
        **for_report(
            "galaxy",
            P.galaxy_figures,
            summary_table=P.galaxy_table,
            bonus_table=P.galaxy_bonus_table,
        ),
        summary=P.galaxy_summary,
    log:
        P.log("galaxy_figures"),
    benchmark:
        P.benchmark("galaxy_figures")
    threads: 1
    resources:
        mem_mb=mem_for("galaxy_figures"),
        runtime=runtime_for("galaxy_figures"),
    params:
        code=code_digest("galaxy_figures"),
        settings=step_settings("galaxy_figures"),
    script:
        "../scripts/galaxy_figures.py"
