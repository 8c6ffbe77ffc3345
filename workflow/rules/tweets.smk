rule tweets_data:
    """Validate the tweet CSVs (labels, malformed rows, non-ASCII) and store ASCII codes."""
    input:
        unpack(tweets_source),
    output:
        npz=P.tweets_npz,
        stats=P.tweets_stats,
    log:
        P.log("tweets_data"),
    benchmark:
        P.benchmark("tweets_data")
    priority: priority_for("tweets_data")
    threads: 1
    params:
        code=code_digest("tweets_data"),
        settings=step_settings("tweets_data"),
    script:
        "../scripts/tweets_data.py"


rule tweets_train:
    """The character LSTM; checkpoints every checkpoint_every iterations and resumes when rerun."""
    input:
        P.tweets_npz,
    output:
        model=P.tweets_model,
        history=P.tweets_history,
    log:
        P.log("tweets_train"),
    benchmark:
        P.benchmark("tweets_train")
    priority: priority_for("tweets_train")
    threads: threads_for("training")
    resources:
        mem_mb=mem_for("tweets_train"),
        runtime=runtime_for("tweets_train"),
    params:
        code=code_digest("tweets_train"),
        settings=step_settings("tweets_train"),
    script:
        "../scripts/tweets_train.py"


rule tweets_variant:
    """The same LSTM with other settings: the other optimiser briefly, or the tuned variant."""
    input:
        P.tweets_npz,
    output:
        model=P.tweets_variant_model("{run}"),
        history=P.tweets_variant_history("{run}"),
    log:
        P.log("tweets_variant_{run}"),
    benchmark:
        P.benchmark("tweets_variant_{run}")
    wildcard_constraints:
        run="|".join(TWEETS_VARIANTS),
    priority: priority_for("tweets_variant")
    threads: threads_for("training")
    resources:
        mem_mb=mem_for("tweets_variant"),
        runtime=runtime_for("tweets_variant"),
    params:
        code=code_digest("tweets_train"),
        settings=variant_settings,
    script:
        "../scripts/tweets_train.py"


rule tweets_figures:
    """Accuracy curves, tweet-length distribution and example predictions."""
    input:
        **{
            f"{run}_{kind}": path(run)
            for run in TUNED
            for kind, path in (
                ("model", P.tweets_variant_model),
                ("history", P.tweets_variant_history),
            )
        },
        data=P.tweets_npz,
        stats=P.tweets_stats,
        baseline=P.tweets_baseline,
        model=P.tweets_model,
        history=P.tweets_history,
    output:
        **for_report("tweets", P.tweets_figures, evaluations_table=P.tweets_table),
        examples=P.tweets_examples,
        best=P.tweets_best,
    log:
        P.log("tweets_figures"),
    benchmark:
        P.benchmark("tweets_figures")
    threads: 1
    resources:
        mem_mb=mem_for("tweets_figures"),
        runtime=runtime_for("tweets_figures"),
    params:
        code=code_digest("tweets_figures"),
        settings=step_settings("tweets_figures"),
    script:
        "../scripts/tweets_figures.py"


rule tweets_baseline:
    """TF-IDF word n-grams and logistic regression on the same tweets, for comparison."""
    input:
        P.tweets_npz,
    output:
        P.tweets_baseline,
    log:
        P.log("tweets_baseline"),
    benchmark:
        P.benchmark("tweets_baseline")
    threads: 1
    resources:
        mem_mb=mem_for("tweets_baseline"),
        runtime=runtime_for("tweets_baseline"),
    params:
        code=code_digest("tweets_baseline"),
        settings=step_settings("tweets_baseline"),
    script:
        "../scripts/tweets_baseline.py"
