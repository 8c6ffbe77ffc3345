"""Character-LSTM training throughput: the workflow's step (length-bucketed batches, the LSTM
implementation `kernel: auto` picks on this machine, bf16 products where supported, output read at
each tweet's last character) against a plain fp32 per-time-step nn.LSTMCell loop over randomly
drawn, padded batches, and against PyTorch's nn.LSTM on the same bucketed batches; and the C++
kernel against nn.LSTM. Same data, same model maths."""

import sys
from pathlib import Path

import numpy as np
import torch

from assignment5 import paths, settings
from assignment5.training import resolve_precision
from assignment5.tweets.model import LSTMCellLoop, Tweets, TweetLSTM
from assignment5.tweets import fused_lstm
from assignment5.tweets.train import choose_kernel, make_optimizer, train_step
from timing import compare, report


def synthetic_tweets(n: int = 4000) -> Tweets:
    """Lengths drawn like the real tweets' (mean ~73, long right tail), random ASCII text."""
    rng = np.random.default_rng(0)
    lengths = np.clip(rng.gamma(3.0, 24.0, n).astype(int), 3, 160)
    texts = ["".join(map(chr, rng.integers(32, 127, k))) for k in lengths]
    return Tweets.from_texts(texts, rng.integers(0, 2, n))


def bench_data() -> tuple[Tweets, str]:
    """The workflow's training tweets when they exist (their lengths set the speed), else synthetic."""
    npz = paths.for_budget("default").tweets_npz
    if Path(npz).exists():
        return Tweets.from_npz(np.load(npz), "train"), "real training tweets"
    return synthetic_tweets(), "synthetic tweets (run the workflow for the real ones)"


def main(threads: int = 2) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    data, source = bench_data()
    rng = np.random.default_rng(1)
    s = settings.defaults("tweets_train")  # the default budget's batch size, pool, hidden size, lr
    bucketed = (b for _ in range(10**6) for b in data.bucketed_batches(s.batch_size, rng, s.bucket_pool))
    shuffled = (rng.permutation(len(data))[:s.batch_size] for _ in range(10**6))
    precision = resolve_precision(s.precision)
    choice = choose_kernel(s, data, precision, torch.device("cpu"))
    print(f"kernel: auto -> {choice['kernel']} ({choice['how']})")
    models = {"workflow": TweetLSTM(s.hidden_size, kernel=choice["kernel"]),
              "nn.LSTM": TweetLSTM(s.hidden_size, kernel="pytorch"), "loop": LSTMCellLoop(s.hidden_size)}
    if fused_lstm.available():
        models["C++ kernel"] = TweetLSTM(s.hidden_size, kernel="fused")
    optimizers = {name: make_optimizer(model, s) for name, model in models.items()}

    def step(name, batches, precision):
        train_step(models[name], optimizers[name], *data.batch(next(batches)), precision)

    kernel = f'{models["workflow"].kernel_in_use(precision)} kernel'
    result = compare(lambda: step("workflow", bucketed, precision), lambda: step("loop", shuffled, "fp32"),
                     units_per_call=1, rounds=6, calls=40)
    print(report(f"tweets LSTM ({kernel}, {precision}, {threads} threads, {source}) vs a plain fp32 "
                 f"nn.LSTMCell loop", "iterations/s", result))
    print(f"  -> 100,000 iterations in about {100_000 / result['fast'] / 60:.1f} min "
          f"(baseline {100_000 / result['baseline'] / 60:.1f} min), training steps only")
    # the same bucketed batches through PyTorch's own fused LSTM (oneDNN): what the kernel adds
    versus_nn_lstm = compare(lambda: step("workflow", bucketed, precision),
                             lambda: step("nn.LSTM", bucketed, precision), units_per_call=1, rounds=6, calls=40)
    print(report(f"tweets LSTM ({kernel}) vs nn.LSTM, both {precision} on bucketed batches",
                 "iterations/s", versus_nn_lstm))
    out = result | {"kernel": kernel, "kernel_choice": choice, "versus_nn_lstm": versus_nn_lstm}
    if "C++ kernel" in models and choice["kernel"] != "fused":  # what the kernel it passed over does here
        out["cpp_kernel_versus_nn_lstm"] = compare(
            lambda: step("C++ kernel", bucketed, precision), lambda: step("nn.LSTM", bucketed, precision),
            units_per_call=1, rounds=6, calls=40)
        print(report(f"tweets LSTM (C++ kernel) vs nn.LSTM, both {precision} on bucketed batches",
                     "iterations/s", out["cpp_kernel_versus_nn_lstm"]))
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
