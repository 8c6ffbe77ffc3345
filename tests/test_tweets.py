"""Section 3: loading and validation, encoding, the model, training, resuming, prediction."""

import dataclasses
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from assignment5.tweets import data as tweets_data
from assignment5.tweets import train as tweets_train
from assignment5.tweets import fused_lstm
from assignment5.tweets.model import LSTMCellLoop, Tweets, TweetLSTM
from assignment5.io import read_json, read_npz
from assignment5 import paths, training
from assignment5.training import lr_schedule
from conftest import ROOT, step_settings

pytestmark = pytest.mark.unit  # make check: the fast tier

# Skipped only without a compiler: where one exists, a kernel that fails to build fails these tests
# (it once did so on AVX-512 CPUs without AVX512-BF16, unseen behind a skip).
needs_kernel = pytest.mark.skipif(shutil.which("c++") is None and not fused_lstm.available(),
                                  reason="no C++ compiler here to build the LSTM kernel")

CSV = (
    "text,label\n"
    "I love this,1\n"
    "\"multi\nline, with comma\",0\n"      # lines 3-4: quoted newline and comma
    "bad label,2\n"                        # line 5
    "too,many,fields\n"                    # line 6
    "   ,1\n"                              # line 7: empty
    "café naïve ﬁne ☺,1\n"                 # line 8: non-ASCII
)


def test_parse_counts_malformed_rows_with_line_numbers():
    texts, labels, report = tweets_data.parse_csv(CSV, "t.csv", 280, "skip")
    assert texts[:2] == ["I love this", "multi\nline, with comma"]
    assert labels == [1, 0, 1]
    assert report.malformed == [(5, "label must be 0 or 1, found '2'"), (6, "expected 2 fields, found 3")]
    assert report.empty == [7]
    assert report.rows == 6 and report.kept == 3


def test_malformed_rows_can_be_fatal():
    with pytest.raises(tweets_data.TweetDataError, match=r"t\.csv, line 5: label must be 0 or 1"):
        tweets_data.parse_csv(CSV, "t.csv", 280, "error")


def test_header_is_checked():
    with pytest.raises(tweets_data.TweetDataError, match="line 1 must be a header naming the columns text and label"):
        tweets_data.parse_csv("tweet,sentiment\nhi,1\n", "x.csv", 280, "skip")


def test_columns_are_found_by_name_and_float_labels_read():
    text = "id,Label,TEXT\n7,1.0,great day\n8,0,\"sad, very\"\n9,0.5,unsure\n"
    texts, labels, report = tweets_data.parse_csv(text, "x.csv", 280, "skip")
    assert texts == ["great day", "sad, very"] and labels == [1, 0]
    assert report.malformed == [(4, "label must be 0 or 1, found '0.5'")]
    with pytest.raises(tweets_data.TweetDataError, match="header naming the columns text and label"):
        tweets_data.parse_csv("text,label,text\na,1,b\n", "x.csv", 280, "skip")


def test_word_labels_are_refused_with_a_hint():
    text = "text,label\n" + "good,positive\nbad,negative\n" * 5
    with pytest.raises(tweets_data.TweetDataError, match="Write the labels as numbers: 1 for positive"):
        tweets_data.parse_csv(text, "x.csv", 280, "skip", 0.01)


def test_non_ascii_folding():
    text, folded, replaced = tweets_data.to_ascii("café naïve ﬁne ☺")
    assert text == "cafe naive fine \x1a" and folded == 3 and replaced == 1
    _, _, report = tweets_data.parse_csv(CSV, "t.csv", 280, "skip")
    assert report.non_ascii_tweets == 1 and report.folded_chars == 3 and report.replaced_chars == 1
    assert all(c < 128 for c in tweets_data.encode(text))


def test_missing_source_says_what_to_put_where(tmp_path):
    with pytest.raises(tweets_data.TweetDataError, match="put tweets_train.csv and tweets_test.csv"):
        tweets_data.read_source("train", str(tmp_path / "tweets_train.csv"), None)


