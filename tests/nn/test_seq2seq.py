from __future__ import annotations

import time

import pytest
import torch

from lhyrl.data.text import BOS_ID, EOS_ID, PAD_ID
from lhyrl.nn import Seq2Seq, Seq2SeqConfig

torch.set_num_threads(1)

VOCAB = 12  # 4 special ids, then 8 symbols
MAX_SOURCE = 7


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make_model(seed: int = 0, **overrides) -> Seq2Seq:
    torch.manual_seed(seed)
    config = {"vocab_size": VOCAB, "embedding_dim": 16, "hidden_dim": 16, **overrides}
    return Seq2Seq(Seq2SeqConfig(**config))


def task_batch(
    n: int, generator: torch.Generator, *, reverse: bool, min_len: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random sources of 3-7 symbols (padded) and their copies or reversals, then EOS."""
    lengths = torch.randint(min_len, MAX_SOURCE + 1, (n,), generator=generator)
    src = torch.randint(4, VOCAB, (n, MAX_SOURCE), generator=generator)
    src = src.masked_fill(torch.arange(MAX_SOURCE) >= lengths[:, None], PAD_ID)
    tgt = torch.full((n, MAX_SOURCE + 1), PAD_ID)
    for row, length in enumerate(lengths.tolist()):
        symbols = src[row, :length]
        tgt[row, :length] = symbols.flip(0) if reverse else symbols
        tgt[row, length] = EOS_ID
    return src, tgt


def train(model: Seq2Seq, *, reverse: bool, steps: int, seed: int = 0, batch_size: int = 64):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = gen(seed)
    for _ in range(steps):
        src, tgt = task_batch(batch_size, data, reverse=reverse)
        loss = model.loss(src, tgt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def greedy_accuracy(model: Seq2Seq, *, reverse: bool) -> tuple[float, float]:
    """Exact-reply and token accuracy of greedy decoding on 500 held-out sources."""
    src, tgt = task_batch(500, gen(999), reverse=reverse)
    out = model.greedy(src, max_len=tgt.shape[1]).tokens
    replies = torch.full_like(tgt, PAD_ID)
    replies[:, : out.shape[1]] = out
    real = tgt != PAD_ID
    exact = (replies == tgt).all(1).float().mean().item()
    tokens = ((replies == tgt) & real).sum().item() / real.sum().item()
    return exact, tokens


def diagonal_attention(model: Seq2Seq, *, reverse: bool) -> float:
    """How often a step's largest attention weight is on the source symbol it must output."""
    src, tgt = task_batch(200, gen(5), reverse=reverse)
    weights = model.attention_weights(src, model.decoder_inputs(tgt))  # (B, T, S)
    lengths = (src != PAD_ID).sum(1)
    hits = total = 0
    for row, length in enumerate(lengths.tolist()):
        steps = torch.arange(length)
        wanted = length - 1 - steps if reverse else steps
        hits += (weights[row, :length].argmax(-1) == wanted).sum().item()
        total += length
    return hits / total


# --- configuration and shapes ---------------------------------------------------------------


def test_default_token_ids_are_the_vocabulary_s():
    config = Seq2SeqConfig(vocab_size=10)
    assert (config.pad_id, config.bos_id, config.eos_id) == (PAD_ID, BOS_ID, EOS_ID)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"attention": "luong"}, "attention"),
        ({"cell": "rnn"}, "cell"),
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"dropout": 1.0}, "dropout"),
        ({"eos_id": 0}, "must differ"),
        ({"eos_id": 12}, "outside"),
        ({"target_vocab_size": 2}, "outside"),
    ],
)
def test_bad_config_is_rejected(overrides, match):
    with pytest.raises(ValueError, match=match):
        Seq2SeqConfig(**{"vocab_size": VOCAB, **overrides})


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", ["additive", "dot", "none"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_teacher_forced_logits_cover_the_target_vocabulary(cell, attention, bidirectional):
    model = make_model(
        cell=cell, attention=attention, bidirectional=bidirectional, num_layers=2, dropout=0.1
    )
    src, tgt = task_batch(5, gen(0), reverse=False)
    logits = model(src, model.decoder_inputs(tgt))
    assert logits.shape == (5, tgt.shape[1], VOCAB)
    assert (logits[..., [PAD_ID, BOS_ID]] == float("-inf")).all()  # never emitted
    loss = model.loss(src, tgt)
    loss.backward()
    assert loss.isfinite()
    for p in model.parameters():
        assert p.grad is None or p.grad.isfinite().all()


def test_a_separate_target_vocabulary_gets_its_own_embedding():
    model = make_model(target_vocab_size=20)
    assert model.embedding is not model.encoder.embedding
    src, _ = task_batch(3, gen(0), reverse=False)
    tgt = torch.tensor([[15, 19, EOS_ID], [4, EOS_ID, PAD_ID], [EOS_ID, PAD_ID, PAD_ID]])
    assert model(src, model.decoder_inputs(tgt)).shape == (3, 3, 20)
    shared = make_model()
    assert shared.embedding is shared.encoder.embedding


