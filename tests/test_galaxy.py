"""Section 5: preprocessing (corrupt JPEGs, both label layouts), models, loss, training."""

import csv
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from assignment5 import paths, training
from assignment5.galaxy import data as gdata
from assignment5.galaxy import train as gtrain
from assignment5.galaxy.models import build, vae_loss
from conftest import step_settings

pytestmark = pytest.mark.unit  # make check: the fast tier

IDS = [100008, 100023, 100053, 100078, 100090, 100122, 100123, 100128]


def kaggle_row(galaxy_id: int, kind: str) -> dict:
    """37 probabilities where one morphology rule (or none) holds."""
    cols = {c: 0.0 for c in KAGGLE_COLUMNS}
    if kind == "round_smooth":
        cols.update({"Class1.1": 0.8, "Class7.1": 0.7})
    elif kind == "spiral":
        cols.update({"Class1.2": 0.9, "Class2.2": 0.8, "Class4.1": 0.75})
    elif kind == "edge_on":
        cols.update({"Class1.2": 0.6, "Class2.1": 0.7})
    else:
        cols.update({"Class6.2": 0.9})
    return {"GalaxyID": galaxy_id, **cols}


KAGGLE_COLUMNS = [f"Class{a}.{b}" for a, n in [(1, 3), (2, 2), (3, 2), (4, 2), (5, 4), (6, 2), (7, 3),
                                                (8, 7), (9, 3), (10, 3), (11, 6)] for b in range(1, n + 1)]
KINDS = ["round_smooth", "spiral", "edge_on", "", "round_smooth", "spiral", "", "edge_on"]


@pytest.fixture()
def galaxy_dir(tmp_path):
    """Eight synthetic 424x424 'galaxies' (a bright centre blob), one of them truncated."""
    images = tmp_path / "images_training_rev1"
    images.mkdir()
    yy, xx = np.mgrid[:424, :424]
    for k, galaxy_id in enumerate(IDS):
        blob = np.exp(-((yy - 212) ** 2 + (xx - 212) ** 2) / (2 * (20 + 5 * k) ** 2))
        rgb = (np.stack([blob, blob * 0.8, blob * 0.6], -1) * 255).astype(np.uint8)
        Image.fromarray(rgb).save(images / f"{galaxy_id}.jpg", quality=90)
    broken = images / f"{IDS[3]}.jpg"
    broken.write_bytes(broken.read_bytes()[:2000])  # truncated JPEG
    assert len(KAGGLE_COLUMNS) == 37
    with open(tmp_path / gdata.LABELS_KAGGLE, "w", newline="") as f:
        writer = csv.DictWriter(f, ["GalaxyID", *KAGGLE_COLUMNS])
        writer.writeheader()
        for galaxy_id, kind in zip(IDS, KINDS):
            writer.writerow(kaggle_row(galaxy_id, kind))
    return tmp_path


def test_both_label_layouts_agree(galaxy_dir, tmp_path_factory):
    from_kaggle = gdata.read_labels(galaxy_dir)
    assert [from_kaggle[i][1] for i in IDS] == KINDS
    assert from_kaggle[IDS[3]][0] == "Class6.2" and from_kaggle[IDS[0]][0] == "Class1.1"
    short = tmp_path_factory.mktemp("short")
    with open(short / gdata.LABELS_SHORT, "w", newline="") as f:
        f.write("GalaxyID,argmax_class,morphology\n")
        for galaxy_id, (argmax, morph) in from_kaggle.items():
            f.write(f"{galaxy_id},{argmax},{morph}\n")
    assert gdata.read_labels(short) == from_kaggle


def test_real_label_file_matches_the_rules(shared_data):
    labels = gdata.read_labels(shared_data / "galaxy-zoo")
    assert len(labels) == 61578
    assert sum(1 for _, m in labels.values() if m) == 27675


def prep(galaxy_dir, threads=2, **overrides):
    s = step_settings("galaxy_data", **({"image_size": 32, "test_fraction": 0.3} | overrides))
    return gdata.preprocess(s, galaxy_dir / gdata.LABELS_KAGGLE, galaxy_dir / gdata.IMAGE_DIR, threads)


