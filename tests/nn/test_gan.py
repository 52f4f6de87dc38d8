from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lhyrl.nn import (
    CNNDiscriminator,
    CNNDiscriminatorConfig,
    MLPDiscriminator,
    MLPDiscriminatorConfig,
    RNNDiscriminator,
    RNNDiscriminatorConfig,
    bce_discriminator_loss,
    bce_generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    random_oracle,
    wgan_discriminator_loss,
    wgan_generator_loss,
)

torch.set_num_threads(1)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_discriminators_give_one_logit_per_item():
    torch.manual_seed(0)
    tokens = torch.randint(0, 100, (4, 20))
    cnn = CNNDiscriminator(CNNDiscriminatorConfig(vocab_size=100))  # SeqGAN's sizes for T = 20
    assert cnn(tokens).shape == (4,)
    for bidirectional in (True, False):
        config = RNNDiscriminatorConfig(vocab_size=100, num_layers=2, bidirectional=bidirectional)
        assert RNNDiscriminator(config)(tokens).shape == (4,)
    mlp = MLPDiscriminator(MLPDiscriminatorConfig(input_dim=7, spectral_norm=True))
    assert mlp(torch.randn(4, 7)).shape == (4,)


def test_cnn_discriminator_refuses_sequences_shorter_than_its_widest_filter():
    cnn = CNNDiscriminator(CNNDiscriminatorConfig(vocab_size=10))
    with pytest.raises(ValueError, match=r"shorter than the widest filter \(20\)"):
        cnn(torch.zeros(2, 10, dtype=torch.long))


def test_cnn_discriminator_config_refuses_mismatched_filter_lists():
    with pytest.raises(ValueError, match="same length"):
        CNNDiscriminatorConfig(vocab_size=10, filter_sizes=(1, 2), num_filters=(4,))


def test_cnn_discriminator_separates_oracle_samples_from_uniform_noise():
    torch.manual_seed(0)
    vocab, length, batch, steps = 50, 10, 64, 150
    oracle = random_oracle(vocab, 32, 32, seed=0)
    gen = torch.Generator().manual_seed(0)
    config = CNNDiscriminatorConfig(
        vocab_size=vocab,
        embedding_dim=32,
        filter_sizes=(1, 2, 3, 5),
        num_filters=(32, 32, 32, 32),
        dropout=0.25,
    )
    disc = CNNDiscriminator(config)
    optimizer = torch.optim.Adam(disc.parameters(), lr=1e-2)
    real_set = oracle.sample(batch * steps, length, start_token=0, generator=gen)
    for real in real_set.split(batch):
        fake = torch.randint(0, vocab, (batch, length), generator=gen)
        loss = bce_discriminator_loss(disc(real), disc(fake))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    disc.eval()
    with torch.no_grad():
        real = oracle.sample(512, length, start_token=0, generator=gen)
        fake = torch.randint(0, vocab, (512, length), generator=gen)
        accuracy = torch.cat([disc(real) > 0, disc(fake) < 0]).float().mean().item()
    assert accuracy > 0.9  # 0.97 here; the Bayes classifier scores 0.999


def test_bce_losses_equal_hand_computed_values():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.0])
    expected = (softplus(0.0) + softplus(-2.0)) / 2 + (softplus(-1.0) + softplus(0.0)) / 2
    assert bce_discriminator_loss(real, fake).item() == pytest.approx(expected)
    # Smoothed real label 0.9: -(0.9 log s(x) + 0.1 log(1 - s(x))) = 0.9 sp(-x) + 0.1 sp(x).
    smoothed = (0.9 * softplus(-0.0) + 0.1 * softplus(0.0)) / 2
    smoothed += (0.9 * softplus(-2.0) + 0.1 * softplus(2.0)) / 2
    smoothed += (softplus(-1.0) + softplus(0.0)) / 2
    assert bce_discriminator_loss(real, fake, 0.1).item() == pytest.approx(smoothed)
    assert bce_generator_loss(fake).item() == pytest.approx((softplus(1.0) + softplus(0.0)) / 2)


def test_lsgan_wgan_and_hinge_losses_equal_hand_computed_values():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.5])
    # LSGAN: 0.5 * mean((real - 1)^2) + 0.5 * mean(fake^2) = 0.5 * 1 + 0.5 * 0.625
    assert lsgan_discriminator_loss(real, fake).item() == pytest.approx(0.5 + 0.3125)
    assert lsgan_generator_loss(fake).item() == pytest.approx(0.5 * (4.0 + 0.25) / 2)
    assert wgan_discriminator_loss(real, fake).item() == pytest.approx(-0.25 - 1.0)
    assert wgan_generator_loss(fake).item() == pytest.approx(0.25)
    # Hinge: mean(relu(1 - [0, 2])) + mean(relu(1 + [-1, 0.5])) = 0.5 + 0.75
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(1.25)


@pytest.mark.parametrize(("weight_norm", "expected"), [(1.0, 0.0), (3.0, 4.0)])
def test_gradient_penalty_of_a_linear_critic_is_its_squared_norm_gap(weight_norm, expected):
    critic = nn.Linear(5, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.randn(1, 5))
        critic.weight.mul_(weight_norm / critic.weight.norm())
    real, fake = torch.randn(8, 5), torch.randn(8, 5)
    gen = torch.Generator().manual_seed(0)
    penalty = gradient_penalty(lambda x: critic(x).squeeze(-1), real, fake, generator=gen)
    assert penalty.item() == pytest.approx(expected, abs=1e-6)
    penalty.backward()  # differentiable with respect to the critic
    assert critic.weight.grad is not None
