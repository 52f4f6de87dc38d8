from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lhyrl.metrics import nll_test
from lhyrl.metrics.aggregate import save_figure
from lhyrl.metrics.quality_diversity import (
    compare_curves,
    oracle_sweep,
    plot_quality_diversity,
    quality_diversity_table,
    text_sweep,
)
from lhyrl.metrics.sequences import ms_jaccard
from lhyrl.nn import random_oracle

torch.set_num_threads(1)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_log_prob_at_a_temperature_is_that_of_the_tempered_sampling_distribution() -> None:
    model = random_oracle(30, 8, 8, seed=0)
    tokens, sampled = model.sample_with_log_probs(
        16, 6, start_token=0, generator=seeded(0), temperature=1.7
    )
    with torch.no_grad():
        scored = model.log_prob(tokens, 0, temperature=1.7)
        plain = model.log_prob(tokens, 0)
    assert scored == pytest.approx(sampled.detach(), abs=1e-5)
    assert not torch.allclose(scored, plain)
    assert torch.equal(model.log_prob(tokens, 0, temperature=1.0), model.log_prob(tokens, 0))
    with pytest.raises(ValueError, match="temperature"):
        model.log_prob(tokens, 0, temperature=0.0)


def test_the_oracle_swept_against_itself_trades_quality_for_diversity_and_fits_best_at_one() -> (
    None
):
    oracle = random_oracle(40, 16, 16, seed=0)
    test = oracle.sample(640, 8, start_token=0, generator=seeded(1))
    temperatures = (0.7, 0.85, 1.0, 1.2, 1.5)
    rows = oracle_sweep(
        oracle,
        oracle=oracle,
        test=test,
        seq_len=8,
        temperatures=temperatures,
        n_samples=1024,
        self_bleu_samples=100,
    )
    assert [r["temperature"] for r in rows] == list(temperatures)
    column = {k: [r[k] for r in rows] for k in rows[0]}
    # Hotter samples: less likely under the oracle, more distinct, less alike each other.
    assert column["nll_oracle"] == sorted(column["nll_oracle"])
    assert column["distinct_4"] == sorted(column["distinct_4"])
    assert column["self_bleu_4"] == sorted(column["self_bleu_4"], reverse=True)
    # The true model fits its own held-out samples best untempered (cross-entropy is least at
    # the truth), and temperature 1 is plain NLL-test.
    assert np.argmin(column["nll_test"]) == 2
    assert column["nll_test"][2] == pytest.approx(nll_test(oracle, test))


def test_text_sweep_trims_at_stop_tokens_and_cools_into_repetition() -> None:
    model = random_oracle(12, 8, 8, seed=3)
    references = model.sample(300, 10, start_token=0, generator=seeded(4))
    references[:, 7:] = 1  # token 1 ends every reference after 7 tokens
    rows = text_sweep(
        model,
        references=references,
        seq_len=10,
        start_token=0,
        temperatures=(0.3, 1.0, 2.0),
        n_samples=120,
        stop_tokens=(1,),
    )
    assert set(rows[0]) == {"temperature", "bleu_4", "self_bleu_4", "ms_jaccard_4", "distinct_4"}
    self_bleus = [r["self_bleu_4"] for r in rows]
    assert self_bleus == sorted(self_bleus, reverse=True) and self_bleus[0] > self_bleus[-1] + 0.1
    assert all(0 <= r["ms_jaccard_4"] <= 1 and 0 <= r["bleu_4"] <= 1 for r in rows)


def test_ms_jaccard_by_hand() -> None:
    assert ms_jaccard([[1, 2, 3], [4, 5, 6]], [[4, 5, 6], [1, 2, 3]], n=3) == pytest.approx(1.0)
    assert ms_jaccard([[1, 2]], [[3, 4]], n=1) == 0.0
    # Unigrams per sentence: samples {1: 1, 2: 1}, references {1: 1, 3: 1}: 1 / 3.
    # Bigrams: (1, 2) against (1, 3): 0 / 2, so MS-Jaccard-2 is 0 and MS-Jaccard-1 1/3.
    assert ms_jaccard([[1, 2]], [[1, 3]], n=1) == pytest.approx(1 / 3)
    # Counts are per sentence: the same sentence twice is the same distribution as once.
    assert ms_jaccard([[1, 2, 3]] * 2, [[1, 2, 3]], n=3) == pytest.approx(1.0)
    # Samples: [1, 2], [1, 2]; references [1, 2], [3, 4]. Unigrams min/max per sentence:
    # 1: (1, .5), 2: (1, .5), 3: (0, .5), 4: (0, .5) -> 1 / 3; bigrams (1,2): (1, .5),
    # (3,4): (0, .5) -> .5 / 1.5 = 1 / 3. Geometric mean 1 / 3.
    assert ms_jaccard([[1, 2]] * 2, [[1, 2], [3, 4]], n=2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="at least one"):
        ms_jaccard([], [[1]])


def test_compare_curves_finds_the_points_below_the_reference() -> None:
    reference = [
        {"temperature": 0.8, "q": 1.0, "d": 3.0},
        {"temperature": 1.0, "q": 2.0, "d": 2.0},
        {"temperature": 1.2, "q": 3.0, "d": 1.0},
    ]
    curve = [
        {"temperature": 0.8, "q": 1.5, "d": 2.0},  # reference at q=1.5: 2.5 -> gap -0.5
        {"temperature": 1.0, "q": 2.5, "d": 2.0},  # reference at q=2.5: 1.5 -> gap +0.5
        {"temperature": 1.2, "q": 4.0, "d": 0.0},  # outside the reference's range
    ]
    compared = compare_curves(curve, reference, x="q", y="d")
    assert [c["temperature"] for c in compared] == [0.8, 1.0]
    assert [c["gap"] for c in compared] == pytest.approx([-0.5, 0.5])


def test_table_and_plot_name_every_model(tmp_path: Path) -> None:
    curves = {
        "MLE": [{"temperature": t, "nll_oracle": 9 + t, "nll_test": 7 - t} for t in (0.8, 1.2)],
        "SeqGAN": [{"temperature": t, "nll_oracle": 8 + t, "nll_test": 8 - t} for t in (0.8, 1.2)],
    }
    table = quality_diversity_table(curves)
    assert "| SeqGAN | 1.2 | 9.200 | 6.800 |" in table
    figure = plot_quality_diversity(curves, x="nll_oracle", y="nll_test")
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["MLE", "SeqGAN"]
    assert Path(save_figure(figure, tmp_path / "qd.svg")).read_text().startswith("<?xml")
