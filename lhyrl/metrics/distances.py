"""Distances between generated and real samples, and the features they are measured on.

* :func:`frechet_distance`: the Fréchet (2-Wasserstein) distance between Gaussians fitted to
  both sets, the formula of the FID (Heusel et al. 2017, "GANs trained by a two time-scale
  update rule converge to a local Nash equilibrium"), here on lhyrl's own features rather than
  Inception activations.
* :func:`mmd_rbf`: the unbiased estimate of the squared maximum mean discrepancy with a Gaussian
  (RBF) kernel (Gretton et al. 2012, "A kernel two-sample test", eq. 3), its bandwidth set by
  the median heuristic (the median pairwise distance of the pooled samples, Gretton et al. 2012,
  section 8).

Features:

* imitation: :func:`state_action_features` concatenates observations and actions, and
  :class:`Standardizer` scales every column by the *expert's* mean and standard deviation, so
  that a learner is measured in the expert's units and no column dominates by its scale;
* text: :class:`NgramEncoder`, a bag-of-n-gram TF-IDF vector reduced by a truncated SVD (latent
  semantic analysis) fitted on real sentences. This is a first version: an encoder lhyrl fits
  itself on the task's own data, with no downloaded model. It sees which words and word pairs
  a sentence uses, not their order beyond bigrams, nor meaning; distances on it compare
  vocabulary and phrasing, not fluency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lhyrl.metrics.generative import _same_dims, as_features

__all__ = [
    "NgramEncoder",
    "Standardizer",
    "compare_visitation",
    "frechet_distance",
    "median_bandwidth",
    "mmd_rbf",
    "state_action_features",
]


def frechet_distance(generated: Any, real: Any) -> float:
    """Fréchet distance between Gaussians fitted to two sample sets (the FID formula).

    ``||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2))`` (Heusel et al. 2017; Dowson and
    Landau 1982), with sample means and covariances (``ddof=1``). Zero for identical sets; a
    shift of every sample by a vector ``v`` adds ``||v||^2``.

    Args:
        generated: (N, D) features, N >= 2.
        real: (M, D) features, M >= 2.

    Returns:
        The distance, in squared feature units (>= 0).

    Raises:
        ValueError: For empty or NaN input, fewer than 2 samples, or differing feature sizes.
    """
    gen = as_features(generated, "generated", min_rows=2)  # (N, D)
    ref = as_features(real, "real", min_rows=2)  # (M, D)
    _same_dims(generated=gen, real=ref)
    mu_g, mu_r = gen.mean(0), ref.mean(0)  # (D,)
    cov_g = np.atleast_2d(np.cov(gen, rowvar=False))  # (D, D)
    cov_r = np.atleast_2d(np.cov(ref, rowvar=False))  # (D, D)
    # Tr((S_g S_r)^(1/2)) is the sum of the square roots of the eigenvalues of
    # S_g^(1/2) S_r S_g^(1/2), a symmetric PSD matrix: exact also when a covariance is
    # singular (constant features), where scipy's sqrtm of the product warns and drifts.
    w, v = np.linalg.eigh(cov_g)
    root_g = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T  # (D, D)
    inner = np.linalg.eigvalsh(root_g @ cov_r @ root_g)  # (D,)
    trace_root = float(np.sqrt(np.clip(inner, 0.0, None)).sum())
    distance = float(((mu_g - mu_r) ** 2).sum() + np.trace(cov_g) + np.trace(cov_r))
    distance -= 2.0 * trace_root
    return max(distance, 0.0)


def _subsample(x: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    if n is None or len(x) <= n:
        return x
    return x[np.sort(rng.choice(len(x), n, replace=False))]


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) squared Euclidean distances."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def median_bandwidth(generated: Any, real: Any) -> float:
    """The median heuristic: the median pairwise distance of the pooled samples (Gretton 2012).

    Raises:
        ValueError: If all samples coincide (the median distance is 0).
    """
    pooled = np.concatenate([as_features(generated, "generated"), as_features(real, "real")])
    d = np.sqrt(_sq_dists(pooled, pooled)[np.triu_indices(len(pooled), k=1)])
    bandwidth = float(np.median(d))
    if bandwidth == 0.0:
        raise ValueError("the median pairwise distance is 0: give a bandwidth")
    return bandwidth


def mmd_rbf(
    generated: Any,
    real: Any,
    *,
    bandwidth: float | None = None,
    max_samples: int | None = 2000,
    seed: int = 0,
) -> float:
    """Unbiased squared MMD with the kernel ``exp(-||x - y||^2 / (2 bandwidth^2))``.

    Gretton et al. 2012, eq. 3 (MMD²_u): the mean kernel within each set, without the diagonal,
    minus twice the mean kernel across. Its expectation is 0 for identical distributions (an
    estimate may be slightly negative) and positive otherwise.

    Args:
        generated: (N, D) features, N >= 2.
        real: (M, D) features, M >= 2.
        bandwidth: Kernel width; default the median heuristic on the (subsampled) pooled set.
        max_samples: Subsample each set to at most this many (the cost grows with N * M).
        seed: Seeds the subsampling.

    Returns:
        MMD², in [-1, 2].

    Raises:
        ValueError: For bad input or a non-positive bandwidth.
    """
    rng = np.random.default_rng(seed)
    gen = _subsample(as_features(generated, "generated", min_rows=2), max_samples, rng)  # (N, D)
    ref = _subsample(as_features(real, "real", min_rows=2), max_samples, rng)  # (M, D)
    _same_dims(generated=gen, real=ref)
    if bandwidth is None:
        bandwidth = median_bandwidth(gen, ref)
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    scale = -1.0 / (2.0 * bandwidth**2)
    k_gg = np.exp(scale * _sq_dists(gen, gen))  # (N, N)
    k_rr = np.exp(scale * _sq_dists(ref, ref))  # (M, M)
    k_gr = np.exp(scale * _sq_dists(gen, ref))  # (N, M)
    n, m = len(gen), len(ref)
    within_g = (k_gg.sum() - np.trace(k_gg)) / (n * (n - 1))
    within_r = (k_rr.sum() - np.trace(k_rr)) / (m * (m - 1))
    return float(within_g + within_r - 2.0 * k_gr.mean())


# --------------------------------------------------------------------------- features


def state_action_features(observations: Any, actions: Any) -> np.ndarray:
    """State-action pairs as rows: observations and actions flattened and concatenated.

    Args:
        observations: (N, ...) observations.
        actions: (N, ...) actions (a discrete action is one column of its index).

    Returns:
        (N, D_obs + D_act) float64 features.

    Raises:
        ValueError: If the counts differ or either is empty or NaN.
    """
    obs = np.asarray(observations, dtype=np.float64)
    act = np.asarray(actions, dtype=np.float64)
    if len(obs) != len(act):
        raise ValueError(f"{len(obs)} observations but {len(act)} actions")
    obs = as_features(obs.reshape(len(obs), -1), "observations")  # (N, D_obs)
    act = as_features(act.reshape(len(act), -1), "actions")  # (N, D_act)
    return np.concatenate([obs, act], 1)


@dataclass(frozen=True)
class Standardizer:
    """Scales features by a reference set's (the expert's) per-column mean and std.

    Attributes:
        mean: (D,) the reference's column means.
        std: (D,) its column standard deviations; constant columns get 1.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, reference: Any) -> Standardizer:
        """Fit on (N, D) reference features (the expert's)."""
        ref = as_features(reference, "reference")
        std = ref.std(0)
        return cls(mean=ref.mean(0), std=np.where(std > 1e-8, std, 1.0))

    def __call__(self, features: Any) -> np.ndarray:
        """(N, D) features in the reference's units."""
        x = as_features(features, "features")
        if x.shape[1] != len(self.mean):
            raise ValueError(f"features have {x.shape[1]} columns, the reference {len(self.mean)}")
        return (x - self.mean) / self.std