def test_loss_is_the_mean_token_nll_ignoring_padding():
    model = make_model()
    src, tgt = task_batch(6, gen(1), reverse=True)
    log_probs = model.token_log_probs(src, tgt)
    real = tgt != PAD_ID
    assert (log_probs[~real] == 0).all()
    torch.testing.assert_close(model.loss(src, tgt), -log_probs[real].mean())
    torch.testing.assert_close(model.score(src, tgt), log_probs.sum(1))


def test_extra_padding_columns_change_nothing():
    model = make_model().eval()
    src, tgt = task_batch(6, gen(2), reverse=True)
    wider = torch.cat([src, torch.full((6, 3), PAD_ID)], 1)
    torch.testing.assert_close(model.score(wider, tgt), model.score(src, tgt))
    lengths = (src != PAD_ID).sum(1)
    torch.testing.assert_close(model.score(src, tgt, lengths), model.score(src, tgt))


# --- scheduled sampling ---------------------------------------------------------------------


def test_scheduled_sampling_feeds_the_model_its_own_samples():
    model = make_model().eval()
    src, tgt = task_batch(8, gen(3), reverse=False)
    tgt_in = model.decoder_inputs(tgt)
    teacher = model(src, tgt_in)
    never = model(src, tgt_in, sampling_probability=1e-30, generator=gen(0))  # step by step
    torch.testing.assert_close(never, teacher)
    always = model(src, tgt_in, sampling_probability=1.0, generator=gen(0))
    torch.testing.assert_close(always[:, 0], teacher[:, 0])  # the first input is BOS either way
    assert not torch.allclose(always[:, 1:], teacher[:, 1:])
    torch.testing.assert_close(
        always, model(src, tgt_in, sampling_probability=1.0, generator=gen(0))
    )
    loss = model.loss(src, tgt, sampling_probability=0.5, generator=gen(1))
    loss.backward()
    assert loss.isfinite()
    with pytest.raises(ValueError, match="generator"):
        model(src, tgt_in, sampling_probability=0.5)
    with pytest.raises(ValueError, match="sampling_probability"):
        model(src, tgt_in, sampling_probability=1.5, generator=gen(0))


# --- learning -------------------------------------------------------------------------------


def test_attention_learns_to_reverse_and_beats_no_attention_on_the_same_budget():
    start = time.perf_counter()
    attentive = train(make_model(hidden_dim=32, embedding_dim=32), reverse=True, steps=200)
    plain = train(
        make_model(hidden_dim=32, embedding_dim=32, attention="none"), reverse=True, steps=200
    )
    exact, tokens = greedy_accuracy(attentive, reverse=True)
    plain_exact, plain_tokens = greedy_accuracy(plain, reverse=True)
    alignment = diagonal_attention(attentive, reverse=True)
    print(
        f"reverse: additive exact {exact:.3f} tokens {tokens:.3f} alignment {alignment:.3f}; "
        f"none exact {plain_exact:.3f} tokens {plain_tokens:.3f}; "
        f"{time.perf_counter() - start:.1f} s"
    )
    assert exact >= 0.95 and tokens >= 0.98
    assert alignment >= 0.9  # step t looks at source position L - 1 - t
    assert plain_exact <= exact - 0.08


@pytest.mark.parametrize(
    "attention, cell, reverse",
    [("additive", "lstm", False), ("dot", "lstm", False), ("dot", "gru", True)],
)
def test_attention_learns_to_copy_and_reverse(attention, cell, reverse):
    start = time.perf_counter()
    model = make_model(hidden_dim=32, embedding_dim=32, attention=attention, cell=cell)
    train(model, reverse=reverse, steps=200 if attention == "additive" else 250)
    exact, tokens = greedy_accuracy(model, reverse=reverse)
    alignment = diagonal_attention(model, reverse=reverse)
    print(
        f"{'reverse' if reverse else 'copy'} ({attention}, {cell}): exact {exact:.3f} "
        f"tokens {tokens:.3f} alignment {alignment:.3f}; {time.perf_counter() - start:.1f} s"
    )
    assert exact >= 0.9 and tokens >= 0.95


# --- decoding -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def half_trained() -> tuple[Seq2Seq, torch.Tensor]:
    """A reversal model trained for a few steps: unsure enough that search matters."""
    model = train(make_model(), reverse=True, steps=40, batch_size=32)
    src, _ = task_batch(64, gen(7), reverse=True)
    return model, src


def ends_at_eos(tokens: torch.Tensor) -> bool:
    """Every row: tokens, one EOS (unless cut), then only padding; no PAD/BOS before it."""
    for row in tokens.tolist():
        body = row[: row.index(EOS_ID)] if EOS_ID in row else row
        rest = row[len(body) + 1 :] if EOS_ID in row else []
        if PAD_ID in body or BOS_ID in body or any(t != PAD_ID for t in rest):
            return False
    return True


