"""Every file location the workflow uses, in one place (rules, entry points and tests import it).

Paths are relative to the workflow's working directory (the project root), so a run in another
directory (tests use a temporary one) keeps its results there. Each budget (smoke, default,
full) has its own data/<budget>/ and results/<budget>/ folders and its own PDF, so results of
one budget can never appear under another's name.
"""

from __future__ import annotations

from dataclasses import dataclass

GALAXY_ARCHS = ("mlp", "conv", "resnet")
GALAXY_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # Kaggle ships JPGs; cutouts from elsewhere are often PNGs
MNIST_FIGURES = ("curves", "confusion", "misclassified")
TWEETS_FIGURES = ("curves", "lengths")
GALAXY_FIGURES = ("curves", "reconstructions", "prior", "generation", "latent", "weights", "bonus")

# File names inside a training run's folder.
MODEL = "model.pt"
HISTORY = "history.json"
CHECKPOINT = "checkpoints/last.pt"

REPORT_TEMPLATE = "report/assignment5.tex.j2"
REPORT_SECTIONS = tuple(f"report/section{n}.tex.j2" for n in (2, 3, 5))


def checkpoint_of(model_path: str) -> str:
    """The checkpoint beside a run's model file (same folder)."""
    return f"{model_path.rsplit('/', 1)[0]}/{CHECKPOINT}" if "/" in model_path else CHECKPOINT


