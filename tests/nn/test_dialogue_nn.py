from __future__ import annotations

import pytest
import torch

from lhyrl.data.text import EOS_ID, PAD_ID
from lhyrl.nn import (
    HierarchicalDiscriminator,
    HierarchicalDiscriminatorConfig,
    UtteranceEncoder,
    UtteranceEncoderConfig,
    bce_discriminator_loss,
    stack_turns,
)

torch.set_num_threads(1)

VOCAB = 16  # 4 special ids, then 12 symbols
TURNS, LENGTH = 3, 7


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make_discriminator(seed: int = 0, **overrides) -> HierarchicalDiscriminator:
    torch.manual_seed(seed)
    config = {"vocab_size": VOCAB, "embedding_dim": 16, "hidden_dim": 16, **overrides}
    config.setdefault("dialogue_hidden_dim", 16)
    return HierarchicalDiscriminator(HierarchicalDiscriminatorConfig(**config)).eval()


def random_dialogues(n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, TURNS, LENGTH) dialogues of 1-3 turns of 1-6 symbols, each ended by EOS."""
    lengths = torch.randint(1, LENGTH, (n, TURNS), generator=generator)
    tokens = torch.randint(4, VOCAB, (n, TURNS, LENGTH), generator=generator)
    positions = torch.arange(LENGTH)
    tokens = tokens.masked_fill(positions >= lengths[..., None], PAD_ID)
    tokens = tokens.masked_fill(positions == lengths[..., None], EOS_ID)
    n_turns = torch.randint(1, TURNS + 1, (n, 1), generator=generator)
    return tokens.masked_fill((torch.arange(TURNS) >= n_turns)[..., None], PAD_ID)


def copy_task(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Dialogues ``[context,] query, reply`` and their labels (1 = human).

    Human replies copy the query; machine replies are the dull ``4 5 EOS`` or as many random
    symbols as the query has. Half of the dialogues start with a random context turn.
    """
    context = random_dialogues(n, generator)[:, 0]  # (n, L)
    query = random_dialogues(n, generator)[:, 0]  # (n, L)
    labels = (torch.rand(n, generator=generator) < 0.5).float()
    dull = (labels == 0) & (torch.rand(n, generator=generator) < 0.5)
    noise = torch.randint(4, VOCAB, (n, LENGTH), generator=generator)
    reply = torch.where((labels == 0)[:, None] & (query > EOS_ID), noise, query)
    reply[dull] = torch.tensor([4, 5, EOS_ID] + [PAD_ID] * (LENGTH - 3))
    has_context = torch.rand(n, generator=generator) < 0.5
    blank = torch.zeros_like(query)
    with_context = torch.stack([context, query, reply], 1)  # (n, 3, L)
    without = torch.stack([query, reply, blank], 1)  # (n, 3, L)
    return torch.where(has_context[:, None, None], with_context, without), labels


# --- shapes and padding ------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_utterance_encoder_gives_one_vector_per_turn(cell: str, bidirectional: bool):
    torch.manual_seed(0)
    config = UtteranceEncoderConfig(
        vocab_size=VOCAB,
        embedding_dim=8,
        hidden_dim=6,
        num_layers=2,
        cell=cell,
        bidirectional=bidirectional,
    )
    encoder = UtteranceEncoder(config)
    assert encoder.output_dim == (12 if bidirectional else 6)
    tokens = random_dialogues(5, gen(0))[:, 0]  # (5, L)
    assert encoder(tokens).shape == (5, encoder.output_dim)