def _as_documents(sentences: Sequence[str] | Sequence[Sequence[int]]) -> list[str]:
    documents = []
    for sentence in sentences:
        if isinstance(sentence, str):
            documents.append(sentence)
        else:  # token ids: each id is a word
            documents.append(" ".join(f"t{int(token)}" for token in sentence))
    if not documents:
        raise ValueError("no sentences given")
    return documents


class NgramEncoder:
    """Sentence features: TF-IDF of word 1- and 2-grams, reduced by a truncated SVD (LSA).

    Fitted on real sentences of the task (no downloaded model). Sentences are strings (split on
    whitespace) or sequences of token ids (each id a word).

    Args:
        dim: Size of the features (SVD components), at most the vocabulary size - 1.
        ngram_range: The word n-gram orders counted.
        seed: Seeds the randomized SVD.
    """

    def __init__(self, *, dim: int = 32, ngram_range: tuple[int, int] = (1, 2), seed: int = 0):
        if dim < 1:
            raise ValueError(f"dim must be at least 1, got {dim}")
        self.dim = dim
        self.ngram_range = ngram_range
        self.seed = seed
        self._tfidf: Any = None
        self._svd: Any = None

    def fit(self, sentences: Sequence[str] | Sequence[Sequence[int]]) -> NgramEncoder:
        """Learn the vocabulary, IDF weights and SVD from real sentences; returns ``self``."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        documents = _as_documents(sentences)
        self._tfidf = TfidfVectorizer(
            ngram_range=self.ngram_range, token_pattern=r"\S+", lowercase=False
        )
        counts = self._tfidf.fit_transform(documents)  # (N, V) sparse
        if counts.shape[1] <= self.dim:
            raise ValueError(
                f"dim={self.dim} needs more than {self.dim} distinct n-grams; the sentences "
                f"have {counts.shape[1]}"
            )
        self._svd = TruncatedSVD(n_components=self.dim, random_state=self.seed).fit(counts)
        return self

    def __call__(self, sentences: Sequence[str] | Sequence[Sequence[int]]) -> np.ndarray:
        """(N, dim) features of ``sentences``."""
        if self._svd is None:
            raise ValueError("NgramEncoder is not fitted: call fit(real_sentences) first")
        counts = self._tfidf.transform(_as_documents(sentences))
        return np.asarray(self._svd.transform(counts), dtype=np.float64)


def compare_visitation(
    learner: Any,
    demonstrations: Any,
    heldout: Any,
    *,
    n_clusters: int = 10,
    min_fraction: float = 0.1,
    max_samples: int = 4000,
    seed: int = 0,
) -> dict[str, Any]:
    """A learner's state-action visitation against the expert's, as a generative model's samples.

    GAIL (Ho and Ermon 2016) matches the expert's occupancy measure, so its learner is a
    generator of state-action pairs and the sample-based metrics apply. Every set is scaled by
    the demonstrations' statistics (:class:`Standardizer`), then the learner's pairs are
    compared with held-out expert pairs (episodes the learner never saw): Fréchet distance,
    MMD², k-means mode coverage (:func:`~lhyrl.metrics.generative.mode_coverage`), and
    memorization against the demonstrations
    (:func:`~lhyrl.metrics.generative.memorization`); plus the Gaussian-mixture
    log-likelihood of the held-out pairs under the learner's
    (:func:`~lhyrl.metrics.generative.sample_log_likelihood`, with a variance floor of 0.01:
    a learner that never moves along a feature the expert varies would otherwise score minus
    millions).

    Args:
        learner: (N, D) the learner's state-action pairs (e.g. from evaluation rollouts).
        demonstrations: (K, D) the expert pairs it learned from.
        heldout: (M, D) other expert pairs.
        n_clusters: k-means clusters of the held-out expert pairs.
        min_fraction: Mass fraction a cluster needs to count as visited.
        max_samples: Each set is subsampled (seeded) to at most this many pairs.
        seed: Seeds subsampling, k-means and the mixture.

    Returns:
        ``frechet``, ``mmd``, ``mode_coverage``, ``missing_modes``, ``missing_real_mass``,
        ``copy_fraction``, ``heldout_copy_fraction``, ``median_nn_distance``,
        ``median_heldout_nn_distance``, ``nn_distance_ratio``, ``log_likelihood`` (nats per
        held-out pair) and ``gmm_components``.
    """
    from lhyrl.metrics.generative import memorization, mode_coverage, sample_log_likelihood

    rng = np.random.default_rng(seed)
    scale = Standardizer.fit(demonstrations)
    gen = _subsample(scale(learner), max_samples, rng)  # (N, D)
    train = _subsample(scale(demonstrations), max_samples, rng)  # (K, D)
    held = _subsample(scale(heldout), max_samples, rng)  # (M, D)
    likelihood = sample_log_likelihood(  # a variance floor of 0.01 in the expert's units
        gen, held, method="gmm", candidates=(1, 2, 4, 8, 16), reg_covar=0.01, seed=seed
    )
    return {
        "frechet": frechet_distance(gen, held),
        "mmd": mmd_rbf(gen, held, max_samples=2000, seed=seed),
        **mode_coverage(
            gen, held, n_clusters=n_clusters, min_fraction=min_fraction, seed=seed
        ).summary(),
        **memorization(gen, train, held).summary(),
        "log_likelihood": likelihood.mean_log_likelihood,
        "gmm_components": int(likelihood.parameter),
    }