def test_real_files_load(shared_data):
    text, name = tweets_data.read_source("test", str(shared_data / "tweets" / "tweets_test.csv"), None)
    texts, labels, report = tweets_data.parse_csv(text, name, 280, "skip", 0.01)
    assert report.rows == 9801 and labels.count(0) == 4879 and labels.count(1) == 4922


def test_model_shapes_and_padding_invariance():
    torch.manual_seed(0)
    data = Tweets.from_texts(["hello there", "hi", "a much longer tweet than the others"], [1, 0, 1])
    codes, lengths, labels = data.batch([0, 1, 2])
    assert codes.shape == (3, 35) and lengths.tolist() == [11, 2, 35]
    model = TweetLSTM(hidden=128).eval()
    out = model(codes, lengths)
    assert out.shape == (3, 2) and torch.allclose(out.exp().sum(1), torch.ones(3))
    padded = torch.cat([codes, torch.full((3, 20), 65, dtype=codes.dtype)], 1)  # junk after the end
    assert torch.allclose(model(padded, lengths), out, atol=1e-6)
    alone = model(*data.batch([1])[:2])
    assert torch.allclose(alone, out[1:2], atol=1e-6)


def test_fast_model_equals_lstmcell_loop():
    torch.manual_seed(0)
    fast, loop = TweetLSTM(hidden=128), LSTMCellLoop(hidden=128)
    loop.cell.weight_ih.data = fast.lstm.weight_ih_l0.data.clone()
    loop.cell.weight_hh.data = fast.lstm.weight_hh_l0.data.clone()
    loop.cell.bias_ih.data = fast.lstm.bias_ih_l0.data.clone()
    loop.cell.bias_hh.data = fast.lstm.bias_hh_l0.data.clone()
    loop.out.load_state_dict(fast.out.state_dict())
    data = Tweets.from_texts(["one", "three words here", "x" * 40])
    codes, lengths, _ = data.batch([0, 1, 2])
    assert torch.allclose(fast(codes, lengths), loop(codes, lengths), atol=1e-5)


def lstm_reference(lstm, codes, lengths, bf16=False):
    """nn.LSTM on the one-hot codes (optionally under bf16 autocast), read at each last step."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        states, _ = lstm(torch.nn.functional.one_hot(codes, 128).float())
    return states[torch.arange(len(codes)), lengths - 1].float()


def random_batch(batch=37, steps=23, seed=0):
    """Odd batch size (the kernel's row tiles have remainders), lengths from 1 to steps."""
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 128, (batch, steps), generator=g)
    lengths = torch.randint(1, steps + 1, (batch,), generator=g)
    lengths[0], lengths[1] = steps, 1
    return codes, lengths


@needs_kernel
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_kernel_equals_nn_lstm_values_and_gradients(threads):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(128, 128, batch_first=True)
    codes, lengths = random_batch()
    weights = torch.randn(37, 128)
    ours = fused_lstm.last_hidden_state(lstm, codes, lengths, "fp32", threads)
    reference = lstm_reference(lstm, codes, lengths)
    assert torch.allclose(ours, reference, atol=1e-6)
    ours_grads = torch.autograd.grad((ours * weights).sum(), list(lstm.parameters()))
    ref_grads = torch.autograd.grad((reference * weights).sum(), list(lstm.parameters()))
    for name, a, b in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], ours_grads, ref_grads):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-5), name
    with torch.no_grad():  # the inference path keeps no per-step state
        assert torch.equal(fused_lstm.last_hidden_state(lstm, codes, lengths, "fp32", threads), ours)


