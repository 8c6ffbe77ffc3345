"""Analyse one trained VAE: latent means, a linear probe, class-conditional samples, weights."""

from __future__ import annotations


import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from assignment5.galaxy.data import MORPHOLOGIES
from assignment5.galaxy.models import build
from assignment5.galaxy.stats import shape_summary
from assignment5.galaxy.train import as_float
from assignment5 import settings
from assignment5.io import read_model, read_npz, write_json, write_npz
from assignment5.training import resolve_device, setup_torch


@torch.no_grad()
def encode_all(model, images: torch.Tensor, batch_size: int = 256):
    """Posterior means and log-variances of every image, on the model's device, as numpy."""
    model.eval()
    device = next(model.parameters()).device
    mus, log_vars = [], []
    for start in range(0, len(images), batch_size):
        mu, log_var = model.encode(as_float(images[start: start + batch_size].to(device), False))
        mus.append(mu.float().cpu())
        log_vars.append(log_var.float().cpu())
    return torch.cat(mus).numpy(), torch.cat(log_vars).numpy()


@torch.no_grad()
def per_image_mse(model, images: torch.Tensor, mu: np.ndarray, device, batch_size: int = 256) -> np.ndarray:
    """Each image's MSE per pixel of its mean reconstruction (decoded from its posterior mean mu),
    as the PCA baseline's."""
    errors = []
    for start in range(0, len(images), batch_size):
        x = as_float(images[start: start + batch_size].to(device), False)
        z = torch.from_numpy(mu[start: start + batch_size]).to(device)
        errors.append((torch.sigmoid(model.decode(z).float()) - x).pow(2).flatten(1).mean(1).cpu())
    return torch.cat(errors).numpy()


def linear_probe(train_x, train_y, test_x, test_y) -> dict:
    """Multinomial logistic regression on standardised features: how linearly separable are classes."""
    keep_tr, keep_te = train_y >= 0, test_y >= 0
    classes = np.unique(train_y[keep_tr])
    if len(classes) < 2 or keep_te.sum() == 0:
        return {"accuracy": None, "majority": None, "test_labelled": int(keep_te.sum())}
    scaler = StandardScaler().fit(train_x[keep_tr])
    probe = LogisticRegression(max_iter=2000).fit(scaler.transform(train_x[keep_tr]), train_y[keep_tr])
    accuracy = probe.score(scaler.transform(test_x[keep_te]), test_y[keep_te])
    majority = np.mean(test_y[keep_te] == np.bincount(train_y[keep_tr]).argmax())
    return {"accuracy": float(accuracy), "majority": float(majority), "test_labelled": int(keep_te.sum()),
            "train_labelled": int(keep_tr.sum())}