def test_preprocess_skips_and_lists_corrupt_jpegs(galaxy_dir):
    arrays, summary = prep(galaxy_dir)
    assert summary["unreadable"] == 1 and summary["unreadable_files"][0]["file"] == f"{IDS[3]}.jpg"
    assert arrays["images"].shape == (7, 32, 32, 3) and arrays["images"].dtype == np.uint8
    assert IDS[3] not in arrays["ids"].tolist()
    # the centre crop keeps the bright blob in the middle
    img = arrays["images"][0].astype(float)
    assert img[16, 16, 0] > 200 and img[0, 0, 0] < img[16, 16, 0]
    assert arrays["morphology"].tolist() == [0, 4, 3, 0, 4, -1, 3]


def test_corrupt_jpeg_can_be_fatal(galaxy_dir):
    with pytest.raises(gdata.GalaxyDataError, match=f"{IDS[3]}.jpg: unreadable image"):
        prep(galaxy_dir, threads=1, corrupt_images="error")


def test_missing_inputs_say_what_to_put_where(tmp_path):
    with pytest.raises(gdata.GalaxyDataError, match="images_training_rev1"):
        prep(tmp_path)
    (tmp_path / "images_training_rev1").mkdir()
    with pytest.raises(gdata.GalaxyDataError, match="galaxy_labels.csv"):
        gdata.read_labels(tmp_path)


def test_split_is_stable_and_near_the_fraction():
    ids = range(100000, 120000)
    first = [gdata.in_test_split(i, 0.1) for i in ids]
    assert first == [gdata.in_test_split(i, 0.1) for i in ids]
    assert abs(np.mean(first) - 0.1) < 0.01


@pytest.mark.parametrize("arch", ["mlp", "conv", "resnet"])
@pytest.mark.parametrize("size", [32, 64])
def test_model_shapes(arch, size):
    model = build(arch, latent_dim=8, size=size)
    x = torch.rand(3, 3, size, size)
    logits, mu, log_var = model(x)
    assert logits.shape == x.shape and mu.shape == log_var.shape == (3, 8)
    assert model.decode(torch.zeros(2, 8)).shape == (2, 3, size, size)
    model.train()
    z1, z2 = model.reparameterize(mu, log_var), model.reparameterize(mu, log_var)
    assert not torch.equal(z1, z2)


def test_loss_against_hand_computation():
    x = torch.tensor([[0.0, 1.0, 0.25]])
    logits = torch.tensor([[0.0, 2.0, -1.0]])
    mu, log_var = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.0, math.log(4.0)]])
    y = [0.5, 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(1))]
    bce = -sum(xi * math.log(yi) + (1 - xi) * math.log(1 - yi) for xi, yi in zip([0, 1, 0.25], y))
    kl = 0.5 * ((0.25 + 1 - 1 - 0) + (1 + 4 - 1 - math.log(4)))
    total, got_bce, got_kl = vae_loss(logits, x, mu, log_var, beta=0.5)
    assert got_bce.item() == pytest.approx(bce, rel=1e-6)
    assert got_kl.item() == pytest.approx(kl, rel=1e-6)
    assert total.item() == pytest.approx(bce + 0.5 * kl, rel=1e-6)


def test_kl_warmup_ramps():
    assert gtrain.kl_weight(0, 10, 1.0, 2) == 0.0
    assert gtrain.kl_weight(10, 10, 1.0, 2) == 0.5
    assert gtrain.kl_weight(50, 10, 0.5, 2) == 0.5
    assert gtrain.kl_weight(3, 10, 1.0, 0) == 1.0