@dataclass(frozen=True)
class Paths:
    budget: str

    @property
    def results(self) -> str:
        return f"results/{self.budget}"

    @property
    def data(self) -> str:
        return f"data/{self.budget}"

    @property
    def logs(self) -> str:
        return f"{self.results}/logs"

    @property
    def benchmarks(self) -> str:
        return f"{self.results}/benchmarks"

    def log(self, rule: str) -> str:
        return f"{self.logs}/{rule}.log"

    def benchmark(self, rule: str) -> str:
        return f"{self.benchmarks}/{rule}.tsv"

    # Sections 1 and 4
    @property
    def theory_cnn(self) -> str:
        return f"{self.results}/theory/cnn.json"

    @property
    def theory_vae(self) -> str:
        return f"{self.results}/theory/vae.json"

    # Section 2
    @property
    def mnist_npz(self) -> str:
        return f"{self.data}/mnist/mnist.npz"

    @property
    def mnist_dir(self) -> str:
        return f"{self.results}/mnist"

    @property
    def mnist_model(self) -> str:
        return f"{self.mnist_dir}/{MODEL}"

    @property
    def mnist_history(self) -> str:
        return f"{self.mnist_dir}/{HISTORY}"

    def mnist_check_model(self, run: str) -> str:
        return f"{self.mnist_dir}/{run}/{MODEL}"

    def mnist_check_history(self, run: str) -> str:
        return f"{self.mnist_dir}/{run}/{HISTORY}"

    @property
    def mnist_batchnorm(self) -> str:
        return f"{self.mnist_dir}/batchnorm.json"

    @property
    def mnist_eval(self) -> str:
        return f"{self.mnist_dir}/evaluation.json"

    @property
    def mnist_arch(self) -> str:
        return f"{self.mnist_dir}/architecture.json"

    @property
    def mnist_table(self) -> str:
        return f"{self.mnist_dir}/epochs.tsv"

    @property
    def mnist_figures(self) -> dict[str, str]:
        return {name: f"{self.mnist_dir}/fig_{name}.pdf" for name in MNIST_FIGURES}

    # Section 3
    @property
    def tweets_npz(self) -> str:
        return f"{self.data}/tweets/tweets.npz"

    @property
    def tweets_stats(self) -> str:
        return f"{self.data}/tweets/stats.json"

    @property
    def tweets_dir(self) -> str:
        return f"{self.results}/tweets"

    @property
    def tweets_model(self) -> str:
        return f"{self.tweets_dir}/{MODEL}"

    @property
    def tweets_history(self) -> str:
        return f"{self.tweets_dir}/{HISTORY}"

    def tweets_variant_model(self, run: str) -> str:
        return f"{self.tweets_dir}/{run}/{MODEL}"

    def tweets_variant_history(self, run: str) -> str:
        return f"{self.tweets_dir}/{run}/{HISTORY}"

    @property
    def tweets_best(self) -> str:
        return f"{self.tweets_dir}/best.json"

    @property
    def tweets_examples(self) -> str:
        return f"{self.tweets_dir}/examples.json"

    @property
    def tweets_baseline(self) -> str:
        return f"{self.tweets_dir}/baseline.json"

    @property
    def tweets_table(self) -> str:
        return f"{self.tweets_dir}/evaluations.tsv"

    @property
    def tweets_figures(self) -> dict[str, str]:
        return {name: f"{self.tweets_dir}/fig_{name}.pdf" for name in TWEETS_FIGURES}

    # Section 5
    @property
    def galaxy_npz(self) -> str:
        return f"{self.data}/galaxy/galaxy.npz"

    @property
    def galaxy_prep(self) -> str:
        return f"{self.data}/galaxy/preprocess.json"

    @property
    def galaxy_dir(self) -> str:
        return f"{self.results}/galaxy"

    def galaxy_run(self, run: str) -> str:
        return f"{self.galaxy_dir}/runs/{run}"

    def galaxy_model(self, run: str) -> str:
        return f"{self.galaxy_run(run)}/{MODEL}"

    def galaxy_history(self, run: str) -> str:
        return f"{self.galaxy_run(run)}/{HISTORY}"

    def galaxy_analysis(self, arch: str, ext: str) -> str:
        return f"{self.galaxy_run(arch)}/analysis.{ext}"

    @property
    def galaxy_pca(self) -> str:
        return f"{self.galaxy_dir}/pca.json"

    @property
    def galaxy_lr_study(self) -> str:
        return f"{self.galaxy_dir}/lr_study.json"

    @property
    def galaxy_summary(self) -> str:
        return f"{self.galaxy_dir}/summary.json"

    @property
    def galaxy_table(self) -> str:
        return f"{self.galaxy_dir}/summary.tsv"

    @property
    def galaxy_bonus_table(self) -> str:
        return f"{self.galaxy_dir}/bonus.tsv"

    @property
    def galaxy_figures(self) -> dict[str, str]:
        return {name: f"{self.galaxy_dir}/fig_{name}.pdf" for name in GALAXY_FIGURES}

    # The PDF
    @property
    def report_tex(self) -> str:
        return f"{self.results}/report/assignment5.tex"

    @property
    def report_provenance(self) -> str:
        return f"{self.results}/report/provenance.json"

    @property
    def report_pdf(self) -> str:
        suffix = "" if self.budget == "default" else f"-{self.budget}"
        return f"report/assignment5{suffix}.pdf"

    @property
    def report_inputs(self) -> dict[str, str]:
        """Every result the template reads, by the name it uses there."""
        inputs = {"cnn": self.theory_cnn, "vae": self.theory_vae,
                  "mnist_history": self.mnist_history, "mnist_eval": self.mnist_eval,
                  "mnist_arch": self.mnist_arch,
                  "mnist_batchnorm": self.mnist_batchnorm,
                  "tweets_stats": self.tweets_stats, "tweets_history": self.tweets_history,
                  "tweets_examples": self.tweets_examples, "tweets_baseline": self.tweets_baseline,
                  "tweets_tuned": self.tweets_variant_history("tuned"),
                  "tweets_placeholders": self.tweets_variant_history("tuned-placeholders"),
                  "tweets_optimizer_check": self.tweets_variant_history("optimizer-check"),
                  "tweets_best": self.tweets_best,
                  "galaxy_prep": self.galaxy_prep, "galaxy": self.galaxy_summary}
        for section, figures in (("mnist", self.mnist_figures), ("tweets", self.tweets_figures),
                                 ("galaxy", self.galaxy_figures)):
            inputs |= {f"{section}_{name}": path for name, path in figures.items()}
        return inputs


def for_budget(budget: str) -> Paths:
    return Paths(budget)
