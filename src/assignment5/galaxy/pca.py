"""The baseline: PCA with as many components as the VAE latent, its test reconstruction error."""

from __future__ import annotations


import numpy as np
from sklearn.decomposition import PCA

from assignment5.galaxy.analyse import linear_probe
from assignment5 import settings
from assignment5.io import read_npz, write_json

EPS = 1e-4  # PCA reconstructions leave [0, 1]; BCE needs them clipped


def reconstruction_errors(x: np.ndarray, recon: np.ndarray) -> dict:
    clipped = np.clip(recon, EPS, 1 - EPS)
    bce = -(x * np.log(clipped) + (1 - x) * np.log(1 - clipped)).mean()
    return {"bce": float(bce), "mse": float(((x - np.clip(recon, 0, 1)) ** 2).mean())}


def run(s: settings.GalaxyPca, *, data: str, out: str, threads: int = 1) -> dict:
    arrays = read_npz(data)
    flat = arrays["images"].reshape(len(arrays["images"]), -1).astype(np.float32) / 255.0
    test, morph = arrays["test"], arrays["morphology"]
    k = min(s.components, int((~test).sum()) - 1)
    pca = PCA(n_components=k, svd_solver="randomized", random_state=s.seed).fit(flat[~test])
    codes = pca.transform(flat)
    test_recon = pca.inverse_transform(codes[test])
    result = {
        "components": k, "explained_variance": float(pca.explained_variance_ratio_.sum()),
        "train": reconstruction_errors(flat[~test], pca.inverse_transform(codes[~test])),
        "test": reconstruction_errors(flat[test], test_recon),
        "probe": linear_probe(codes[~test], morph[~test], codes[test], morph[test]),
        # each test image's error, for a paired comparison with the VAEs on the same images
        "test_mse_per_image": ((flat[test] - np.clip(test_recon, 0, 1)) ** 2).mean(1).tolist(),
    }
    write_json(out, result)
    print(f"[galaxy:pca] {k} components: test BCE/px {result['test']['bce']:.4f} "
          f"MSE/px {result['test']['mse']:.5f}")
    return result
