"""One training job on two threads against two jobs side by side on one thread each (what
`threads: {training: 1}` with `--cores 2` does): the combined throughput of the pair over the single
job's, per training step of the workflow (VGG11, the tweet LSTM, the three VAEs).

    python bench/bench_parallel.py [seconds per measurement]

Each measurement runs its steps in fresh processes for the same wall time after a warm-up; the two
arrangements alternate over the rounds, so drift in the machine's speed falls on both.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402

WORKLOADS = ("mnist", "tweets", "mlp", "conv", "resnet")


def make_step(workload: str, threads: int):
    """(step, units per call) of the workflow's own training step at the default budget's sizes."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if workload == "mnist":
        from assignment5 import settings
        from assignment5.mnist.model import VGG11
        from assignment5.mnist.train import to_input, train_step
        from assignment5.training import resolve_precision
        batch, precision = settings.defaults("mnist_train").batch_size, resolve_precision("auto")
        images = torch.randint(0, 256, (batch, 1, 32, 32), dtype=torch.uint8)
        labels = torch.randint(0, 10, (batch,))
        model = VGG11().to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return lambda: train_step(model, opt, to_input(images, True), labels, precision), batch
    if workload == "tweets":
        import numpy as np
        from assignment5 import settings
        from assignment5.training import resolve_precision
        from assignment5.tweets.model import TweetLSTM
        from assignment5.tweets.train import choose_kernel, make_optimizer, train_step
        from bench_tweets import bench_data
        data, _ = bench_data()
        s = settings.defaults("tweets_train")
        precision = resolve_precision(s.precision)
        kernel = choose_kernel(s, data, precision, torch.device("cpu"))["kernel"]
        model = TweetLSTM(s.hidden_size, kernel=kernel)
        opt = make_optimizer(model, s)
        rng = np.random.default_rng(threads)
        batches = (b for _ in range(10**6) for b in data.bucketed_batches(s.batch_size, rng, s.bucket_pool))
        return lambda: train_step(model, opt, *data.batch(next(batches)), precision), 1
    from bench_galaxy import BATCH, SIZE, workflow_step
    images = torch.randint(0, 256, (BATCH, 3, SIZE, SIZE), dtype=torch.uint8)
    return workflow_step(workload, images)[0], BATCH


def _job(workload: str, threads: int, seconds: float, start, results) -> None:
    step, units = make_step(workload, threads)
    step()
    step()  # warm-up: oneDNN primitives, allocator
    start.wait()
    done, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        step()
        done += units
    results.put(done / elapsed)


def throughput(workload: str, jobs: int, threads: int, seconds: float) -> float:
    """Units per second of `jobs` processes of `threads` threads each, started together, summed."""
    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(jobs), ctx.Queue()
    procs = [ctx.Process(target=_job, args=(workload, threads, seconds, start, results)) for _ in range(jobs)]
    for p in procs:
        p.start()
    rates = [results.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(rates)


def main(seconds: float = 15.0, rounds: int = 2, workloads=WORKLOADS) -> dict:
    from assignment5.provenance import machine_tag

    figures = {}
    for workload in workloads:
        single, pair = [], []
        for r in range(rounds):
            order = ((1, 2), (2, 1)) if r % 2 == 0 else ((2, 1), (1, 2))
            for jobs, threads in order:
                (single if jobs == 1 else pair).append(throughput(workload, jobs, threads, seconds))
        ratios = [p / s for p, s in zip(pair, single)]
        figures[workload] = {"one_job_two_threads": statistics.median(single),
                             "two_jobs_one_thread": statistics.median(pair),
                             "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)}
        f = figures[workload]
        unit = "iterations/s" if workload == "tweets" else "images/s"
        print(f"{workload}: two jobs x 1 thread {f['two_jobs_one_thread']:.1f} {unit} together, one job x 2 "
              f"threads {f['one_job_two_threads']:.1f}: ratio {f['ratio']:.2f}x "
              f"(per-round range {f['ratio_min']:.2f}-{f['ratio_max']:.2f})", flush=True)
    print(f"    on {machine_tag()}")
    return figures


if __name__ == "__main__":
    main(*(float(a) for a in sys.argv[1:2]))
