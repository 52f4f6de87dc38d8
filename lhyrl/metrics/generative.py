"""Sample-based evaluation of generative models: likelihood, memorization and missing modes.

These answer three of the questions of the lecture on evaluating generative models (Hung-yi
Lee's ML course, lecture 20; Theis, van den Oord and Bethge 2016, "A note on the evaluation of
generative models") for any generator that only gives samples: a GAN, a GAIL learner's
state-action visitation, or a text model's embedded sentences.

* :func:`sample_log_likelihood`: the Gaussian-mixture or Parzen-window (kernel density)
  estimate of Goodfellow et al. 2014 ("Generative Adversarial Nets", section 5): fit a density
  to the generated samples and report the mean log-likelihood of held-out real samples, with the
  component count or bandwidth chosen on a validation split of the real samples.
* :func:`memorization`: the share of generated samples that copy a training sample exactly, and
  each sample's nearest-neighbour distance to the training set next to held-out real data's
  (the nearest-neighbour check of Goodfellow et al. 2014, Figure 2, and of Theis et al. 2016,
  section 3.3: a generator that copies has samples far closer to the training set than new
  real data are).
* :func:`mode_coverage`: cluster the real (expert) data with k-means and report which clusters
  the generator visits with at least a set fraction of the real data's mass (the mode counting
  of Srivastava et al. 2017, "VEEGAN", and Metz et al. 2017, "Unrolled GANs", with k-means
  clusters standing in for the known modes of a synthetic mixture).

Every function takes (N, D) arrays of features (for tokens, :func:`memorization` also takes
(N, T) integer sequences) and checks them: an empty array, NaN, or feature sizes that do not
match raise :class:`ValueError` naming the argument. scikit-learn fits the mixtures, kernel
densities, nearest neighbours and k-means; it is imported when a function runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "LikelihoodEstimate",
    "MemorizationReport",
    "ModeCoverage",
    "as_features",
    "memorization",
    "mode_coverage",
    "sample_log_likelihood",
]


def as_features(values: Any, name: str, *, min_rows: int = 1) -> np.ndarray:
    """``values`` as a float64 (N, D) array, checked.

    A 1-D array is read as N samples of one feature.

    Raises:
        ValueError: If the array is not 1- or 2-D, has fewer than ``min_rows`` rows or no
            columns, or holds NaN or infinity; the message names ``name``.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]  # (N, 1)
    if array.ndim != 2:
        raise ValueError(f"{name} must be (N, D) features, got shape {array.shape}")
    if array.shape[0] < min_rows or array.shape[1] == 0:
        raise ValueError(
            f"{name} needs at least {min_rows} sample(s) of at least one feature, got shape "
            f"{array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _same_dims(**arrays: np.ndarray) -> None:
    dims = {name: a.shape[1] for name, a in arrays.items()}
    if len(set(dims.values())) > 1:
        shown = ", ".join(f"{name} has {d}" for name, d in dims.items())
        raise ValueError(f"feature sizes differ: {shown}")


# --------------------------------------------------------------------------- likelihood


@dataclass(frozen=True)
class LikelihoodEstimate:
    """A density fitted to generated samples, scored on held-out real samples.

    Attributes:
        mean_log_likelihood: Mean log-density of the real test samples, in nats per sample
            (higher is better; comparable only between estimates on the same features).
        method: ``"gmm"`` (Gaussian mixture) or ``"kde"`` (Parzen window, Gaussian kernel).
        parameter: The chosen component count (gmm) or kernel bandwidth (kde).
        validation: Each candidate parameter's mean log-likelihood of the validation split.
        n_test: Number of real samples the estimate averages over.
    """

    mean_log_likelihood: float
    method: str
    parameter: float
    validation: dict[float, float]
    n_test: int


def _fit_density(
    method: str, parameter: float, samples: np.ndarray, seed: int, reg_covar: float
) -> Any:
    if method == "gmm":
        from sklearn.mixture import GaussianMixture

        model = GaussianMixture(
            n_components=int(parameter),
            covariance_type="full",
            reg_covar=reg_covar,
            random_state=seed,
        )
    else:
        from sklearn.neighbors import KernelDensity

        model = KernelDensity(kernel="gaussian", bandwidth=float(parameter))
    return model.fit(samples)


def _default_candidates(method: str, generated: np.ndarray) -> list[float]:
    n, d = generated.shape
    if method == "gmm":
        return [float(k) for k in (1, 2, 4, 8, 16, 32) if k * max(d, 2) <= n]
    scott = float(generated.std(0).mean()) * n ** (-1.0 / (d + 4))  # Scott's rule, mean std
    return [scott * f for f in (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)]


def sample_log_likelihood(
    generated: Any,
    real: Any,
    *,
    method: Literal["gmm", "kde"] = "gmm",
    candidates: Sequence[float] | None = None,
    validation_fraction: float = 0.5,
    reg_covar: float = 1e-6,
    seed: int = 0,
) -> LikelihoodEstimate:
    """Log-likelihood of held-out real data under a density fitted to generated samples.

    The Parzen-window estimate of Goodfellow et al. 2014 (section 5; Breuleux et al. 2011),
    or its Gaussian-mixture variant: fit a density to ``generated``; split ``real`` at random
    into a validation part, on which the candidate component count or bandwidth with the
    highest mean log-likelihood is chosen, and a test part, whose mean log-likelihood under
    that density is reported. Theis et al. 2016 (section 3.2) warn that the estimate is poor in
    high dimensions: use it on low-dimensional features (states, state-action pairs, reduced
    embeddings) and to compare generators on the same features.

    Args:
        generated: (N, D) samples of the generator.
        real: (M, D) held-out real samples (not the training data), M >= 4.
        method: ``"gmm"``: a full-covariance Gaussian mixture; ``"kde"``: a Gaussian kernel
            density.
        candidates: Component counts (gmm) or bandwidths (kde) to choose from; default
            1, 2, 4, ..., 32 components (those with N >= k * D samples), or bandwidths 0.05 to
            3 times Scott's rule.
        validation_fraction: Share of ``real`` used to choose the parameter.
        reg_covar: Added to the diagonal of every mixture covariance (scikit-learn's
            ``reg_covar``): a floor on the variance, so that a generator whose samples never
            vary along a feature does not give real data a likelihood of minus millions.
        seed: Seeds the split and the mixture's initialisation.

    Returns:
        The estimate, with each candidate's validation score.

    Raises:
        ValueError: For bad samples (see :func:`as_features`), an unknown method, an empty
            candidate list, or a split that leaves either part empty.
    """
    if method not in ("gmm", "kde"):
        raise ValueError(f"method must be 'gmm' or 'kde', got {method!r}")
    gen = as_features(generated, "generated", min_rows=2)  # (N, D)
    ref = as_features(real, "real", min_rows=2)  # (M, D)
    _same_dims(generated=gen, real=ref)
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie in (0, 1), got {validation_fraction}")
    order = np.random.default_rng(seed).permutation(len(ref))
    n_val = round(validation_fraction * len(ref))
    if not 0 < n_val < len(ref):
        raise ValueError(
            f"{len(ref)} real samples with validation_fraction={validation_fraction} leave an "
            "empty validation or test split"
        )
    validation, test = ref[order[:n_val]], ref[order[n_val:]]  # (V, D), (M - V, D)
    grid = list(candidates) if candidates is not None else _default_candidates(method, gen)
    if not grid:
        raise ValueError(f"no candidate parameters for {method} with {len(gen)} samples")
    scores: dict[float, float] = {}
    models: dict[float, Any] = {}
    for parameter in grid:
        if parameter <= 0:
            raise ValueError(f"candidate parameters must be positive, got {parameter}")
        models[parameter] = _fit_density(method, parameter, gen, seed, reg_covar)
        scores[float(parameter)] = float(models[parameter].score_samples(validation).mean())
    best = max(scores, key=lambda p: scores[p])
    return LikelihoodEstimate(
        mean_log_likelihood=float(models[best].score_samples(test).mean()),
        method=method,
        parameter=best,
        validation=scores,
        n_test=len(test),
    )


# --------------------------------------------------------------------------- memorization


@dataclass(frozen=True)
class MemorizationReport:
    """How close generated samples lie to the training set, next to new real samples.

    Attributes:
        copy_fraction: Share of generated samples equal to a training sample (within
            ``tolerance``); near 1 for a generator that copies its training data.
        heldout_copy_fraction: The same share for the held-out real samples: what chance
            alone gives (e.g. short sequences that repeat in real data).
        sample_distances: (N,) each generated sample's distance to its nearest training sample.
        heldout_distances: (M,) each held-out real sample's distance to its nearest training
            sample.
        nearest: (N,) index of each generated sample's nearest training sample.
        metric: ``"euclidean"`` (features) or ``"hamming"`` (token sequences: the share of
            positions that differ).
    """

    copy_fraction: float
    heldout_copy_fraction: float
    sample_distances: np.ndarray
    heldout_distances: np.ndarray
    nearest: np.ndarray
    metric: str

    @property
    def distance_ratio(self) -> float:
        """Median sample distance over median held-out distance: well below 1 flags copying."""
        held = float(np.median(self.heldout_distances))
        sample = float(np.median(self.sample_distances))
        if held == 0.0:
            return 1.0 if sample == 0.0 else float("inf")
        return sample / held

    def summary(self) -> dict[str, float]:
        """The scalars, for tables and ``eval.json``."""
        return {
            "copy_fraction": self.copy_fraction,
            "heldout_copy_fraction": self.heldout_copy_fraction,
            "median_nn_distance": float(np.median(self.sample_distances)),
            "median_heldout_nn_distance": float(np.median(self.heldout_distances)),
            "nn_distance_ratio": self.distance_ratio,
        }


def _as_rows(values: Any, name: str, integer: bool) -> np.ndarray:
    if not integer:
        return as_features(values, name)
    array = np.asarray(values.cpu() if hasattr(values, "cpu") else values)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must be (N, T) token sequences, got shape {array.shape}")
    return array.astype(np.int64)


def memorization(
    generated: Any, train: Any, heldout: Any, *, tolerance: float = 0.0
) -> MemorizationReport:
    """Does the generator copy its training data? Exact copies and nearest-neighbour distances.

    The nearest-neighbour check of Goodfellow et al. 2014 (Figure 2) and Theis et al. 2016
    (section 3.3), made a number: each generated sample's distance to the nearest training
    sample is compared with the same distance for held-out real samples, which the generator
    never saw. A generator that learned the distribution gives distances like the held-out
    ones; one that copies gives zeros (``copy_fraction`` near 1, ``distance_ratio`` near 0).

    Integer (N, T) arrays (token sequences) are compared by Hamming distance (the share of
    positions that differ) and copies are exact; float features by Euclidean distance, and a
    copy lies within ``tolerance``.

    Args:
        generated: (N, D) features or (N, T) token sequences of the generator.
        train: (K, D) or (K, T) the generator's training data.
        heldout: (M, D) or (M, T) real data not trained on.
        tolerance: Largest distance of a copy (features only).

    Returns:
        The report.

    Raises:
        ValueError: For empty or NaN input, or feature sizes that differ.
    """
    integer = all(
        np.issubdtype(np.asarray(x.cpu() if hasattr(x, "cpu") else x).dtype, np.integer)
        for x in (generated, train, heldout)
    )
    gen = _as_rows(generated, "generated", integer)
    ref = _as_rows(train, "train", integer)
    held = _as_rows(heldout, "heldout", integer)
    _same_dims(generated=gen, train=ref, heldout=held)
    from sklearn.neighbors import NearestNeighbors

    metric = "hamming" if integer else "euclidean"
    index = NearestNeighbors(n_neighbors=1, metric=metric, algorithm="brute" if integer else "auto")
    index.fit(ref)
    sample_dist, nearest = index.kneighbors(gen)  # (N, 1), (N, 1)
    held_dist, _ = index.kneighbors(held)  # (M, 1)
    limit = 0.0 if integer else tolerance
    return MemorizationReport(
        copy_fraction=float(np.mean(sample_dist[:, 0] <= limit)),
        heldout_copy_fraction=float(np.mean(held_dist[:, 0] <= limit)),
        sample_distances=sample_dist[:, 0],
        heldout_distances=held_dist[:, 0],
        nearest=nearest[:, 0],
        metric=metric,
    )


# --------------------------------------------------------------------------- missing modes


@dataclass(frozen=True)
class ModeCoverage:
    """Which k-means clusters of the real data a generator visits.

    Attributes:
        coverage: Share of clusters visited (1 = no missing mode).
        missing: Indices of the clusters not visited, most real mass first.
        real_mass: (K,) share of the real samples in each cluster.
        generated_mass: (K,) share of the generated samples assigned to each cluster.
        centers: (K, D) the cluster centres, to name a missing mode by where it lies.
        min_fraction: A cluster counts as visited when its generated mass is at least this
            fraction of its real mass.
    """

    coverage: float
    missing: tuple[int, ...]
    real_mass: np.ndarray
    generated_mass: np.ndarray
    centers: np.ndarray
    min_fraction: float

    def summary(self) -> dict[str, Any]:
        """Coverage and the missing clusters, for tables and ``eval.json``."""
        return {
            "mode_coverage": self.coverage,
            "missing_modes": list(self.missing),
            "missing_real_mass": float(self.real_mass[list(self.missing)].sum()),
        }


def mode_coverage(
    generated: Any,
    real: Any,
    *,
    n_clusters: int = 10,
    min_fraction: float = 0.1,
    seed: int = 0,
) -> ModeCoverage:
    """Missing modes: cluster the real data with k-means and see which clusters samples reach.

    The mode count of the GAN literature (Metz et al. 2017; Srivastava et al. 2017, VEEGAN:
    a mode is "captured" when enough samples fall near it) with modes found by k-means on the
    real data, as the lecture suggests when the true modes are unknown. Every generated sample
    is assigned to its nearest centre; cluster k is visited when its share of the generated
    samples is at least ``min_fraction`` times its share of the real samples.

    Args:
        generated: (N, D) generated samples (e.g. learner state-action pairs).
        real: (M, D) real samples (e.g. expert state-action pairs), M >= ``n_clusters``.
        n_clusters: Number of k-means clusters K.
        min_fraction: Fraction of a cluster's real mass the generator must reach.
        seed: Seeds k-means.

    Returns:
        The coverage, the missing clusters and both mass profiles.

    Raises:
        ValueError: For bad samples, ``n_clusters`` below 1 or above M, or ``min_fraction``
            outside (0, 1].
    """
    gen = as_features(generated, "generated")
    ref = as_features(real, "real")
    _same_dims(generated=gen, real=ref)
    if not 1 <= n_clusters <= len(ref):
        raise ValueError(f"n_clusters must lie in 1 .. {len(ref)} (real samples), got {n_clusters}")
    if not 0 < min_fraction <= 1:
        raise ValueError(f"min_fraction must lie in (0, 1], got {min_fraction}")
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(ref)
    real_mass = np.bincount(kmeans.labels_, minlength=n_clusters) / len(ref)  # (K,)
    gen_mass = np.bincount(kmeans.predict(gen), minlength=n_clusters) / len(gen)  # (K,)
    visited = gen_mass >= min_fraction * real_mass
    missing = sorted(np.flatnonzero(~visited).tolist(), key=lambda k: -real_mass[k])
    return ModeCoverage(
        coverage=float(visited.mean()),
        missing=tuple(int(k) for k in missing),
        real_mass=real_mass,
        generated_mass=gen_mass,
        centers=kmeans.cluster_centers_,
        min_fraction=min_fraction,
    )