def test_greedy_and_sampled_replies_end_at_eos_and_their_scores_are_their_likelihood(
    half_trained,
):
    model, src = half_trained
    greedy = model.greedy(src, max_len=10)
    assert greedy.tokens.dtype == torch.long and ends_at_eos(greedy.tokens)
    assert torch.equal(greedy.lengths, (greedy.tokens != PAD_ID).sum(1))
    torch.testing.assert_close(model.score(src, greedy.tokens), greedy.scores)
    sampled = model.sample(src, max_len=10, generator=gen(0), temperature=1.5)
    assert ends_at_eos(sampled.tokens)
    torch.testing.assert_close(model.score(src, sampled.tokens), sampled.scores)
    again = model.sample(src, max_len=10, generator=gen(0), temperature=1.5)
    assert torch.equal(again.tokens, sampled.tokens)
    assert not torch.equal(model.sample(src, max_len=10, generator=gen(1)).tokens, sampled.tokens)
    cut = model.greedy(src, max_len=2)
    assert torch.equal(cut.tokens, greedy.tokens[:, :2])  # replies cut at max_len, no EOS


def test_beam_search_scores_at_least_greedy_on_every_item_and_better_on_some(half_trained):
    model, src = half_trained
    greedy = model.greedy(src, max_len=10)
    beam = model.beam_search(src, beam_size=4, max_len=10)
    assert ends_at_eos(beam.tokens)
    beam_scores = model.score(src, beam.tokens)
    torch.testing.assert_close(beam_scores, beam.scores)
    gain = beam_scores - model.score(src, greedy.tokens)
    print(
        f"beam 4 - greedy log-likelihood: min {gain.min():.4f} mean {gain.mean():.4f} "
        f"max {gain.max():.4f}; better on {(gain > 1e-3).sum()} of {len(gain)}"
    )
    assert (gain >= -1e-5).all()
    assert (gain > 1e-3).sum() >= 10


def test_beam_size_one_is_greedy(half_trained):
    model, src = half_trained
    greedy = model.greedy(src, max_len=10)
    beam = model.beam_search(src, beam_size=1, max_len=10)
    assert torch.equal(beam.tokens, greedy.tokens)
    torch.testing.assert_close(beam.scores, greedy.scores)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_batched_beam_search_equals_one_source_at_a_time(half_trained, length_penalty):
    model, src = half_trained
    src = src[:12]
    batched = model.beam_search(src, beam_size=3, max_len=10, length_penalty=length_penalty)
    for row in range(len(src)):
        length = int((src[row] != PAD_ID).sum())
        alone = model.beam_search(
            src[row : row + 1, :length], beam_size=3, max_len=10, length_penalty=length_penalty
        )
        width = alone.tokens.shape[1]
        assert torch.equal(alone.tokens[0], batched.tokens[row, :width])
        assert (batched.tokens[row, width:] == PAD_ID).all()
        torch.testing.assert_close(alone.scores[0], batched.scores[row])


def test_length_penalty_normalises_the_returned_score(half_trained):
    model, src = half_trained
    beam = model.beam_search(src, beam_size=4, max_len=10, length_penalty=1.0)
    torch.testing.assert_close(model.score(src, beam.tokens) / beam.lengths, beam.scores)


def test_a_beam_wider_than_the_vocabulary_still_works():
    model = make_model(vocab_size=5).eval()  # 3 emittable tokens
    src = torch.tensor([[4, 3, 4], [3, 0, 0]])
    beam = model.beam_search(src, beam_size=8, max_len=4)
    assert beam.scores.isfinite().all() and ends_at_eos(beam.tokens)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src, match",
    [
        (torch.zeros((0, 4), dtype=torch.long), "empty"),
        (torch.zeros((2, 0), dtype=torch.long), "empty"),
        (torch.tensor([[4, 5, 6]], dtype=torch.int32), "long"),
        (torch.tensor([[4.0, 5.0]]), "long"),
        (torch.tensor([4, 5, 6]), "2-d"),
        (torch.tensor([[4, 5, VOCAB]]), "outside"),
        (torch.tensor([[4, -1, 5]]), "outside"),
        (torch.tensor([[4, 5], [PAD_ID, PAD_ID]]), r"1 \.\. 2 tokens"),
        (torch.tensor([[4, PAD_ID, 5]]), "pad_id between"),
    ],
)
def test_bad_sources_are_rejected_with_a_clear_error(src, match):
    model = make_model()
    for call in (
        lambda: model.greedy(src),
        lambda: model.beam_search(src),
        lambda: model.sample(src, generator=gen(0)),
    ):
        with pytest.raises(ValueError, match=match):
            call()


def test_bad_arguments_are_rejected_with_a_clear_error():
    model = make_model()
    src, tgt = task_batch(3, gen(0), reverse=False)
    with pytest.raises(ValueError, match="rows"):
        model.loss(src, tgt[:2])
    with pytest.raises(ValueError, match="src_lengths"):
        model.score(src, tgt, torch.tensor([3.0, 3.0, 3.0]))
    with pytest.raises(ValueError, match=r"1 \.\. 7 tokens"):
        model.score(src, tgt, torch.tensor([3, 8, 3]))
    with pytest.raises(ValueError, match="max_len"):
        model.greedy(src, max_len=0)
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(src, beam_size=0)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(src, generator=gen(0), temperature=0.0)
    with pytest.raises(ValueError, match="no attention"):
        make_model(attention="none").attention_weights(src, model.decoder_inputs(tgt))
