TWEETS = config["tweets"]


def tweets_source(wildcards):
    """The two CSV files, or nothing when URLs are configured (the rule downloads them)."""
    if TWEETS.get("train_url") and TWEETS.get("test_url"):
        return []
    return [f"{DATA_DIR}/tweets/tweets_train.csv", f"{DATA_DIR}/tweets/tweets_test.csv"]


rule tweets_data:
    """Validate the tweet CSVs (labels, malformed rows, non-ASCII) and store ASCII codes."""
    input:
        tweets_source,
    output:
        npz=paths.TWEETS_NPZ,
        stats=paths.TWEETS_STATS,
    params:
        source=(f"--train-url {TWEETS['train_url']} --test-url {TWEETS['test_url']}"
                if TWEETS.get("train_url") and TWEETS.get("test_url")
                else f"--source-dir {DATA_DIR}/tweets"),
    log:
        f"{paths.LOGS}/tweets_data.log",
    benchmark:
        f"{paths.BENCHMARKS}/tweets_data.tsv"
    threads: 1
    shell:
        "{PY} assignment5.tweets.data {params.source} --out {output.npz} --stats {output.stats}"
        " --max-length {TWEETS[max_length]} --malformed-rows {TWEETS[malformed_rows]} 2>&1 | tee {log}"


rule tweets_train:
    """The character LSTM; checkpoints every checkpoint_every iterations and resumes when rerun."""
    input:
        paths.TWEETS_NPZ,
    output:
        model=paths.TWEETS_MODEL,
        history=paths.TWEETS_HISTORY,
    params:
        out_dir=paths.TWEETS_DIR,
    log:
        f"{paths.LOGS}/tweets_train.log",
    benchmark:
        f"{paths.BENCHMARKS}/tweets_train.tsv"
    threads: workflow.cores
    shell:
        "{PY} assignment5.tweets.train --data {input} --out-dir {params.out_dir}"
        " --iterations {TWEETS[iterations]} --eval-every {TWEETS[eval_every]}"
        " --train-eval-sample {TWEETS[train_eval_sample]} --batch-size {TWEETS[batch_size]}"
        " --lr {TWEETS[lr]} --optimizer {TWEETS[optimizer]} --precision {TWEETS[precision]}"
        " --kernel {TWEETS[kernel]}"
        " --checkpoint-every {TWEETS[checkpoint_every]} --seed {TWEETS[seed]}"
        " --threads {threads} 2>&1 | tee {log}"


rule tweets_report:
    """Accuracy curves, tweet-length distribution and example predictions."""
    input:
        data=paths.TWEETS_NPZ,
        stats=paths.TWEETS_STATS,
        model=paths.TWEETS_MODEL,
        history=paths.TWEETS_HISTORY,
    output:
        examples=paths.TWEETS_EXAMPLES,
        **paths.TWEETS_FIGURES,
    log:
        f"{paths.LOGS}/tweets_report.log",
    threads: 1
    shell:
        "{PY} assignment5.tweets.report --data {input.data} --stats {input.stats} --model {input.model}"
        " --history {input.history} --examples {output.examples}"
        " --figures {output.curves} {output.lengths} 2>&1 | tee {log}"


SECTION_REPORT_INPUTS = globals().get("SECTION_REPORT_INPUTS", {})
SECTION_REPORT_INPUTS.update(
    tweets_stats=paths.TWEETS_STATS,
    tweets_history=paths.TWEETS_HISTORY,
    tweets_examples=paths.TWEETS_EXAMPLES,
    **{f"tweets_{k}": v for k, v in paths.TWEETS_FIGURES.items()},
)