@pytest.fixture()
def tiny_npz(tmp_path):
    rng = np.random.default_rng(0)
    n, size = 96, 32
    yy, xx = np.mgrid[:size, :size]
    radius = rng.uniform(3, 10, n)
    blobs = np.exp(-((yy - 16) ** 2 + (xx - 16) ** 2)[None] / (2 * radius[:, None, None] ** 2))
    images = (np.repeat(blobs[..., None], 3, -1) * 255).astype(np.uint8)
    path = tmp_path / "galaxy.npz"
    np.savez(path, images=images, ids=np.arange(n), test=np.arange(n) % 4 == 0,
             argmax_class=np.zeros(n, int), morphology=(radius > 6).astype(int))
    return path


def train(npz, out, arch="conv", lr_choice=None, **overrides):
    s = step_settings("galaxy_train", arch, **({"epochs": 4, "latent_dim": 4, "batch_size": 16, "lr": 2e-3,
                                                "evaluations": 4, "free_bits": 0.0, "eval_sample": 48,
                                                "precision": "fp32", "channels_last": False} | overrides))
    return gtrain.run(s, data=str(npz), model=str(out / "model.pt"), history=str(out / "history.json"),
                      threads=1, lr_choice=lr_choice)


@pytest.mark.parametrize("arch", ["mlp", "conv", "resnet"])
def test_short_training_lowers_the_loss(tiny_npz, tmp_path, arch):
    summary = train(tiny_npz, tmp_path, arch, epochs=10, lr=1e-3)
    first, last = summary["history"][0]["test"], summary["history"][-1]["test"]
    assert last["neg_elbo"] < first["neg_elbo"] and last["mse"] < first["mse"]


def test_no_batch_of_one_image_reaches_batchnorm():
    assert [(b.start, b.stop) for b in training.batch_slices(9, 4)] == [(0, 4), (4, 9)]   # 4 + 5, not 4 + 4 + 1
    assert [(b.start, b.stop) for b in training.batch_slices(8, 4)] == [(0, 4), (4, 8)]
    assert [(b.start, b.stop) for b in training.batch_slices(3, 4)] == [(0, 3)]
    for n in range(2, 40):
        for size in range(1, 12):
            batches = training.batch_slices(n, size)
            assert sum(b.stop - b.start for b in batches) == n and batches[0].start == 0
            assert all(a.stop == b.start for a, b in zip(batches, batches[1:]))
            assert size == 1 or min(b.stop - b.start for b in batches) >= 2


@pytest.mark.parametrize("arch", ["conv", "resnet"])
def test_a_training_set_that_leaves_one_image_over_trains(tiny_npz, tmp_path, arch):
    # 72 training images in batches of 71: at 32 px both networks end in 1x1 BatchNorm layers,
    # which a batch of one image would make fail
    summary = train(tiny_npz, tmp_path, arch, epochs=1, batch_size=71)
    assert summary["history"][-1]["iteration"] == 1
    gtrain.recalibrate_batchnorm(build(arch, 4, 32), torch.rand(257, 3, 32, 32).mul(255).byte(), "fp32", False)


def test_batchnorm_recalibration_averages_over_all_images_and_keeps_the_momentum():
    images = torch.randint(0, 256, (8, 3, 4, 4), dtype=torch.uint8)
    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean.fill_(5.0)  # stale statistics, as after the last batches
    assert gtrain.recalibrate_batchnorm(torch.nn.Sequential(bn), images, "fp32", False, batch_size=4) == 1
    expected = (images.float() / 255).mean(dim=(0, 2, 3))
    assert torch.allclose(bn.running_mean, expected, atol=1e-6) and bn.momentum == 0.1
    assert gtrain.recalibrate_batchnorm(torch.nn.Sequential(torch.nn.Linear(2, 2)), images, "fp32", False) == 0


