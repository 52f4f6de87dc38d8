from __future__ import annotations

import pytest
import torch

from lhyrl.data.text import EOS_ID, PAD_ID
from lhyrl.nn import Seq2Seq, Seq2SeqConfig

torch.set_num_threads(1)

VOCAB = 12


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def model() -> Seq2Seq:
    torch.manual_seed(0)
    return Seq2Seq(Seq2SeqConfig(VOCAB, embedding_dim=16, hidden_dim=16)).eval()


def sources(n: int) -> torch.Tensor:
    src = torch.randint(4, VOCAB, (n, 6), generator=gen(1))  # (n, 6)
    src[: n // 2, 4:] = PAD_ID  # some shorter sources
    return src


def test_continuations_keep_the_prefix_and_are_reproducible_by_seed(model):
    src = sources(32)
    prefix = torch.randint(4, VOCAB, (32, 3), generator=gen(2))  # (B, 3), no eos
    prefix[0, 1:] = torch.tensor([EOS_ID, PAD_ID])  # a finished row
    a = model.sample_continuations(src, prefix, max_len=8, generator=gen(3))
    b = model.sample_continuations(src, prefix, max_len=8, generator=gen(3))
    c = model.sample_continuations(src, prefix, max_len=8, generator=gen(4))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.scores, b.scores)
    assert not torch.equal(a.tokens, c.tokens)
    assert torch.equal(a.tokens[:, :3], prefix) and a.tokens.shape[1] <= 8
    assert (a.tokens[0, 2:] == PAD_ID).all() and a.lengths[0] == 2  # finished: only padded
    # Each completion is a reply in target form: after eos only pad, at most one eos.
    for row in a.tokens.tolist():
        if EOS_ID in row:
            end = row.index(EOS_ID)
            assert all(t == PAD_ID for t in row[end + 1 :])
        body = row[: row.index(EOS_ID)] if EOS_ID in row else row
        assert PAD_ID not in body
    # The scores are the log-likelihoods of the whole replies, prefix included.
    torch.testing.assert_close(a.scores, model.score(src, a.tokens), rtol=1e-5, atol=1e-4)


def test_empty_prefix_is_sample_draw_for_draw(model):
    src = sources(16)
    empty = torch.zeros(16, 0, dtype=torch.long)
    a = model.sample_continuations(src, empty, max_len=7, temperature=0.7, generator=gen(5))
    b = model.sample(src, max_len=7, temperature=0.7, generator=gen(5))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.lengths, b.lengths)
    torch.testing.assert_close(a.scores, b.scores)


def test_continuations_follow_the_model_given_the_prefix(model):
    """The first sampled token is distributed as the model's next-token distribution."""
    src = sources(1).expand(4000, -1)  # one source, many draws
    prefix = torch.tensor([[5, 6]]).expand(4000, -1)
    out = model.sample_continuations(src, prefix, max_len=3, generator=gen(6)).tokens[:, 2]
    logits = model(src[:1], torch.tensor([[1, 5, 6]]))[0, -1]  # (V,) after bos, 5, 6
    expected = logits.softmax(-1)
    observed = torch.bincount(out, minlength=VOCAB).float() / len(out)
    assert (observed - expected).abs().max() < 0.03


def test_full_prefix_and_bad_prefix(model):
    src = sources(4)
    full = torch.randint(4, VOCAB, (4, 5), generator=gen(7))
    out = model.sample_continuations(src, full, max_len=5, generator=gen(8))
    assert torch.equal(out.tokens, full)
    with pytest.raises(ValueError, match="more than max_len"):
        model.sample_continuations(src, full, max_len=4, generator=gen(8))
    with pytest.raises(ValueError, match="prefix must be"):
        model.sample_continuations(src, full[:3], max_len=8, generator=gen(8))
    with pytest.raises(ValueError, match="outside"):
        model.sample_continuations(src, full + VOCAB, max_len=8, generator=gen(8))
