from __future__ import annotations

import numpy as np
import pytest
import torch

from lhyrl.metrics import bleu, distinct_n, nll_oracle, nll_test, self_bleu
from lhyrl.nn import RecurrentConfig, SequenceGenerator, random_oracle

torch.set_num_threads(1)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_nll_oracle_averages_full_batches_and_drops_the_partial_one():
    oracle = random_oracle(20, 8, 8, seed=0)
    samples = oracle.sample(130, 6, start_token=0, generator=seeded(0))
    with torch.no_grad():
        log_probs = oracle.log_prob(samples, 0)  # (130, 6)
    assert nll_oracle(oracle, samples) == pytest.approx(-log_probs[:128].mean().item(), rel=1e-6)
    first, second = -log_probs[:64].mean().item(), -log_probs[64:128].mean().item()
    assert nll_oracle(oracle, samples.numpy()) == pytest.approx((first + second) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="full batch of 64"):
        nll_oracle(oracle, samples[:63])


def test_nll_oracle_scores_with_the_given_start_token():
    oracle = random_oracle(20, 8, 8, seed=0)
    samples = oracle.sample(64, 6, start_token=3, generator=seeded(0))
    with torch.no_grad():
        expected = -oracle.log_prob(samples, 3).mean().item()
    assert nll_oracle(oracle, samples, start_token=3) == pytest.approx(expected, rel=1e-6)
    assert nll_oracle(oracle, samples, start_token=0) != pytest.approx(expected, rel=1e-6)


def test_nll_test_scores_in_eval_mode_and_restores_the_training_mode():
    torch.manual_seed(0)
    config = RecurrentConfig(
        vocab_size=20, embedding_dim=8, hidden_dim=8, num_layers=2, dropout=0.5
    )
    model = SequenceGenerator(config).train()
    held_out = torch.randint(0, 20, (64, 5), generator=seeded(0))
    first = nll_test(model, held_out, batch_size=32)
    assert model.training
    assert nll_test(model, held_out, batch_size=32) == first  # no dropout noise


def test_mle_training_on_oracle_samples_lowers_nll_oracle():
    vocab, length = 50, 10
    oracle = random_oracle(vocab, 32, 32, seed=0)
    gen = seeded(0)
    data = oracle.sample(2048, length, start_token=0, generator=gen)
    torch.manual_seed(0)
    model = SequenceGenerator(RecurrentConfig(vocab_size=vocab))

    def score(m: SequenceGenerator) -> float:
        return nll_oracle(oracle, m.sample(512, length, start_token=0, generator=seeded(1)))

    untrained = score(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        batch = data[torch.randint(0, len(data), (64,), generator=gen)]
        loss = -model.log_prob(batch, 0).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    trained = score(model)  # 6.3 → 3.2 here; the oracle's own samples score 2.2
    assert trained < untrained - 2.0
    assert trained > score(oracle)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_bleu_of_a_sentence_against_itself_is_one_and_against_disjoint_tokens_near_zero(n):
    sentence = list(range(20))
    assert bleu([sentence], [sentence], n) == pytest.approx(1.0)
    assert bleu([sentence], [list(range(100, 120))], n) < 0.01


def test_bleu_averages_candidates_against_the_whole_reference_set():
    references = np.array([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]])
    candidates = torch.tensor([[7, 8, 9, 10, 11, 12], [20, 21, 22, 23, 24, 25]])
    score = bleu(candidates, references, 2)
    assert 0.5 <= score < 0.51  # 1 for the first candidate, ~0 for the second


def test_self_bleu_is_one_for_identical_samples_and_near_zero_for_disjoint_ones():
    assert self_bleu([[1, 2, 3, 4, 5]] * 4, 3) == pytest.approx(1.0)
    disjoint = [list(range(10 * i, 10 * i + 10)) for i in range(5)]
    assert self_bleu(disjoint, 3) < 0.02


def test_self_bleu_subsample_is_seeded():
    samples = torch.randint(0, 30, (40, 8), generator=seeded(0))
    first = self_bleu(samples, 2, max_samples=10, seed=1)
    assert self_bleu(samples, 2, max_samples=10, seed=1) == first
    assert self_bleu(samples, 2, max_samples=10, seed=2) != first


def test_distinct_n_counts_distinct_over_total_ngrams():
    sequences = [[1, 2, 3], [1, 2, 4]]
    assert distinct_n(sequences, 1) == pytest.approx(4 / 6)
    assert distinct_n(sequences, 2) == pytest.approx(3 / 4)
    assert distinct_n(sequences, 3) == pytest.approx(1.0)
    assert distinct_n(sequences, 4) == 0.0
    assert distinct_n(torch.tensor([[5, 5, 5, 5]]), 2) == pytest.approx(1 / 3)
    assert distinct_n([[1, 2], [3]], 1) == pytest.approx(1.0)  # unequal lengths