def test_killed_run_resumes_from_its_checkpoint(tiny_npz, tmp_path, kill_on_call):
    reference = train(tiny_npz, tmp_path / "ref")
    # 2 initial evaluations + 2 per epoch: the 7th is at the end of epoch 3
    restore = kill_on_call(gtrain, "reconstruction_error", 7)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_npz, tmp_path / "run")
    restore()
    steps = {"n": 0}
    real_step = gtrain.train_step

    def counting_step(*args, **kwargs):
        steps["n"] += 1
        return real_step(*args, **kwargs)

    gtrain.train_step = counting_step
    try:
        resumed = train(tiny_npz, tmp_path / "run")
    finally:
        gtrain.train_step = real_step
    per_epoch = -(-72 // 16)  # 72 training images (a quarter of 96 are test), batches of 16
    assert resumed["resumed_from_epoch"] == 2 and steps["n"] == 2 * per_epoch
    assert len(resumed["history"]) == len(reference["history"])
    assert resumed["final"]["test"]["bce"] == pytest.approx(reference["final"]["test"]["bce"], rel=1e-4)


def test_kaggle_layout_at_scale_derives_labels_and_streams(tmp_path, capsys):
    """A few hundred generated galaxies with Kaggle's 37-column file (plus ids without images):
    labels derived from the columns, every image decoded in a process pool into one array."""
    rng = np.random.default_rng(1)
    images = tmp_path / gdata.IMAGE_DIR
    images.mkdir()
    ids = list(range(200000, 200300))
    yy, xx = np.mgrid[:424, :424]
    for galaxy in ids:
        blob = np.exp(-((yy - 212) ** 2 + (xx - 212) ** 2) / (2 * rng.uniform(15, 60) ** 2))
        Image.fromarray((np.stack([blob, blob, blob], -1) * 255).astype(np.uint8)).save(images / f"{galaxy}.jpg")
    with open(tmp_path / gdata.LABELS_KAGGLE, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["GalaxyID", *KAGGLE_COLUMNS])
        for galaxy in [*ids, *range(300000, 300020)]:
            writer.writerow([galaxy, *np.round(rng.uniform(0, 1, 37), 4)])
    s = step_settings("galaxy_data", image_size=32)
    arrays, summary = gdata.preprocess(s, tmp_path / gdata.LABELS_KAGGLE, images, threads=2)
    assert arrays["images"].shape == (300, 32, 32, 3) and arrays["images"].dtype == np.uint8
    assert summary["labelled_ids"] == 320 and summary["used"] == 300 and summary["unreadable"] == 0
    assert sum(summary["morphology_counts"].values()) + summary["unlabelled_morphology"] == 300
    assert summary["morphology_counts"]["spiral"] > 0  # uniform columns satisfy some rules
    assert summary["train"] + summary["test"] == 300 and summary["test"] > 0
    assert "decoded 300/300 images" in capsys.readouterr().out


def test_a_dimension_at_the_prior_has_no_kl_and_is_no_active_unit():
    """A dimension whose posterior equals the prior for every image: KL 0, and its mean does not
    vary with the input (Burda et al.'s active units leave it out)."""
    from assignment5.galaxy.stats import active_units

    torch.manual_seed(0)
    net = build("mlp", 4, 32)
    with torch.no_grad():  # dimension 3: mu = 0, log_var = 0 for every image (the prior)
        for layer in (net.to_mu, net.to_log_var):
            layer.weight[3].zero_()
            layer.bias[3].zero_()
    images = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8)
    scores = gtrain.reconstruction_error(net, images, "fp32", False)
    assert scores["kl"] == pytest.approx(sum(scores["kl_per_dimension"]), rel=1e-5)
    assert scores["kl_per_dimension"][3] == pytest.approx(0.0, abs=1e-7)
    assert scores["mu_variance_per_dimension"][3] == pytest.approx(0.0, abs=1e-12)
    with torch.no_grad():
        mu = net.encode(gtrain.as_float(images, False))[0].double()
    assert scores["mu_variance_per_dimension"] == pytest.approx(mu.var(0, unbiased=False).tolist(), abs=1e-9)
    threshold = min(scores["mu_variance_per_dimension"][:3]) / 2
    assert active_units(scores, threshold) == 3