@pytest.mark.skipif(not fused_lstm.bf16_supported(), reason="CPU without AVX512-BF16")
def test_fused_kernel_in_bf16_is_as_close_as_autocast():
    """bf16 operands with fp32 sums: no further from fp32 than nn.LSTM under bf16 autocast."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(128, 128, batch_first=True)
    codes, lengths = random_batch()
    exact = lstm_reference(lstm, codes, lengths)
    autocast_error = (lstm_reference(lstm, codes, lengths, bf16=True) - exact).abs().max()
    ours = fused_lstm.last_hidden_state(lstm, codes, lengths, "bf16", 2)
    assert (ours - exact).abs().max() <= autocast_error
    grad = torch.autograd.grad(ours.sum(), lstm.weight_hh_l0)[0]
    exact_grad = torch.autograd.grad(exact.sum(), lstm.weight_hh_l0)[0]
    assert (grad - exact_grad).abs().max() < 0.02 * exact_grad.abs().max()


@needs_kernel
def test_fused_kernel_rejects_bad_codes_and_lengths():
    lstm = torch.nn.LSTM(128, 128, batch_first=True)
    codes, lengths = random_batch(batch=4, steps=5)
    with pytest.raises(RuntimeError, match="codes must be in 0..V-1"):
        fused_lstm.last_hidden_state(lstm, codes + 128, lengths)
    with pytest.raises(RuntimeError, match="every length must be in 1..T"):
        fused_lstm.last_hidden_state(lstm, codes, lengths * 0)


@needs_kernel
def test_both_kernels_give_the_same_model():
    torch.manual_seed(0)
    fused = TweetLSTM(hidden=128, kernel="fused")
    reference = TweetLSTM(hidden=128, kernel="pytorch")
    reference.load_state_dict(fused.state_dict())
    codes, lengths = random_batch()
    assert torch.allclose(fused(codes, lengths), reference(codes, lengths), atol=1e-6)


def test_without_the_kernel_auto_falls_back_and_fused_says_why(monkeypatch):
    monkeypatch.setattr(fused_lstm, "available", lambda: False)
    monkeypatch.setattr(fused_lstm, "bf16_supported", lambda: False)
    codes, lengths = random_batch(batch=3, steps=4)
    assert TweetLSTM(hidden=16, kernel="auto")(codes, lengths).shape == (3, 2)
    with pytest.raises(RuntimeError, match="could not be built"):
        TweetLSTM(hidden=16, kernel="fused")(codes, lengths)


@needs_kernel
def test_a_hidden_size_the_kernel_cannot_take_runs_in_nn_lstm():
    """The AVX-512 build needs a hidden size that is a multiple of 16: auto falls back, fused says why."""
    if fused_lstm.extension().lanes == 1:
        pytest.skip("this build (no AVX-512) takes any hidden size")
    codes, lengths = random_batch(batch=3, steps=4)
    assert TweetLSTM(hidden=8, kernel="auto").kernel_in_use("fp32") == "pytorch"
    assert TweetLSTM(hidden=8, kernel="auto")(codes, lengths).shape == (3, 2)
    with pytest.raises(RuntimeError, match="hidden size 8"):
        TweetLSTM(hidden=8, kernel="fused")(codes, lengths)


def test_bucketed_batches_cover_every_tweet_once():
    data = Tweets.from_texts([f"t{'x' * (i % 37)}" for i in range(1000)])
    batches = data.bucketed_batches(32, np.random.default_rng(0), 50)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000)) and max(len(b) for b in batches) == 32


@pytest.fixture()
def tiny_npz(tmp_path):
    rng = np.random.default_rng(0)
    words = {1: ["great", "love", "happy", "good"], 0: ["sad", "hate", "awful", "bad"]}
    arrays = {}
    for split, n in (("train", 640), ("test", 160)):
        labels = rng.integers(0, 2, n)
        texts = [" ".join(rng.choice(words[int(y)], 3)) + " " * int(rng.integers(0, 5)) for y in labels]
        codes, offsets = tweets_data.pack(texts)
        arrays |= {f"{split}_codes": codes, f"{split}_offsets": offsets, f"{split}_labels": labels}
    path = tmp_path / "tweets.npz"
    np.savez(path, **arrays)
    return path


def train(npz, out, **overrides):
    s = step_settings("tweets_train", **({"iterations": 300, "eval_every": 100, "train_eval_sample": 200,
                                          "lr": 0.01, "checkpoint_every": 100, "precision": "fp32"} | overrides))
    return tweets_train.run(s, data=str(npz), model=str(out / "model.pt"),
                            history=str(out / "history.json"), threads=1)


def test_short_training_learns(tiny_npz, tmp_path):
    summary = train(tiny_npz, tmp_path / "run")
    history = summary["history"]
    assert history[-1]["running_loss"] < 0.5 * history[0]["running_loss"]
    assert history[-1]["test_accuracy"] > 0.9
    assert (tmp_path / "run" / "model.pt").exists()


def test_killed_run_resumes_from_its_checkpoint(tiny_npz, tmp_path, kill_on_call):
    reference = train(tiny_npz, tmp_path / "ref")
    # train + test evaluations at iteration 100 go through; the run dies at 200
    restore = kill_on_call(tweets_train, "evaluate", 3)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_npz, tmp_path / "run")
    restore()
    checkpoint = tmp_path / "run" / "checkpoints" / "last.pt"
    assert checkpoint.exists()
    steps = {"n": 0}
    real_step = tweets_train.train_step

    def counting_step(*args):
        steps["n"] += 1
        return real_step(*args)

    tweets_train.train_step = counting_step
    try:
        resumed = train(tiny_npz, tmp_path / "run")
    finally:
        tweets_train.train_step = real_step
    # only the 200 iterations after the checkpoint ran, and the history says so
    assert steps["n"] == 200 and resumed["resumed_from_iteration"] == 100
    assert resumed["iterations_run"] == 200
    assert not checkpoint.exists()  # finished runs clear it
    for a, b in zip(reference["history"], resumed["history"]):
        assert a["test_accuracy"] == b["test_accuracy"]
        assert a["running_loss"] == pytest.approx(b["running_loss"], rel=1e-5)


def test_weight_average_is_a_mean_then_an_exponential_average():
    model = torch.nn.Linear(2, 1, bias=False)
    average = training.WeightAverage(model, decay=0.9)
    values = [1.0, 2.0, 3.0] + [3.0] * 47
    for value in values:
        with torch.no_grad():
            model.weight.fill_(value)
        average.update(model)
        if average.steps in (1, 3, 10):  # a plain mean up to step 1 / (1 - decay) = 10
            expected = sum(values[:average.steps]) / average.steps  # (the initial weights play no part)
            assert torch.allclose(average.model.weight, torch.full((1, 2), expected))
    expected = 3.0 - (3.0 - 2.7) * 0.9 ** 40  # then weight 0.1 on the newest, 40 steps
    assert torch.allclose(average.model.weight, torch.full((1, 2), expected))
    assert not average.model.weight.requires_grad and model.weight.requires_grad
    restored = training.WeightAverage(model, decay=0.9)
    restored.load_state_dict(average.state_dict())
    assert restored.steps == 50 and torch.equal(restored.model.weight, average.model.weight)


def test_a_run_with_a_weight_average_keeps_the_average_and_resumes_to_the_same_one(
        tiny_npz, tmp_path, kill_on_call):
    reference = train(tiny_npz, tmp_path / "ref", ema_decay=0.95)
    plain = train(tiny_npz, tmp_path / "plain")
    restore = kill_on_call(tweets_train, "evaluate", 3)  # dies after the checkpoint at 100
    with pytest.raises(KeyboardInterrupt):
        train(tiny_npz, tmp_path / "run", ema_decay=0.95)
    restore()
    resumed = train(tiny_npz, tmp_path / "run", ema_decay=0.95)
    assert resumed["resumed_from_iteration"] == 100
    weights = {run: torch.load(tmp_path / run / "model.pt", weights_only=True) for run in ("ref", "run", "plain")}
    for name, tensor in weights["ref"].items():
        assert torch.allclose(weights["run"][name], tensor, atol=1e-6), name
    assert any(not torch.allclose(weights["plain"][k], v) for k, v in weights["ref"].items())
    # the evaluations score the average: the kept weights give the last evaluation's accuracy
    test = Tweets.from_npz(read_npz(tiny_npz), "test")
    kept = TweetLSTM.from_state_dict(weights["ref"])
    assert tweets_train.evaluate(kept, test)["accuracy"] == reference["history"][-1]["test_accuracy"]


def test_checkpoint_of_other_data_is_not_resumed(tiny_npz, tmp_path, kill_on_call, capsys):
    restore = kill_on_call(tweets_train, "evaluate", 3)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_npz, tmp_path / "run")
    restore()
    arrays = dict(np.load(tiny_npz))
    arrays["train_labels"] = 1 - arrays["train_labels"]  # a regenerated dataset
    np.savez(tiny_npz, **arrays)
    resumed = train(tiny_npz, tmp_path / "run")
    assert resumed["resumed_from_iteration"] == 0
    assert "other settings or data" in capsys.readouterr().out


def test_predict_reads_stdin(tiny_npz, tmp_path):
    train(tiny_npz, tmp_path / "run")
    out = subprocess.run([sys.executable, "-m", "assignment5.tweets.predict", "--model",
                          str(tmp_path / "run" / "model.pt")], input="love great happy\nhate awful sad\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    p_pos, p_neg = (float(line.split("\t")[0]) for line in out)
    assert p_pos > 0.8 and p_neg < 0.2


def test_dry_run_trains_60_iterations(tiny_npz, tmp_path):
    from assignment5.tweets import train as ttrain

    ttrain.run(step_settings("tweets_train"), data=str(tiny_npz), model=str(tmp_path / "model.pt"),
               history=str(tmp_path / "history.json"), threads=1, dry_run=True)
    assert len(read_json(tmp_path / "history.json")["history"]) == 3  # 60 iterations, every 20


def test_steps_run_one_way_through_their_rules():
    """No step module builds a command line: the user tools (predict, the GPU check) alone do."""
    modules = [p for p in (ROOT / "src" / "assignment5").rglob("*.py") if p.name != "predict.py"]
    assert not [p.name for p in modules if "argparse" in p.read_text() or "def main(" in p.read_text()]


def test_tfidf_baseline_fits_and_scores(tiny_npz, tmp_path):
    from assignment5.tweets import baseline

    result = baseline.run(step_settings("tweets_baseline"), data=str(tiny_npz), out=str(tmp_path / "b.json"))
    assert result["test_accuracy"] > 0.95 and result["features"] > 8
    assert read_json(tmp_path / "b.json")["test_tweets"] == 160


@needs_kernel
def test_auto_kernel_is_measured_once_cached_and_leaves_training_unchanged(tiny_npz, tmp_path, monkeypatch):
    monkeypatch.setattr(fused_lstm, "choice_cache_path", lambda: tmp_path / "choice.json")  # empty
    s = step_settings("tweets_train", kernel="auto", precision="fp32", batch_size=16)
    data = Tweets.from_npz(np.load(tiny_npz), "train")
    torch.manual_seed(5)
    choice = tweets_train.choose_kernel(s, data, "fp32", torch.device("cpu"))
    after = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(3))  # the measurement left the RNG as it was
    assert choice["how"] == "measured at start-up" and choice["kernel"] in ("fused", "pytorch")
    faster = max(("fused", "pytorch"), key=lambda k: choice[f"{k}_iterations_per_second"])
    assert choice["kernel"] == faster
    again = tweets_train.choose_kernel(s, data, "fp32", torch.device("cpu"))
    assert again["how"] == "measured earlier on this machine" and again["kernel"] == choice["kernel"]
    # evaluation with kernel auto follows the measurement, whichever way it went
    key = fused_lstm.choice_key("fp32", torch.get_num_threads(), s.hidden_size)
    for kernel in ("pytorch", "fused"):
        fused_lstm.store_choice(key, {"kernel": kernel})
        assert TweetLSTM(hidden=s.hidden_size, kernel="auto").kernel_in_use("fp32") == kernel
    # an asked-for kernel is never second-guessed
    assert tweets_train.choose_kernel(dataclasses.replace(s, kernel="pytorch"), data, "fp32",
                                      torch.device("cpu")) == {"kernel": "pytorch", "how": "as configured"}


def test_a_broken_kernel_choice_cache_is_replaced(kernel_choice_cache):
    kernel_choice_cache.write_text("{not json")
    assert fused_lstm.cached_choice("k") is None
    fused_lstm.store_choice("k", {"kernel": "pytorch"})
    assert fused_lstm.cached_choice("k") == {"kernel": "pytorch"}


def test_hold_out_splits_the_training_tweets_without_loss_or_overlap():
    texts = [f"tweet number {i}" + "!" * (i % 7) for i in range(50)]
    tweets = Tweets.from_texts(texts, labels=[i % 2 for i in range(50)])
    fit, held = tweets.hold_out(0.2, seed=3)
    assert len(held) == 10 and len(fit) == 40

    def decoded(t):
        return {bytes(t.codes[t.offsets[i]: t.offsets[i + 1]].numpy()).decode() for i in range(len(t))}

    assert decoded(fit) | decoded(held) == set(texts) and not decoded(fit) & decoded(held)
    again, _ = tweets.hold_out(0.2, seed=3)
    assert decoded(again) == decoded(fit)  # fixed by the seed: the figures rule redraws the same split


def test_tuned_variant_is_scored_on_validation_and_predict_uses_the_chosen_model(tiny_npz, tmp_path):
    from assignment5.tweets import figures

    main = train(tiny_npz, tmp_path / "main", iterations=100)
    tuned = train(tiny_npz, tmp_path / "tuned", validation_fraction=0.25)
    assert tuned["settings"]["validation_tweets"] == 160 and tuned["settings"]["train_tweets"] == 480
    assert all("validation_accuracy" in row for row in tuned["history"])
    assert not any("validation_accuracy" in row for row in main["history"])
    best = tmp_path / "best.json"
    figures.run(step_settings("tweets_figures", examples_per_kind=1), data=str(tiny_npz),
                stats=str(ROOT / "tests" / "fixtures" / "results" / "tweets_stats.json"),
                model=str(tmp_path / "main" / "model.pt"), history=str(tmp_path / "main" / "history.json"),
                examples=str(tmp_path / "examples.json"),
                figures=[str(tmp_path / "a.pdf"), str(tmp_path / "b.pdf")],
                variants={"tuned": (str(tmp_path / "tuned" / "model.pt"), str(tmp_path / "tuned" / "history.json"))},
                best=str(best))
    choice = read_json(best)
    accuracy = choice["validation_accuracy"]
    assert choice["chosen"] == ("tuned" if accuracy["tuned"] > accuracy["main"] else "main")
    assert choice["validation_tweets"] == 160
    result = subprocess.run([sys.executable, "-m", "assignment5.tweets.predict", "--best", str(best)],
                            input="love great happy\n", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"model: the {choice['chosen']} run, {choice['model']}" in result.stderr
    missing = subprocess.run([sys.executable, "-m", "assignment5.tweets.predict", "--best",
                              str(tmp_path / "none.json")], input="x\n", capture_output=True, text=True)
    assert missing.returncode == 1 and "none.json not found" in missing.stderr


def test_keep_best_writes_the_best_validation_evaluations_weights_and_survives_a_kill(
        tiny_npz, tmp_path, monkeypatch, kill_on_call):
    real, scores, calls = tweets_train.evaluate, iter([0.6, 0.9, 0.7, 0.6, 0.9]), {"n": 0}

    def evaluate(model, data, *args, **kwargs):  # train, test, validation at each evaluation
        calls["n"] += 1
        result = real(model, data, *args, **kwargs)
        return result | {"accuracy": next(scores)} if calls["n"] % 3 == 0 else result  # peak at 200

    monkeypatch.setattr(tweets_train, "evaluate", evaluate)
    best = train(tiny_npz, tmp_path / "best", validation_fraction=0.25, keep="best")
    assert best["kept_iteration"] == 200 and best["final"] == best["history"][1]
    assert best["last"]["iteration"] == 300 and best["final"]["validation_accuracy"] == 0.9
    # killed at the last evaluation (after the checkpoint at 200), resumed: the same weights are kept
    restore = kill_on_call(tweets_train, "evaluate", 7)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_npz, tmp_path / "killed", validation_fraction=0.25, keep="best")
    restore()
    scores, calls["n"] = iter([0.7]), 0  # the resumed run evaluates once more
    resumed = train(tiny_npz, tmp_path / "killed", validation_fraction=0.25, keep="best")
    assert resumed["resumed_from_iteration"] == 200 and resumed["kept_iteration"] == 200
    # the kept weights are those after 200 iterations (constant rate: a 200-iteration run's last)
    scores, calls["n"] = iter([0.6, 0.9]), 0
    upto_200 = train(tiny_npz, tmp_path / "last", validation_fraction=0.25, iterations=200)
    assert upto_200["kept_iteration"] == 200 == upto_200["last"]["iteration"]
    weights = [torch.load(tmp_path / run / "model.pt", weights_only=True) for run in ("best", "killed", "last")]
    for name, tensor in weights[2].items():
        assert torch.equal(weights[0][name], tensor) and torch.equal(weights[1][name], tensor), name
    with pytest.raises(tweets_train.InputError, match="tweets.tuned.keep: best needs validation"):
        train(tiny_npz, tmp_path / "none", keep="best")


def test_a_diverging_run_keeps_its_best_weights_or_fails_naming_the_run(tiny_npz, tmp_path,
                                                                        nan_loss_from_call):
    calls = nan_loss_from_call(tweets_train, 250)  # kernel pytorch: timing the kernels would add steps
    kept = train(tiny_npz, tmp_path / "best", validation_fraction=0.25, keep="best", kernel="pytorch")
    assert kept["diverged_at_iteration"] == 250 and kept["iterations_run"] == 250
    assert kept["last"]["iteration"] == 200 and kept["kept_iteration"] in (100, 200)
    assert "NaN" not in (tmp_path / "best" / "history.json").read_text()  # stopped before a NaN row
    assert not (tmp_path / "best" / "checkpoints" / "last.pt").exists()  # finished
    calls["n"] = 0
    with pytest.raises(training.Diverged, match=r"last/model.pt: the training loss became nan at iteration 250 "
                                                r"\(precision fp32, learning rate 0.01\); lower its learning rate "
                                                r"or clip its gradients \(tweets\.grad_clip\), then run again"):
        train(tiny_npz, tmp_path / "last", kernel="pytorch")
    assert not (tmp_path / "last" / "model.pt").exists()
    state = torch.load(paths.checkpoint_of(str(tmp_path / "last" / "model.pt")), weights_only=True)
    assert state["position"]["iteration"] == 200  # the last good checkpoint stays for a rerun


def test_the_model_choice_leans_towards_the_mandated_run():
    from assignment5.tweets.figures import choose_model

    main = {"model": "main.pt", "validation_accuracy": 0.8, "test_accuracy": 0.7}
    tuned = {"model": "tuned.pt", "validation_accuracy": 0.8, "test_accuracy": 0.9}
    assert choose_model({"main": main, "tuned": tuned}, 9)["chosen"] == "main"  # a tie keeps the mandated run
    better = {"main": main, "tuned": tuned | {"validation_accuracy": 0.81}, "other": tuned | {"model": "o.pt"}}
    assert choose_model(better, 9)["model"] == "tuned.pt"  # test accuracy never counts


def test_grad_clip_caps_the_step_and_dropout_leaves_scoring_alone():
    """grad_clip: the update of one SGD step (lr 1) is the gradient capped at that norm;
    dropout: a model trained with it scores deterministically and loads like one without."""
    weight = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    training.optimise((weight * torch.tensor([30.0, 40.0, 0.0])).sum(), optimizer, clip=5.0)
    assert weight.detach().norm().item() == pytest.approx(5.0)  # the raw gradient's norm is 50
    training.optimise((weight * torch.tensor([0.3, 0.4, 0.0])).sum(), optimizer, clip=5.0)
    assert weight.detach().norm().item() == pytest.approx(5.5)  # below the cap: unchanged
    net = TweetLSTM(hidden=8, dropout=0.5).eval()
    codes, lengths = torch.randint(0, 128, (4, 6)), torch.full((4,), 6)
    assert torch.equal(net(codes, lengths), net(codes, lengths))
    assert TweetLSTM.from_state_dict(net.state_dict()).state_dict().keys() == net.state_dict().keys()


def test_cosine_schedule_falls_from_the_rate_to_zero():
    s = step_settings("tweets_train", iterations=100, lr=0.01, schedule="cosine")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=s.lr)
    schedule = lr_schedule(optimizer, s.schedule, s.iterations)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == pytest.approx(0.01) and rates[50] == pytest.approx(0.005)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(rates, rates[1:]))


def test_cue_effects_find_a_shortcut_the_model_learned():
    """A 'model' that reads only whether a tweet holds a URL: deleting the URL flips it."""
    from assignment5.tweets import cues

    class UrlReader:
        def __call__(self, codes, lengths):
            raise AssertionError  # replaced below

    texts = ["great day http://x.co/a", "bad day", "ok @someone http://y.co", "meh :)", "fine"]
    labels = np.array([1, 0, 1, 1, 0])
    original = cues.positive_probability
    try:
        cues.positive_probability = lambda model, ts: np.array([0.9 if "http" in t else 0.2 for t in ts])
        rows = {r["cue"]: r for r in cues.cue_effects(UrlReader(), texts, labels)}
    finally:
        cues.positive_probability = original
    assert rows["URL"]["tweets"] == 2 and rows["URL"]["flipped"] == 1.0
    assert rows["URL"]["mean_abs_change"] == pytest.approx(0.7) and rows["URL"]["positive_share"] == 1.0
    assert rows["user name"]["tweets"] == 1 and rows["emoticon"]["tweets"] == 1
    assert rows["emoticon"]["flipped"] == 0.0


def test_placeholder_text_replaces_every_url_and_user_name_and_travels_with_the_model(tmp_path):
    """A model trained on placeholder text says so in its weights, and prediction prepares what
    it reads the same way (the same probabilities as scoring the prepared text directly)."""
    from assignment5.tweets.data import with_placeholders
    from assignment5.tweets.model import Tweets, TweetLSTM
    from assignment5.tweets.predict import load_model, positive_probability

    assert with_placeholders("@bob see http://x.co/a and www.y.com, @al_1!") == "\x02 see \x01 and \x01 \x02!"
    tweets = Tweets.from_texts(["hi @bob", "http://a.b c"], [1, 0]).with_placeholders()
    assert tweets.texts() == ["hi \x02", "\x01 c"] and tweets.labels.tolist() == [1, 0]
    torch.manual_seed(0)
    net = TweetLSTM(hidden=16, kernel="pytorch", placeholders=True)
    torch.save(net.state_dict(), tmp_path / "model.pt")
    loaded = load_model(str(tmp_path / "model.pt"))
    assert bool(loaded.placeholders)
    plain = TweetLSTM.from_state_dict({k: v for k, v in net.state_dict().items() if k != "placeholders"})
    assert not plain.placeholders  # weights saved before the flag existed: raw text
    texts = ["so happy @bob http://x.y", "sad"]
    prepared = Tweets.from_texts([with_placeholders(t) for t in texts])
    with torch.no_grad():
        direct = plain(*prepared.batch(np.arange(2))[:2])[:, 1].exp().numpy()
    assert np.allclose(positive_probability(loaded, texts), direct)
    assert not np.allclose(positive_probability(plain, texts), direct)


def test_the_cue_control_deletes_as_many_characters_elsewhere():
    import re

    from assignment5.tweets.cues import without_random_span
    from assignment5.tweets.data import CUES

    url = re.compile(CUES["URL"])
    rng = np.random.default_rng(0)
    text = "good morning to everyone out there http://x.co/abc and all"
    for _ in range(20):
        out = without_random_span(text, url, rng)
        assert len(out) == len(text) - len("http://x.co/abc") and "http://x.co/abc" in out
    assert without_random_span("http://x.co/abc", url, rng) is None  # nothing else to delete