def class_gaussian(mu: np.ndarray, log_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moment-matched Gaussian of a class's aggregate posterior (1/N) sum_i q(z|x_i):
    mean of the means; covariance of the means plus the mean posterior variance."""
    mean = mu.mean(0)
    cov = np.cov(mu, rowvar=False) if len(mu) > 1 else np.zeros((mu.shape[1],) * 2)
    cov = cov + np.diag(np.exp(log_var).mean(0))
    return mean, cov


@torch.no_grad()
def generate(model, mean, cov, n: int, rng: np.random.Generator) -> np.ndarray:
    z = rng.multivariate_normal(mean, cov, size=n, method="cholesky").astype(np.float32)
    device = next(model.parameters()).device
    return torch.sigmoid(model.decode(torch.from_numpy(z).to(device))).permute(0, 2, 3, 1).cpu().numpy()


def first_layer_filters(model) -> np.ndarray:
    """(N, h, w, 3) filters of the first layer that sees pixels (MLP rows reshaped to images)."""
    first = next(m for m in model.encoder.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    w = first.weight.detach()
    if isinstance(first, torch.nn.Linear):
        w = w[:32].reshape(32, 3, model.size, model.size)
    return w.permute(0, 2, 3, 1).numpy()


def decoder_output_filters(model, limit: int = 32) -> np.ndarray:
    """(N, h, w, 3) weights of the decoder's last layer, the one that paints pixels: per input
    channel its kernel onto the 3 colours (for the feed-forward model, the first columns of the
    output matrix reshaped to images)."""
    last = [m for m in model.decoder.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d,
                                                                  torch.nn.Linear))][-1]
    w = last.weight.detach()
    if isinstance(last, torch.nn.Linear):  # (pixels, hidden)
        w = w.T[:limit].reshape(-1, 3, model.size, model.size)
    elif isinstance(last, torch.nn.Conv2d):  # (out=3, in, kh, kw)
        w = w.transpose(0, 1)
    return w[:limit].permute(0, 2, 3, 1).numpy()  # ConvTranspose2d: (in, out=3, kh, kw) already


def decoder_first_weights(model) -> np.ndarray:
    """The decoder's first layer as (latent, outputs): one row per latent dimension."""
    first = next(m for m in model.decoder.modules() if isinstance(m, (torch.nn.Linear,
                                                                       torch.nn.ConvTranspose2d)))
    w = first.weight.detach()
    # nn.Linear stores (out, in): transpose; ConvTranspose2d stores (in, out, kh, kw): flatten.
    return (w.T if isinstance(first, torch.nn.Linear) else w.reshape(w.shape[0], -1)).numpy()


def vae_from_state(saved: dict) -> tuple[str, torch.nn.Module]:
    """(architecture, the VAE with its weights) from what galaxy.train saved."""
    net = build(saved["arch"], saved["latent_dim"], saved["size"])
    net.load_state_dict(saved["state_dict"])
    return saved["arch"], net


def run(s: settings.GalaxyAnalyse, *, data: str, model: str, npz: str, json: str,
        threads: int) -> dict:
    setup_torch(threads, s.seed)
    device = resolve_device(s.device)
    per_class = s.generated_per_class
    arch, model = read_model(model, vae_from_state, "a VAE this workflow trained")
    model = model.to(device).eval()
    arrays = read_npz(data)
    images = torch.from_numpy(arrays["images"]).permute(0, 3, 1, 2).contiguous()
    test, morph = arrays["test"], arrays["morphology"]
    mu, log_var = encode_all(model, images)
    probe = linear_probe(mu[~test], morph[~test], mu[test], morph[test])

    rng = np.random.default_rng(s.seed)
    originals, generated, class_sizes, class_shapes = [], [], {}, {}
    for k, name in enumerate(MORPHOLOGIES):
        members = np.flatnonzero((morph == k) & ~test)
        class_sizes[name] = int(len(members))
        if len(members) < 2:
            continue
        mean, cov = class_gaussian(mu[members], log_var[members])
        pick = rng.choice(members, per_class, replace=len(members) < per_class)
        originals.append(arrays["images"][pick] / 255.0)
        generated.append(generate(model, mean, cov, per_class, rng))
        # as many generated images as the class has training images, measured alike
        class_shapes[name] = {"originals": shape_summary(arrays["images"][members] / 255.0),
                              "generated": shape_summary(generate(model, mean, cov, len(members), rng))}
    test_idx = np.flatnonzero(test)[:8]
    with torch.no_grad():
        recon = torch.sigmoid(model(as_float(images[test_idx].to(device), False))[0].float())
        recon = recon.permute(0, 2, 3, 1).cpu().numpy()
    prior = generate(model, np.zeros(model.latent_dim), np.eye(model.latent_dim), per_class, rng)
    model.cpu()  # the weights, as numpy
    fc = model.to_mu.weight.detach().numpy()
    write_npz(npz, compressed=True, test_mu=mu[test], test_morphology=morph[test],
              originals=np.array(originals), generated=np.array(generated),
              recon_inputs=arrays["images"][test_idx] / 255.0, recon=recon, prior=prior,
              test_mse_per_image=per_image_mse(model, images[test], mu[test], device),
              filters=first_layer_filters(model), output_filters=decoder_output_filters(model), fc_mu=fc,
              fc_decoder=decoder_first_weights(model))
    generated_classes = [n for n in MORPHOLOGIES if class_sizes[n] >= 2]
    info = {"arch": arch, "probe": probe, "class_sizes": class_sizes, "class_shapes": class_shapes,
            "generated_classes": generated_classes, "generated_per_class": per_class}
    write_json(json, info)
    print(f"[galaxy:{arch}] linear probe accuracy {probe['accuracy']} "
          f"(majority class {probe['majority']})")
    return info
