GALAXY = config["galaxy"]
BONUS = GALAXY["bonus"]
BONUS_RUNS = [f"bonus-{v['name']}" for v in BONUS["variants"]]


def galaxy_source(wildcards):
    """Fail at once, naming what to put where, when the Galaxy Zoo folder is incomplete."""
    root = f"{DATA_DIR}/galaxy-zoo"
    labels = [f"{root}/{name}" for name in ("training_solutions_rev1.csv", "galaxy_labels.csv")]
    found = [path for path in labels if os.path.exists(path)]
    if not os.path.isdir(f"{root}/images_training_rev1") or not found:
        raise WorkflowError(
            f"Galaxy Zoo data not found under {root}/: it needs images_training_rev1/ (<GalaxyID>.jpg)"
            " and training_solutions_rev1.csv or galaxy_labels.csv. Set data_dir in the config"
            " (for example --config data_dir=/path/to/data).")
    return found[:1]


rule galaxy_data:
    """Centre-crop and downsample every training JPG once (PIL draft mode, a process pool)."""
    input:
        galaxy_source,
    output:
        npz=paths.GALAXY_NPZ,
        summary=paths.GALAXY_PREP,
    params:
        source=f"{DATA_DIR}/galaxy-zoo",
        limit=f"--limit {GALAXY['limit']}" if GALAXY.get("limit") else "",
    log:
        f"{paths.LOGS}/galaxy_data.log",
    benchmark:
        f"{paths.BENCHMARKS}/galaxy_data.tsv"
    threads: workflow.cores
    shell:
        "{PY} assignment5.galaxy.data --source {params.source} --out {output.npz}"
        " --summary {output.summary} --crop {GALAXY[crop]} --size {GALAXY[image_size]}"
        " --test-fraction {GALAXY[test_fraction]} --corrupt-images {GALAXY[corrupt_images]}"
        " {params.limit} --threads {threads} 2>&1 | tee {log}"


def run_options(wildcards):
    """Architecture, epochs, beta and KL warm-up of one run: an architecture or a bonus variant."""
    if wildcards.run in paths.GALAXY_ARCHS:
        return (f"--arch {wildcards.run} --epochs {GALAXY['epochs'][wildcards.run]}"
                f" --kl-warmup-epochs {GALAXY.get('kl_warmup_epochs', 0)}")
    variant = next(v for v in BONUS["variants"] if f"bonus-{v['name']}" == wildcards.run)
    return (f"--arch {BONUS['arch']} --epochs {BONUS['epochs']} --beta {variant['beta']}"
            f" --kl-warmup-epochs {variant['kl_warmup_epochs']}")


rule galaxy_train:
    """One VAE run; checkpoints every epoch and resumes when rerun."""
    input:
        paths.GALAXY_NPZ,
    output:
        model=f"{paths.GALAXY_DIR}/runs/{{run}}/model.pt",
        history=f"{paths.GALAXY_DIR}/runs/{{run}}/history.json",
    wildcard_constraints:
        run="|".join([*paths.GALAXY_ARCHS, *BONUS_RUNS]).replace(".", r"\."),
    params:
        options=run_options,
        out_dir=lambda wc: paths.galaxy_run(wc.run),
    log:
        f"{paths.LOGS}/galaxy_train_{{run}}.log",
    benchmark:
        f"{paths.BENCHMARKS}/galaxy_train_{{run}}.tsv"
    threads: workflow.cores
    shell:
        "{PY} assignment5.galaxy.train --data {input} --out-dir {params.out_dir} {params.options}"
        " --latent-dim {GALAXY[latent_dim]} --batch-size {GALAXY[batch_size]} --lr {GALAXY[lr]}"
        " --evals-per-epoch {GALAXY[evals_per_epoch]} --seed {GALAXY[seed]}"
        " --threads {threads} 2>&1 | tee {log}"


rule galaxy_analyse:
    """Latent means, linear probe, class-conditional samples and weights of one architecture."""
    input:
        data=paths.GALAXY_NPZ,
        model=f"{paths.GALAXY_DIR}/runs/{{arch}}/model.pt",
    output:
        npz=f"{paths.GALAXY_DIR}/runs/{{arch}}/analysis.npz",
        json=f"{paths.GALAXY_DIR}/runs/{{arch}}/analysis.json",
    wildcard_constraints:
        arch="|".join(paths.GALAXY_ARCHS),
    params:
        prefix=lambda wc: f"{paths.galaxy_run(wc.arch)}/analysis",
    log:
        f"{paths.LOGS}/galaxy_analyse_{{arch}}.log",
    threads: workflow.cores
    shell:
        "{PY} assignment5.galaxy.analyse --data {input.data} --model {input.model}"
        " --out {params.prefix} --threads {threads} 2>&1 | tee {log}"


rule galaxy_pca:
    """The PCA baseline with as many components as the latent."""
    input:
        paths.GALAXY_NPZ,
    output:
        paths.GALAXY_PCA,
    log:
        f"{paths.LOGS}/galaxy_pca.log",
    threads: workflow.cores
    shell:
        "{PY} assignment5.galaxy.pca --data {input} --components {GALAXY[latent_dim]}"
        " --out {output} 2>&1 | tee {log}"


rule galaxy_figures:
    """Curves, reconstructions, class generation, latent scatter, weights, bonus; summary table."""
    input:
        histories=expand(f"{paths.GALAXY_DIR}/runs/{{run}}/history.json",
                         run=[*paths.GALAXY_ARCHS, *BONUS_RUNS]),
        analyses=expand(f"{paths.GALAXY_DIR}/runs/{{arch}}/analysis.json", arch=paths.GALAXY_ARCHS),
        pca=paths.GALAXY_PCA,
    output:
        summary=paths.GALAXY_SUMMARY,
        **paths.GALAXY_FIGURES,
    params:
        runs=f"{paths.GALAXY_DIR}/runs",
        archs=" ".join(paths.GALAXY_ARCHS),
        bonus=" ".join(BONUS_RUNS),
    log:
        f"{paths.LOGS}/galaxy_figures.log",
    threads: 1
    shell:
        "{PY} assignment5.galaxy.figures --runs {params.runs} --archs {params.archs}"
        " --bonus {params.bonus} --pca {input.pca} --summary {output.summary}"
        " --figures {output.curves} {output.reconstructions} {output.generation} {output.latent}"
        " {output.weights} {output.bonus} 2>&1 | tee {log}"


SECTION_REPORT_INPUTS = globals().get("SECTION_REPORT_INPUTS", {})
SECTION_REPORT_INPUTS.update(
    galaxy_prep=paths.GALAXY_PREP,
    galaxy=paths.GALAXY_SUMMARY,
    **{f"galaxy_{k}": v for k, v in paths.GALAXY_FIGURES.items()},
)
