from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from lhyrl.nn import RecurrentConfig, SequenceEncoder, SequenceGenerator, sample_categorical

torch.set_num_threads(1)


def make_generator(cell: str = "lstm", *, vocab_size: int = 11, num_layers: int = 1, seed: int = 0):
    torch.manual_seed(seed)
    config = RecurrentConfig(
        vocab_size=vocab_size, embedding_dim=8, hidden_dim=8, num_layers=num_layers, cell=cell
    )
    model = SequenceGenerator(config).eval()
    with torch.no_grad():  # N(0, 1) like an oracle, so that the distributions depend on the state
        for p in model.parameters():
            nn.init.normal_(p)
        model.embedding.weight.mul_(3.0)
        model.out.weight.mul_(3.0)
    return model


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_forward_gives_logits_over_the_vocabulary_and_a_state(cell):
    model = make_generator(cell, num_layers=2)
    logits, state = model(torch.randint(0, 11, (3, 5)))
    assert logits.shape == (3, 5, 11)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (2, 3, 8)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_teacher_forced_log_prob_equals_step_by_step_sampling_log_probs(cell):
    model = make_generator(cell, num_layers=2)
    tokens, sampled_log_probs = model.sample_with_log_probs(6, 12, start_token=3, generator=gen(1))
    assert tokens.shape == sampled_log_probs.shape == (6, 12)
    torch.testing.assert_close(model.log_prob(tokens, 3), sampled_log_probs)


def test_sample_is_deterministic_given_the_generator():
    model = make_generator()
    first = model.sample(16, 9, start_token=0, generator=gen(5))
    assert first.shape == (16, 9) and first.dtype == torch.long
    assert first.min() >= 0 and first.max() < 11
    assert torch.equal(first, model.sample(16, 9, start_token=0, generator=gen(5)))
    assert not torch.equal(first, model.sample(16, 9, start_token=0, generator=gen(6)))
    tokens, _ = model.sample_with_log_probs(16, 9, start_token=0, generator=gen(5))
    assert torch.equal(first, tokens)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_sample_categorical_draws_from_the_softmax_and_never_an_impossible_token(temperature):
    logits = torch.tensor([0.5, -1.0, float("-inf"), 2.0, 0.0, float("-inf")])
    draws = sample_categorical(logits.expand(200_000, 6), gen(0), temperature)
    freq = torch.bincount(draws, minlength=6).double() / len(draws)
    expected = torch.softmax(logits.double() / temperature, 0)
    assert freq[2] == 0 and freq[5] == 0
    torch.testing.assert_close(freq, expected, atol=0.005, rtol=0)


def test_complete_keeps_the_prefix_and_is_deterministic():
    model = make_generator("gru")
    prefixes = torch.randint(0, 11, (4, 3), generator=gen(0))
    out = model.complete(prefixes, 7, 5, start_token=0, generator=gen(2))
    assert out.shape == (5, 4, 7)
    assert torch.equal(out[:, :, :3], prefixes.expand(5, 4, 3))
    assert torch.equal(out, model.complete(prefixes, 7, 5, start_token=0, generator=gen(2)))
    full = model.complete(out[0], 7, 2, start_token=0, generator=gen(2))
    assert torch.equal(full, out[0].expand(2, 4, 7))
    empty = model.complete(prefixes[:, :0], 7, 2, start_token=0, generator=gen(2))
    assert empty.shape == (2, 4, 7)


def test_monte_carlo_completions_keep_every_prefix_and_are_deterministic():
    model = make_generator("lstm", num_layers=2)
    sequences = torch.randint(0, 11, (3, 6), generator=gen(0))
    out = model.monte_carlo_completions(sequences, 4, start_token=1, generator=gen(3))
    assert out.shape == (5, 4, 3, 6)
    for t in range(1, 6):
        assert torch.equal(out[t - 1, :, :, :t], sequences[:, :t].expand(4, 3, t))
    again = model.monte_carlo_completions(sequences, 4, start_token=1, generator=gen(3))
    assert torch.equal(out, again)


def exact_completion_probs(model, prefix: torch.Tensor, length: int, start_token: int):
    """Every completion of one prefix and its probability given the prefix, by enumeration."""
    vocab = model.config.vocab_size
    suffixes = torch.tensor(list(itertools.product(range(vocab), repeat=length - len(prefix))))
    full = torch.cat([prefix.expand(len(suffixes), -1), suffixes], 1)
    with torch.no_grad():
        return full, model.log_prob(full, start_token)[:, len(prefix) :].sum(1).exp()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("method", ["complete", "monte_carlo_completions"])
def test_completions_follow_the_model_distribution(cell, method):
    # Two layers and peaked distributions: a wrong state after the prefix or after a
    # sampled token would show in the joint frequencies of whole completions.
    model = make_generator(cell, vocab_size=3, num_layers=2, seed=8)
    sequences = torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]])
    n = 8000
    for t in range(1, 4):
        if method == "complete":
            out = model.complete(sequences[:, :t], 4, n, start_token=1, generator=gen(t))
        else:
            out = model.monte_carlo_completions(sequences, n, start_token=1, generator=gen(0))
            out = out[t - 1]
        for b in range(2):
            full, probs = exact_completion_probs(model, sequences[b, :t], 4, start_token=1)
            hits = (out[:, b, None, :] == full[None]).all(-1)  # (n, completions)
            assert hits.sum(1).eq(1).all()
            torch.testing.assert_close(hits.double().mean(0), probs.double(), atol=0.025, rtol=0)


def test_generator_refuses_a_bidirectional_config():
    with pytest.raises(ValueError, match="bidirectional"):
        SequenceGenerator(RecurrentConfig(vocab_size=5, bidirectional=True))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_encoder_reads_each_row_only_up_to_its_length(cell):
    torch.manual_seed(0)
    config = RecurrentConfig(
        vocab_size=9, embedding_dim=6, hidden_dim=5, num_layers=2, cell=cell, bidirectional=True
    )
    encoder = SequenceEncoder(config).eval()
    tokens = torch.randint(0, 9, (3, 7))
    lengths = torch.tensor([7, 3, 5])
    outputs, state = encoder(tokens, lengths)
    assert outputs.shape == (3, 7, 10) and encoder.output_dim == 10
    h = state[0] if cell == "lstm" else state
    assert h.shape == (2, 3, 10)
    assert torch.all(outputs[1, 3:] == 0)
    alone, alone_state = encoder(tokens[1:2, :3])
    torch.testing.assert_close(outputs[1:2, :3], alone)
    alone_h = alone_state[0] if cell == "lstm" else alone_state
    torch.testing.assert_close(h[:, 1:2], alone_h)
    # The last layer's final state: forward half at the last token, backward half at the first.
    torch.testing.assert_close(h[-1, 1, :5], outputs[1, 2, :5])
    torch.testing.assert_close(h[-1, 1, 5:], outputs[1, 0, 5:])