def test_utterance_encoder_reads_only_tokens_before_pad_or_eos():
    torch.manual_seed(0)
    encoder = UtteranceEncoder(UtteranceEncoderConfig(vocab_size=VOCAB, hidden_dim=8))
    a = torch.tensor([[5, 6, 7, EOS_ID, PAD_ID, PAD_ID]])
    same = [
        torch.tensor([[5, 6, 7]]),
        torch.tensor([[5, 6, 7, PAD_ID]]),
        torch.tensor([[5, 6, 7, EOS_ID, 9, 9, 9, 9]]),  # after EOS is ignored
    ]
    expected = encoder(a)
    for tokens in same:
        torch.testing.assert_close(encoder(tokens), expected)
    assert encoder.lengths(torch.tensor([[5, 6, EOS_ID], [PAD_ID, 5, 5], [5, 5, 5]])).tolist() == [
        2,
        0,
        3,
    ]
    # A batch with other, longer rows gives the same vector.
    batch = torch.tensor([[5, 6, 7, EOS_ID, PAD_ID, PAD_ID], [8, 9, 10, 11, 12, 13]])
    torch.testing.assert_close(encoder(batch)[:1], expected)


@pytest.mark.parametrize("empty_turn", ["zero", "learned"])
def test_utterance_encoder_gives_empty_turns_the_empty_vector(empty_turn: str):
    torch.manual_seed(0)
    config = UtteranceEncoderConfig(vocab_size=VOCAB, hidden_dim=8, empty_turn=empty_turn)
    encoder = UtteranceEncoder(config)
    if encoder.empty is not None:
        with torch.no_grad():
            encoder.empty.fill_(0.5)
    tokens = torch.tensor([[PAD_ID, PAD_ID], [EOS_ID, PAD_ID], [5, EOS_ID]])
    out = encoder(tokens)
    fill = 0.5 if empty_turn == "learned" else 0.0
    torch.testing.assert_close(out[:2], torch.full((2, 16), fill))
    assert out[2].abs().sum() > 0
    all_empty = encoder(torch.zeros(3, 4, dtype=torch.long))
    torch.testing.assert_close(all_empty, torch.full((3, 16), fill))
    if encoder.empty is not None:  # the learned vector gets gradients
        encoder(tokens).sum().backward()
        assert encoder.empty.grad is not None and encoder.empty.grad.abs().sum() > 0


def test_discriminator_gives_one_logit_per_dialogue_and_gan_losses_accept_them():
    for cell in ("lstm", "gru"):
        disc = make_discriminator(cell=cell, num_layers=2, dialogue_num_layers=2, dropout=0.1)
        dialogues = random_dialogues(6, gen(1))
        logits = disc(dialogues)
        assert logits.shape == (6,) and logits.dtype == torch.float32
        probs = disc.prob_human(dialogues)
        torch.testing.assert_close(probs, torch.sigmoid(logits))
        disc.train()
        loss = bce_discriminator_loss(disc(dialogues[:3]), disc(dialogues[3:]))
        loss.backward()
        assert all(p.grad is not None for p in disc.parameters() if p is not disc.utterance.empty)


def test_discriminator_ignores_absent_turns_and_padding_columns():
    disc = make_discriminator()
    dialogues = random_dialogues(8, gen(2))
    expected = disc(dialogues)
    wider = torch.nn.functional.pad(dialogues, (0, 4), value=PAD_ID)  # (B, N, L + 4)
    torch.testing.assert_close(disc(wider), expected)
    blank = torch.zeros(8, 1, LENGTH, dtype=torch.long)
    more_turns = torch.cat([blank, dialogues[:, :1], blank, dialogues[:, 1:], blank, blank], 1)
    torch.testing.assert_close(disc(more_turns), expected)
    # Each dialogue scores the same alone as in the batch.
    for row in range(8):
        torch.testing.assert_close(disc(dialogues[row : row + 1]), expected[row : row + 1])


def test_discriminator_scores_dialogues_without_turns_by_the_bias():
    disc = make_discriminator()
    dialogues = random_dialogues(3, gen(3))
    dialogues[1] = PAD_ID
    logits = disc(dialogues)
    torch.testing.assert_close(logits[1], disc.head.bias[0])
    torch.testing.assert_close(
        disc(torch.zeros(2, 2, 3, dtype=torch.long)), disc.head.bias.expand(2)
    )


