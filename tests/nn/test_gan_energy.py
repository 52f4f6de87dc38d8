"""Auto-encoder discriminators: energies are reconstruction errors, padding changes nothing,
dialogues score their reply, and EBGAN's loss teaches one to tell real from generated."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from lhyrl.nn.dialogue import DialogueAutoEncoderDiscriminator
from lhyrl.nn.gan import (
    MLPAutoEncoderConfig,
    MLPAutoEncoderDiscriminator,
    SequenceAutoEncoderConfig,
    SequenceAutoEncoderDiscriminator,
    make_objective,
)

torch.set_num_threads(1)

PAD, EOS = 0, 2


def test_vector_energy_is_the_mean_squared_reconstruction_error() -> None:
    torch.manual_seed(0)
    autoencoder = MLPAutoEncoderDiscriminator(MLPAutoEncoderConfig(input_dim=5, code_dim=2))
    assert autoencoder.output_kind == "energy"
    x = torch.randn(7, 5)
    expected = ((autoencoder.decoder(autoencoder.encoder(x)) - x) ** 2).mean(1)
    torch.testing.assert_close(autoencoder(x), expected)
    assert autoencoder.encoder[-1].out_features == 2  # the bottleneck


def test_ebgan_teaches_a_vector_autoencoder_to_give_generated_points_high_energy() -> None:
    """Real points lie on a line in 4-d; fakes are Gaussian noise. After training, reals
    have low energy and the fakes are pushed to about the margin."""
    torch.manual_seed(0)
    autoencoder = MLPAutoEncoderDiscriminator(MLPAutoEncoderConfig(input_dim=4, code_dim=1))
    ebgan = make_objective("ebgan", margin=1.0)
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=1e-2)
    direction = torch.tensor([1.0, -1.0, 0.5, 2.0]) / 2.5
    for _ in range(300):
        real = torch.randn(64, 1) * direction  # (64, 4)
        fake = torch.randn(64, 4)
        loss = ebgan.discriminator_loss(autoencoder(real), autoencoder(fake))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        real_energy = autoencoder(torch.randn(512, 1) * direction)
        fake_energy = autoencoder(torch.randn(512, 4))
    assert real_energy.mean() < 0.1 < 0.6 < fake_energy.mean()
    reward_real = ebgan.generator_reward(real_energy).mean()
    assert reward_real > ebgan.generator_reward(fake_energy).mean()  # real-like: more reward
    assert ebgan.says_real(real_energy).float().mean() > 0.95


def test_sequence_energy_averages_the_scored_real_positions_and_ignores_padding() -> None:
    torch.manual_seed(0)
    config = SequenceAutoEncoderConfig(vocab_size=10, embedding_dim=6, hidden_dim=8, pad_id=PAD)
    autoencoder = SequenceAutoEncoderDiscriminator(config)
    tokens = torch.tensor([[3, 4, 5, PAD, PAD], [6, 7, 8, 9, 3]])
    errors, real = autoencoder.reconstruction_errors(tokens)
    assert real.tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    energy = autoencoder(tokens)
    torch.testing.assert_close(energy, torch.stack([errors[0, :3].mean(), errors[1].mean()]))
    scored = torch.tensor([[False, True, True, True, True], [True] * 5])
    torch.testing.assert_close(autoencoder(tokens, scored)[0], errors[0, 1:3].mean())
    # Extra padding columns change nothing (packed encoder, masked errors).
    torch.testing.assert_close(autoencoder(F.pad(tokens, (0, 4), value=PAD)), energy)
    # Without a pad id every position is real: SeqGAN's fixed-length sequences.
    fixed = SequenceAutoEncoderDiscriminator(SequenceAutoEncoderConfig(vocab_size=10))
    assert fixed(torch.zeros(2, 4, dtype=torch.long)).shape == (2,)
    assert fixed.reconstruction_errors(torch.zeros(2, 4, dtype=torch.long))[1].all()


def test_dialogue_autoencoder_reads_the_turns_in_order_and_scores_the_reply() -> None:
    torch.manual_seed(0)
    config = SequenceAutoEncoderConfig(
        vocab_size=12, embedding_dim=6, hidden_dim=8, pad_id=PAD, eos_id=EOS
    )
    disc = DialogueAutoEncoderDiscriminator(config)
    dialogues = torch.tensor(
        [
            [[PAD, PAD, PAD, PAD], [5, 6, EOS, PAD], [7, 8, 9, EOS]],  # an absent turn first
            [[5, EOS, PAD, PAD], [6, 7, 8, 9], [EOS, PAD, PAD, PAD]],  # a full turn, empty reply
        ]
    )
    tokens, reply = disc.flatten(dialogues)
    assert tokens.tolist() == [[5, 6, EOS, 7, 8, 9, EOS, PAD], [5, EOS, 6, 7, 8, 9, EOS, EOS]]
    assert reply.tolist() == [[False] * 3 + [True] * 4 + [False], [False] * 7 + [True]]
    energy = disc(dialogues)
    torch.testing.assert_close(energy, disc.autoencoder(tokens, reply))
    # More padding columns and more absent turns: the same energies.
    wider = F.pad(dialogues, (0, 3), value=PAD)
    wider = torch.cat([torch.full((2, 2, 7), PAD), wider], 1)
    torch.testing.assert_close(disc(wider), energy)
    # Another reply to the same context: another energy.
    other = dialogues.clone()
    other[0, 2] = torch.tensor([9, 9, 9, EOS])
    assert not torch.isclose(disc(other)[0], energy[0])