def test_convergence_is_measured_over_the_last_window():
    from assignment5.galaxy.figures import convergence, late_improvement, late_window

    rows = [{"iteration": i, "test": {"neg_elbo": e}} for i, e in
            ((0, 100.0), (50, 60.0), (90, 50.0), (95, 49.0), (100, 45.0))]
    assert late_improvement(rows, 0.1) == pytest.approx(0.1)     # 50 -> 45 from iteration 90
    assert late_improvement(rows, 0.01) == pytest.approx(4 / 49)  # window too short: the last step
    assert late_window(rows, 0.1) == pytest.approx(0.1)
    assert late_window(rows, 0.01) == pytest.approx(0.05)          # what the text then says it spans
    assert [convergence(x, 0.01) for x in (0.1, 0.005, -0.005, -0.1)] == \
        ["improving", "converged", "converged", "rising"]


def test_seed_spread_and_welch_test():
    from assignment5.galaxy.stats import spread, welch_p

    assert spread([1.0, 2.0, 3.0]) == {"mean": 2.0, "sd": 1.0, "values": [1.0, 2.0, 3.0]}
    assert spread([4.0])["sd"] == 0.0
    assert welch_p([1.0, 1.1, 0.9], [5.0, 5.1, 4.9]) < 0.001
    assert welch_p([1.0, 2.0, 3.0], [1.5, 2.5, 2.0]) > 0.5
    assert welch_p([1.0], [2.0, 3.0]) is None and welch_p([1.0, 1.0], [1.0, 1.0]) is None


def test_a_study_run_holds_out_training_images_and_never_sees_the_test_split(tiny_npz, tmp_path):
    summary = train(tiny_npz, tmp_path, "conv", epochs=1, validation_fraction=0.25)
    assert summary["settings"]["evaluated_on"] == "validation"
    assert summary["settings"]["train_images"] + summary["settings"]["test_images"] == 72  # of 96, 24 test
    assert summary["settings"]["test_images"] == 18
    fit, held = gtrain.hold_out(torch.arange(72), 0.25, seed=0)
    assert sorted(torch.cat([fit, held]).tolist()) == list(range(72))  # a split, nothing lost or repeated


def test_a_study_run_can_follow_its_main_runs_schedule_and_stop_early(tiny_npz, tmp_path):
    from assignment5 import settings

    config = settings.load_config(["config/config.yaml"])
    study_run = settings.lr_run("conv", config["galaxy"]["lr_study"]["lrs"][0])
    followed = settings.for_step(config, "galaxy_train", study_run)
    assert followed["schedule_epochs"] == config["galaxy"]["epochs"]["conv"] > followed["epochs"]
    config["galaxy"]["lr_study"]["horizon"] = "own"
    assert settings.for_step(config, "galaxy_train", study_run)["schedule_epochs"] is None
    assert settings.for_step(config, "galaxy_train", "conv")["schedule_epochs"] is None

    # 1 epoch of a 4-epoch cosine ends at cos^2(pi/8) of the peak rate; its own cosine ends at 0
    early = train(tiny_npz, tmp_path / "early", "conv", epochs=1, schedule_epochs=4)
    own = train(tiny_npz, tmp_path / "own", "conv", epochs=1)
    assert early["final_lr"] == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert own["final_lr"] == 0.0 and early["iterations"] * 4 == early["schedule_iterations"]


def test_a_diverging_study_run_stops_and_loses_while_a_main_run_fails_naming_itself(
        tiny_npz, tmp_path, nan_loss_from_call):
    from assignment5.galaxy import lr_study
    from assignment5.io import read_json

    calls = nan_loss_from_call(gtrain, 7, part=0)  # 54 study images: 4 batches an epoch
    study = train(tiny_npz, tmp_path / "study", "conv", epochs=3, validation_fraction=0.25, evaluations=3)
    assert study["diverged_at_iteration"] == 8 and len(study["history"]) == 3  # stopped after epoch 2
    assert study["epochs_run"] == 2
    healthy = {"final": {"test": {"mse": 0.01}}}
    assert lr_study.score(read_json(tmp_path / "study" / "history.json"), "mse") == math.inf
    assert lr_study.choose([(1e-2, study), (1e-3, healthy)], "mse") == 1e-3
    assert lr_study.row(1e-2, 0.0, study)["diverged_at_iteration"] == 8
    calls["n"] = 0
    with pytest.raises(training.Diverged, match=r"main/model.pt: the training loss became nan at iteration 10 "):
        train(tiny_npz, tmp_path / "main", "conv", epochs=3, evaluations=3)  # 72 images: 5 batches an epoch
    assert torch.load(paths.checkpoint_of(str(tmp_path / "main" / "model.pt")),
                      weights_only=True)["position"]["epoch"] == 1  # the last good checkpoint stays


