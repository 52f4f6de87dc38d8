from __future__ import annotations

import numpy as np
import pytest

from lhyrl.metrics.distances import (
    NgramEncoder,
    Standardizer,
    frechet_distance,
    median_bandwidth,
    mmd_rbf,
    state_action_features,
)


def gaussian(n: int, seed: int, dim: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim))  # (n, dim)


def test_frechet_distance_is_zero_for_identical_sets_and_the_shift_squared_when_shifted() -> None:
    x = gaussian(500, 0)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, 2.0, 0.0])
    assert frechet_distance(x + shift, x) == pytest.approx(5.0, rel=1e-6)  # ||v||^2, same cov


def test_frechet_distance_of_known_gaussians() -> None:
    # N(0, I) against N(0, 4I) in 3-D: Tr(I + 4I - 2 * 2I) = 3; large samples get close.
    a, b = gaussian(20000, 0), 2.0 * gaussian(20000, 1)
    assert frechet_distance(a, b) == pytest.approx(3.0, abs=0.1)
    assert frechet_distance(gaussian(5000, 2), gaussian(5000, 3)) < 0.01


def test_mmd_is_near_zero_for_one_distribution_and_clearly_positive_for_a_shift() -> None:
    same = mmd_rbf(gaussian(400, 0), gaussian(400, 1))
    shifted = mmd_rbf(gaussian(400, 0) + 1.0, gaussian(400, 1))
    assert abs(same) < 0.01 and shifted > 0.2
    x, y = gaussian(400, 0), gaussian(400, 1) + 1.0
    assert shifted == pytest.approx(
        mmd_rbf(x + 1.0, y - 1.0, bandwidth=median_bandwidth(x + 1, y - 1))
    )


def test_mmd_by_hand_on_two_points() -> None:
    # x = {0, 1}, y = {2, 3}, bandwidth 1: k(d) = exp(-d^2 / 2).
    k = lambda d: np.exp(-(d**2) / 2)  # noqa: E731
    expected = k(1) + k(1) - 2 * np.mean([k(2), k(3), k(1), k(2)])
    assert mmd_rbf([[0.0], [1.0]], [[2.0], [3.0]], bandwidth=1.0) == pytest.approx(expected)


def test_distances_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="feature sizes differ"):
        frechet_distance(gaussian(10, 0), gaussian(10, 1, dim=2))
    with pytest.raises(ValueError, match="NaN"):
        mmd_rbf(np.full((10, 3), np.nan), gaussian(10, 1))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(gaussian(1, 0), gaussian(10, 1))


def test_state_action_features_standardized_by_the_expert() -> None:
    obs, act = np.arange(12.0).reshape(6, 2), np.array([0, 1, 0, 1, 0, 1])
    features = state_action_features(obs, act)
    assert features.shape == (6, 3) and (features[:, 2] == act).all()
    scale = Standardizer.fit(features)
    z = scale(features)
    assert z.mean(0) == pytest.approx(np.zeros(3)) and z.std(0) == pytest.approx(np.ones(3))
    with pytest.raises(ValueError, match="6 observations but 5 actions"):
        state_action_features(obs, act[:5])
    with pytest.raises(ValueError, match="columns"):
        scale(np.zeros((2, 2)))


def test_ngram_encoder_puts_sentences_of_the_same_words_close() -> None:
    rng = np.random.default_rng(0)
    animals, food = ["cat", "dog", "bird", "fish"], ["bread", "rice", "soup", "cake"]

    def sentences(words: list[str], n: int) -> list[str]:
        return [" ".join(rng.choice(words, 5)) for _ in range(n)]

    real = sentences(animals, 200) + sentences(food, 200)
    encoder = NgramEncoder(dim=8).fit(real)
    a, b = encoder(sentences(animals, 200)), encoder(sentences(food, 200))
    assert a.shape == (200, 8)
    assert frechet_distance(a, encoder(sentences(animals, 200))) < 0.1 * frechet_distance(a, b)
    tokens = encoder.fit([[1, 2, 3, 4], [2, 3, 4, 5], [5, 6, 7, 1]] * 5)([[1, 2, 3, 4]])
    assert tokens.shape == (1, 8)
    with pytest.raises(ValueError, match="not fitted"):
        NgramEncoder()(["a b"])


def test_compare_visitation_tells_a_faithful_learner_from_a_stuck_one() -> None:
    from lhyrl.metrics.distances import compare_visitation

    rng = np.random.default_rng(0)

    def expert(n: int) -> np.ndarray:  # two kinds of states, each with its own action
        mode = rng.integers(0, 2, n)
        states = np.where(mode[:, None] == 1, 5.0, -5.0) + rng.standard_normal((n, 2))
        return state_action_features(states, mode)  # (n, 3)

    demos, heldout = expert(600), expert(600)
    faithful = compare_visitation(expert(600), demos, heldout, n_clusters=2)
    stuck_pairs = expert(1200)
    stuck_pairs = stuck_pairs[stuck_pairs[:, 2] == 0][:600]  # never reaches the second kind
    stuck = compare_visitation(stuck_pairs, demos, heldout, n_clusters=2)
    assert faithful["mode_coverage"] == 1.0 and stuck["mode_coverage"] == 0.5
    assert faithful["frechet"] < 0.1 < stuck["frechet"]
    assert faithful["mmd"] < 0.01 < stuck["mmd"]
    assert faithful["log_likelihood"] > stuck["log_likelihood"] + 1.0
    assert faithful["copy_fraction"] == 0.0 and 0.7 < faithful["nn_distance_ratio"] < 1.4
    copier = compare_visitation(demos, demos, heldout, n_clusters=2)
    assert copier["copy_fraction"] == 1.0 and copier["nn_distance_ratio"] == 0.0


def test_frechet_distance_with_a_constant_feature_is_exact_and_quiet() -> None:
    import warnings

    x, y = gaussian(400, 0), gaussian(400, 1) + np.array([0.5, 0.0, 0.0])
    x[:, 2] = y[:, 2] = 1.0  # a constant column: both covariances are singular
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_constant = frechet_distance(x, y)
    assert with_constant == pytest.approx(frechet_distance(x[:, :2], y[:, :2]), abs=1e-9)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
