"""Every file location the workflow uses, in one place (rules and code both import it).

Paths are relative to the workflow's working directory (the project root), so a run in
another directory (tests use a temporary one) keeps its results there.
"""

RESULTS = "results"
DATA = "data"
LOGS = "results/logs"
BENCHMARKS = "results/benchmarks"

# Section 1 and 4
THEORY_CNN = f"{RESULTS}/theory/cnn.json"
THEORY_VAE = f"{RESULTS}/theory/vae.json"

# Section 2
MNIST_NPZ = f"{DATA}/mnist/mnist.npz"
MNIST_DIR = f"{RESULTS}/mnist"
MNIST_MODEL = f"{MNIST_DIR}/model.pt"
MNIST_HISTORY = f"{MNIST_DIR}/history.json"
MNIST_CHECKPOINTS = f"{MNIST_DIR}/checkpoints"
MNIST_EVAL = f"{MNIST_DIR}/evaluation.json"
MNIST_ARCH = f"{MNIST_DIR}/architecture.json"
MNIST_FIGURES = {name: f"{MNIST_DIR}/fig_{name}.pdf"
                 for name in ("curves", "confusion", "misclassified")}

# Section 3
TWEETS_NPZ = f"{DATA}/tweets/tweets.npz"
TWEETS_STATS = f"{DATA}/tweets/stats.json"
TWEETS_DIR = f"{RESULTS}/tweets"
TWEETS_MODEL = f"{TWEETS_DIR}/model.pt"
TWEETS_HISTORY = f"{TWEETS_DIR}/history.json"
TWEETS_CHECKPOINTS = f"{TWEETS_DIR}/checkpoints"
TWEETS_EXAMPLES = f"{TWEETS_DIR}/examples.json"
TWEETS_FIGURES = {name: f"{TWEETS_DIR}/fig_{name}.pdf" for name in ("curves", "lengths")}

# Section 5
GALAXY_ARCHS = ("mlp", "conv", "resnet")
GALAXY_NPZ = f"{DATA}/galaxy/galaxy.npz"
GALAXY_PREP = f"{DATA}/galaxy/preprocess.json"
GALAXY_DIR = f"{RESULTS}/galaxy"


def galaxy_run(name: str) -> str:
    return f"{GALAXY_DIR}/runs/{name}"


GALAXY_PCA = f"{GALAXY_DIR}/pca.json"
GALAXY_SUMMARY = f"{GALAXY_DIR}/summary.json"
GALAXY_FIGURES = {name: f"{GALAXY_DIR}/fig_{name}.pdf" for name in (
    "curves", "reconstructions", "generation", "latent", "weights", "bonus")}

# Report
REPORT_TEMPLATE = "report/assignment5.tex.j2"
REPORT_TEX = f"{RESULTS}/report/assignment5.tex"
REPORT_PROVENANCE = f"{RESULTS}/report/provenance.json"
REPORT_PDF = "report/assignment5.pdf"
