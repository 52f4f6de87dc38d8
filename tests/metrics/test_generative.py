from __future__ import annotations

import numpy as np
import pytest

from lhyrl.metrics.generative import memorization, mode_coverage, sample_log_likelihood

MEANS = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])  # (4, 2)


def mixture(n: int, seed: int, components: tuple[int, ...] = (0, 1, 2, 3)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    which = rng.choice(components, n)
    return MEANS[which] + 0.5 * rng.standard_normal((n, 2))  # (n, 2)


# --------------------------------------------------------------------------- likelihood


@pytest.mark.parametrize("method", ["gmm", "kde"])
def test_likelihood_is_higher_for_the_generator_that_matches_the_real_data(method: str) -> None:
    real = mixture(600, seed=1)
    grid = (1, 2, 4, 8) if method == "gmm" else None
    matching = sample_log_likelihood(
        mixture(800, seed=2), real, method=method, candidates=grid, seed=0
    )
    collapsed = mixture(800, seed=2, components=(0,))  # one mode only
    shifted = mixture(800, seed=2) + 2.0
    for other in (collapsed, shifted):
        worse = sample_log_likelihood(other, real, method=method, candidates=grid, seed=0)
        assert matching.mean_log_likelihood > worse.mean_log_likelihood + 1.0
    assert matching.n_test == 300 and matching.parameter in matching.validation


def test_gmm_likelihood_matches_the_true_density_and_picks_four_components() -> None:
    from scipy.stats import multivariate_normal

    real = mixture(2000, seed=1)
    estimate = sample_log_likelihood(
        mixture(4000, seed=2), real, method="gmm", candidates=(1, 2, 3, 4, 6, 8), seed=0
    )
    # The true mixture's log-density of the test half, computed by hand.
    order = np.random.default_rng(0).permutation(len(real))
    test = real[order[1000:]]
    density = sum(0.25 * multivariate_normal(m, 0.25 * np.eye(2)).pdf(test) for m in MEANS)
    assert estimate.mean_log_likelihood == pytest.approx(np.log(density).mean(), abs=0.05)
    assert estimate.parameter >= 4  # fewer components cannot fit four modes


def test_likelihood_refuses_bad_input() -> None:
    real = mixture(100, seed=1)
    with pytest.raises(ValueError, match="feature sizes differ"):
        sample_log_likelihood(np.zeros((50, 3)), real)
    with pytest.raises(ValueError, match="NaN"):
        sample_log_likelihood(np.full((50, 2), np.nan), real)
    with pytest.raises(ValueError, match="generated needs at least 2"):
        sample_log_likelihood(np.zeros((0, 2)), real)
    with pytest.raises(ValueError, match="method"):
        sample_log_likelihood(real, real, method="parzen")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- memorization


def test_a_generator_that_copies_its_training_data_scores_memorization_near_one() -> None:
    train, heldout = mixture(500, seed=1), mixture(200, seed=2)
    copies = train[np.random.default_rng(3).integers(0, 500, 300)]
    copied = memorization(copies, train, heldout)
    assert copied.copy_fraction == 1.0 and copied.heldout_copy_fraction == 0.0
    assert copied.distance_ratio == 0.0
    fresh = memorization(mixture(300, seed=4), train, heldout)
    assert fresh.copy_fraction == 0.0
    assert 0.7 < fresh.distance_ratio < 1.4  # new samples lie as far as new real data
    half = np.concatenate([copies[:150], mixture(150, seed=4)])
    assert memorization(half, train, heldout).copy_fraction == pytest.approx(0.5)


def test_memorization_of_token_sequences_is_exact_and_uses_hamming_distance() -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 50, (400, 10))
    heldout = rng.integers(0, 50, (100, 10))
    generated = train[:80].copy()
    generated[40:, 0] = (generated[40:, 0] + 1) % 50  # half differ in one token of ten
    report = memorization(generated, train, heldout)
    assert report.metric == "hamming" and report.copy_fraction == pytest.approx(0.5)
    assert report.sample_distances[40:] == pytest.approx(0.1)
    assert report.nearest[:40].tolist() == list(range(40))


def test_memorization_refuses_mismatched_features() -> None:
    with pytest.raises(ValueError, match="heldout has 3"):
        memorization(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 3)))


# --------------------------------------------------------------------------- missing modes


def test_a_mixture_with_a_dropped_component_is_caught_as_a_missing_mode() -> None:
    real = mixture(2000, seed=1)
    full = mode_coverage(mixture(2000, seed=2), real, n_clusters=4, seed=0)
    assert full.coverage == 1.0 and full.missing == ()
    dropped = mode_coverage(mixture(2000, seed=2, components=(0, 1, 3)), real, n_clusters=4)
    assert dropped.coverage == 0.75 and len(dropped.missing) == 1
    # The missing cluster is the dropped component: its centre lies at MEANS[2].
    center = dropped.centers[dropped.missing[0]]
    assert np.linalg.norm(center - MEANS[2]) < 0.2
    assert dropped.summary()["missing_real_mass"] == pytest.approx(0.25, abs=0.03)


def test_a_thinly_visited_mode_counts_as_missing_below_the_mass_fraction() -> None:
    real = mixture(2000, seed=1)
    rng = np.random.default_rng(5)
    thin = np.concatenate(
        [mixture(1980, seed=2, components=(0, 1, 3)), mixture(20, seed=3, components=(2,))]
    )
    thin = thin[rng.permutation(len(thin))]
    # Mode 2 holds 1% of the samples against 25% of the real data: visited at 1%, not at 10%.
    assert mode_coverage(thin, real, n_clusters=4, min_fraction=0.1).coverage == 0.75
    assert mode_coverage(thin, real, n_clusters=4, min_fraction=0.02).coverage == 1.0


def test_mode_coverage_refuses_more_clusters_than_real_samples() -> None:
    with pytest.raises(ValueError, match="n_clusters"):
        mode_coverage(np.zeros((5, 2)), np.zeros((3, 2)), n_clusters=4)


def test_a_variance_floor_keeps_a_generator_constant_in_one_feature_finite() -> None:
    real = mixture(400, seed=1)
    flat = mixture(400, seed=2)
    flat[:, 1] = 0.0  # never moves along the second feature
    bare = sample_log_likelihood(flat, real, candidates=(1, 2, 4), seed=0)
    floored = sample_log_likelihood(flat, real, candidates=(1, 2, 4), reg_covar=0.01, seed=0)
    assert bare.mean_log_likelihood < -1e4 < floored.mean_log_likelihood
    matching = sample_log_likelihood(
        mixture(400, seed=3), real, candidates=(1, 2, 4), reg_covar=0.01
    )
    assert matching.mean_log_likelihood > floored.mean_log_likelihood + 1.0