def test_turn_order_matters():
    disc = make_discriminator()
    dialogues = random_dialogues(8, gen(4))
    dialogues[:, :, 0] = torch.arange(4, 4 + TURNS)  # every turn present and distinct
    swapped = dialogues[:, [1, 0, 2]]
    assert (disc(swapped) - disc(dialogues)).abs().min() > 1e-6


def test_stack_turns_pads_turns_to_the_longest():
    query = torch.tensor([[5, 6, EOS_ID], [7, EOS_ID, PAD_ID]])
    reply = torch.tensor([[8, 9, 10, 11, EOS_ID], [4, EOS_ID, PAD_ID, PAD_ID, PAD_ID]])
    dialogue = stack_turns([query, reply])
    assert dialogue.shape == (2, 2, 5)
    assert dialogue[:, 0].tolist() == [[5, 6, EOS_ID, 0, 0], [7, EOS_ID, 0, 0, 0]]
    assert torch.equal(dialogue[:, 1], reply)
    with pytest.raises(ValueError, match="at least one turn"):
        stack_turns([])


# --- learning ----------------------------------------------------------------------------------


def accuracy(disc: HierarchicalDiscriminator, dialogues: torch.Tensor, labels: torch.Tensor):
    with torch.no_grad():
        return ((disc(dialogues) > 0).float() == labels).float().mean().item()


def test_discriminator_learns_to_tell_copied_replies_from_dull_and_random_ones():
    disc = make_discriminator(embedding_dim=16, hidden_dim=24, dialogue_hidden_dim=24)
    test_x, test_y = copy_task(1000, gen(100))
    assert abs(accuracy(disc, test_x, test_y) - 0.5) < 0.1
    optimizer = torch.optim.Adam(disc.parameters(), lr=1e-2)
    data = gen(5)
    disc.train()
    for _ in range(300):
        x, y = copy_task(64, data)
        logits = disc(x)
        loss = bce_discriminator_loss(logits[y == 1], logits[y == 0])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    disc.eval()
    assert accuracy(disc, test_x, test_y) > 0.9


# --- checks ------------------------------------------------------------------------------------


def test_bad_inputs_are_refused():
    disc = make_discriminator()
    good = random_dialogues(2, gen(6))
    with pytest.raises(ValueError, match="3-d long tensor"):
        disc(good.float())
    with pytest.raises(ValueError, match="3-d long tensor"):
        disc(good[:, 0])
    with pytest.raises(ValueError, match=r"outside 0 \.\. 15"):
        disc(good.masked_fill(good == EOS_ID, VOCAB))
    with pytest.raises(ValueError, match=r"outside 0 \.\. 15"):
        disc(good.masked_fill(good == EOS_ID, -1))
    with pytest.raises(ValueError, match="empty"):
        disc(good[:, :, :0])
    encoder = disc.utterance
    with pytest.raises(ValueError, match="2-d long tensor"):
        encoder(good)
    with pytest.raises(ValueError, match="2-d long tensor"):
        encoder(good[:, 0].int())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dropout": 1.0}, "dropout"),
        ({"empty_turn": "random"}, "empty_turn"),
        ({"pad_id": 2}, "must differ"),
        ({"eos_id": 16}, "outside the vocabulary"),
        ({"cell": "rnn"}, "cell"),
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"dialogue_hidden_dim": 0}, "dialogue_hidden_dim"),
        ({"dialogue_num_layers": 0}, "dialogue_num_layers"),
    ],
)
def test_bad_configs_are_refused(overrides: dict, message: str):
    with pytest.raises(ValueError, match=message):
        HierarchicalDiscriminatorConfig(vocab_size=VOCAB, **overrides)
    if not overrides.keys() & {"dialogue_hidden_dim", "dialogue_num_layers"}:
        with pytest.raises(ValueError, match=message):
            UtteranceEncoderConfig(vocab_size=VOCAB, **overrides)