def test_lr_study_picks_the_lowest_validation_error_and_main_runs_take_it(tiny_npz, tmp_path):
    from assignment5.galaxy import lr_study
    from assignment5.io import read_json

    def history(mse):
        return {"final": {"test": {"mse": mse, "bce": 0.5, "kl": 1.0, "neg_elbo": 9.0}},
                "settings": {"epochs": 1, "schedule_epochs": 3, "test_images": 5, "train_images": 45},
                "wall_seconds": 1.0}

    assert lr_study.choose([(1e-3, history(0.02)), (3e-3, history(0.01)), (1e-2, history(float("nan")))],
                           "mse") == 3e-3
    assert lr_study.choose([(3e-3, history(0.01)), (1e-3, history(0.01))], "mse") == 1e-3  # tie: smaller
    # a larger rate must lead by more than the share to be chosen; nan never counts as close
    runs = [(1e-3, history(0.0105)), (3e-3, history(0.0100)), (1e-2, history(float("nan")))]
    assert lr_study.choose(runs, "mse", within=0.1) == 1e-3
    assert lr_study.choose(runs, "mse", within=0.04) == 3e-3
    assert lr_study.choose([(1e-4, history(0.02)), *runs], "mse", within=0.1) == 1e-3
    with pytest.raises(lr_study.InputError, match="diverged"):
        lr_study.choose([(1e-2, history(float("inf")))], "mse")

    s = step_settings("galaxy_lr_study")
    assert s.archs == ["mlp", "conv", "resnet"] and len(s.runs[0]) == len(s.lrs) * 3  # mlp: 3 free-bits values
    paths, best_fb = [], s.runs[0][1][1]  # mlp's runs go rate by rate, free-bits value by value
    for runs in s.runs:  # per architecture, the second rate has the lowest error, best_fb more so
        for lr, fb, run in runs:
            paths.append(tmp_path / f"{run}.json")
            paths[-1].write_text(json.dumps(history((0.005 if lr == s.lrs[1] else 0.01) - (fb == best_fb) * 0.001)))
    out = lr_study.run(s, histories=[str(p) for p in paths], output=str(tmp_path / "lr_study.json"))
    assert {a: r["chosen"] for a, r in out["archs"].items()} == {a: s.lrs[1] for a in s.archs}
    assert {a: r["free_bits"] for a, r in out["archs"].items()} == {"mlp": best_fb, "conv": 0, "resnet": 0}
    assert all(r["bracketed"] for r in out["archs"].values())
    assert out["horizon"] == s.horizon and out["archs"]["conv"]["runs"][0]["schedule_epochs"] == 3
    with pytest.raises(lr_study.InputError, match="history files"):
        lr_study.run(s, histories=[str(p) for p in paths[:-1]], output=str(tmp_path / "x.json"))

    summary = train(tiny_npz, tmp_path / "main", "conv", epochs=1, lr="study",
                    lr_choice=str(tmp_path / "lr_study.json"))
    assert summary["settings"]["lr"] == s.lrs[1] and summary["settings"]["lr_from"] == "study"
    mlp = train(tiny_npz, tmp_path / "mlp", "mlp", epochs=1, lr="study", free_bits="study",
                lr_choice=str(tmp_path / "lr_study.json"))
    assert mlp["settings"]["free_bits"] == best_fb and summary["settings"]["free_bits"] == 0
    assert read_json(tmp_path / "main" / "history.json")["settings"]["evaluated_on"] == "test"
    with pytest.raises(gtrain.InputError, match="lr_study.json"):
        train(tiny_npz, tmp_path / "nochoice", "conv", epochs=1, lr="study")
