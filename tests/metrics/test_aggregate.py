from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from lhyrl.metrics.aggregate import (
    aggregate_scores,
    performance_profile,
    probability_of_improvement,
    save_figure,
)


def test_iqm_and_mean_by_hand_and_their_intervals_contain_the_true_value() -> None:
    rng = np.random.default_rng(0)
    scores = 0.8 + 0.05 * rng.standard_normal((10, 3))  # (runs, tasks), true mean and IQM 0.8
    result = aggregate_scores({"agent": scores}, reps=2000)["agent"]
    assert result["mean"].estimate == pytest.approx(scores.mean())
    assert result["iqm"].estimate == pytest.approx(stats.trim_mean(scores.ravel(), 0.25))
    for key in ("iqm", "mean"):
        interval = result[key]
        assert interval.low < 0.8 < interval.high
        assert interval.low < interval.estimate < interval.high
        assert interval.high - interval.low < 0.1


def test_the_iqm_ignores_an_outlier_seed_that_drags_the_mean() -> None:
    scores = np.array([0.9, 0.92, 0.91, 0.89, 0.9, 0.91, 0.9, -5.0])  # one run failed
    result = aggregate_scores({"a": scores}, reps=500)["a"]
    assert result["iqm"].estimate == pytest.approx(0.9025)  # (0.9 + 0.9 + 0.9 + 0.91) / 4
    assert result["mean"].estimate < 0.2


def test_probability_of_improvement_of_a_clearly_better_agent_is_one() -> None:
    rng = np.random.default_rng(1)
    better = 0.9 + 0.01 * rng.standard_normal((5, 2))
    worse = 0.5 + 0.01 * rng.standard_normal((5, 2))
    p = probability_of_improvement(better, worse, reps=500)
    assert p.estimate == 1.0 and p.low == 1.0
    assert probability_of_improvement(worse, better, reps=500).estimate == 0.0
    same = probability_of_improvement(worse, worse, reps=500)  # every pair of runs: ties count 1/2
    assert same.estimate == pytest.approx(0.5)


def test_aggregates_refuse_bad_scores() -> None:
    with pytest.raises(ValueError, match="at least 2 runs"):
        aggregate_scores({"a": [[0.5, 0.6]]})
    with pytest.raises(ValueError, match="NaN"):
        aggregate_scores({"a": [0.5, np.nan]})
    with pytest.raises(ValueError, match="same tasks"):
        aggregate_scores({"a": np.ones((3, 2)), "b": np.ones((3, 1))})
    with pytest.raises(ValueError, match="same"):
        probability_of_improvement(np.ones((3, 1)), np.ones((4, 1)))


def test_performance_profile_is_a_png_with_both_agents(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    scores = {"bc": 0.9 + 0.05 * rng.standard_normal(5), "gail": 0.7 + 0.1 * rng.standard_normal(5)}
    figure = performance_profile(scores, reps=200)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == ["bc", "gail"]
    path = save_figure(figure, tmp_path / "profile.png")
    from PIL import Image

    with Image.open(path) as image:
        assert image.size == (768, 528)  # 6.4 x 4.4 inches at 120 dpi
    with pytest.raises(ValueError, match=r"\.png, \.svg"):
        save_figure(figure, tmp_path / "profile.jpg")
