"""SeqGAN and its baselines (MLE, scheduled sampling, PG-BLEU): hand-checked rewards and losses,
the rollout network's delay, learning on a small random oracle, and the trainer file."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from lhyrl.agents import (
    MLE,
    PGBLEU,
    BLEUReward,
    SamplingSchedule,
    ScheduledSampling,
    SeqGAN,
    monte_carlo_rewards,
    policy_gradient_loss,
    update_rollout_network,
)
from lhyrl.metrics import bleu, nll_oracle
from lhyrl.nn import CNNDiscriminatorConfig, RecurrentConfig, SequenceGenerator, random_oracle

torch.set_num_threads(1)

TINY_DISC = CNNDiscriminatorConfig(
    vocab_size=3, embedding_dim=4, filter_sizes=(1, 2), num_filters=(3, 3), dropout=0.0
)


class CountTwos(nn.Module):
    """A fake discriminator: P(real) = (number of token 2 in the sequence) / T."""

    def forward(self, tokens: Tensor) -> Tensor:
        p = (tokens == 2).float().mean(1).clamp(1e-6, 1 - 1e-6)  # (B,)
        return torch.log(p / (1 - p))  # logits


def always_token_zero(vocab_size: int) -> SequenceGenerator:
    """A generator that samples token 0 with probability ~1 whatever the prefix."""
    model = SequenceGenerator(RecurrentConfig(vocab_size=vocab_size, embedding_dim=4, hidden_dim=4))
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.fill_(-50.0)
        model.out.bias[0] = 50.0
    return model


def test_monte_carlo_rewards_hand_checked() -> None:
    # T = 3, N = 2, B = 2: probs[t - 1, n, b].
    probs = torch.tensor([[[0.2, 0.6], [0.4, 1.0]], [[0.1, 0.3], [0.5, 0.7]]])
    final = torch.tensor([0.9, 0.05])
    expected = torch.tensor([[0.3, 0.3, 0.9], [0.8, 0.5, 0.05]])
    torch.testing.assert_close(monte_carlo_rewards(probs, final), expected)


def test_policy_gradient_loss_value_and_gradient() -> None:
    logits = torch.zeros(2, 3, requires_grad=True)
    log_probs = torch.log(torch.sigmoid(logits))  # all log(0.5)
    rewards = torch.tensor([[1.0, 0.0, 0.5], [0.25, 0.25, 0.0]])
    loss = policy_gradient_loss(log_probs, rewards)
    assert loss.item() == pytest.approx(-math.log(0.5) * 2.0 / 6)
    loss.backward()
    # d/dlogit of -log sigmoid(z) * r / 6 at z = 0 is -r * 0.5 / 6: larger reward, more push.
    torch.testing.assert_close(logits.grad, -rewards * 0.5 / 6)
    assert policy_gradient_loss(log_probs, rewards.requires_grad_()).requires_grad


def test_seqgan_rewards_with_controlled_discriminator_v3_t3_n2() -> None:
    trainer = SeqGAN(vocab_size=3, seq_len=3, n_rollouts=2, discriminator_config=TINY_DISC, seed=0)
    trainer.discriminator = CountTwos()
    trainer.rollout = always_token_zero(3)  # completions append zeros
    sequences = torch.tensor([[2, 1, 2], [2, 2, 0], [0, 1, 1]])
    rewards = trainer.rewards(sequences)  # (B, T)
    # Prefix [2] -> [2,0,0]: 1/3; [2,1] -> [2,1,0]: 1/3; whole [2,1,2]: 2/3; and so on.
    expected = torch.tensor([[1 / 3, 1 / 3, 2 / 3], [1 / 3, 2 / 3, 2 / 3], [1e-6, 1e-6, 1e-6]])
    torch.testing.assert_close(rewards, expected, atol=1e-5, rtol=0)


def test_rollout_network_follows_the_generator_with_delay() -> None:
    config = RecurrentConfig(vocab_size=5, embedding_dim=3, hidden_dim=4)
    torch.manual_seed(0)
    rollout, generator = SequenceGenerator(config), SequenceGenerator(config)
    before = {k: v.clone() for k, v in rollout.state_dict().items()}
    update_rollout_network(rollout, generator, 0.8)
    for key, value in rollout.state_dict().items():
        torch.testing.assert_close(value, 0.8 * before[key] + 0.2 * generator.state_dict()[key])
    update_rollout_network(rollout, generator, 0.0)  # no delay: an exact copy
    for key, value in rollout.state_dict().items():
        torch.testing.assert_close(value, generator.state_dict()[key])


def test_seqgan_adversarial_epoch_keeps_the_rollout_network_delayed() -> None:
    oracle = random_oracle(3, 4, 4, seed=1)
    data = oracle.sample(128, 5, start_token=0, generator=torch.Generator().manual_seed(0))
    trainer = SeqGAN(
        vocab_size=3, seq_len=5, n_rollouts=2, discriminator_config=TINY_DISC, oracle=oracle,
        discriminator_rounds=1, discriminator_epochs=1, discriminator_samples=64, seed=0,
    )  # fmt: skip
    start = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    trainer.train(data, adversarial_epochs=1, pretrain_discriminator_rounds=1, eval_every=1)
    gen = trainer.generator.state_dict()
    for key, value in trainer.rollout.state_dict().items():
        torch.testing.assert_close(value, 0.8 * start[key] + 0.2 * gen[key])


def test_mle_beats_random_generator_on_random_oracle() -> None:
    oracle = random_oracle(100, 32, 32, seed=0)
    data = oracle.sample(2048, 10, start_token=0, generator=torch.Generator().manual_seed(1))
    trainer = MLE(vocab_size=100, seq_len=10, oracle=oracle, eval_samples=1024, seed=0)
    untrained = trainer.evaluate(log=False)["nll_oracle"]
    trainer.train(data, n_epochs=8, eval_every=0)
    trained = trainer.evaluate(log=False)["nll_oracle"]
    own = nll_oracle(oracle, data)  # the oracle's own samples: the floor
    assert trained < untrained - 0.5 * (untrained - own), (untrained, trained, own)


def test_sampling_schedule_linear_and_inverse_sigmoid() -> None:
    linear = SamplingSchedule(kind="linear", max_probability=0.4, ramp_epochs=10)
    assert [linear(e) for e in (0, 5, 10, 50)] == pytest.approx([0.0, 0.2, 0.4, 0.4])
    sigmoid = SamplingSchedule(kind="inverse_sigmoid", max_probability=1.0, ramp_epochs=5)
    values = [sigmoid(e) for e in range(0, 60, 5)]
    assert values[0] == pytest.approx(1 / 6)  # 1 - k / (k + 1)
    assert values[2] == pytest.approx(1 - 5 / (5 + math.exp(2)))
    assert all(a < b for a, b in itertools.pairwise(values)) and values[-1] > 0.99
    capped = SamplingSchedule(kind="inverse_sigmoid", max_probability=0.3, ramp_epochs=5)
    assert capped(100) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        SamplingSchedule(kind="exponential")  # type: ignore[arg-type]


def test_scheduled_sampling_at_probability_zero_is_teacher_forcing() -> None:
    trainer = ScheduledSampling(vocab_size=7, seq_len=5, seed=0)
    batch = torch.randint(0, 7, (4, 5), generator=torch.Generator().manual_seed(0))
    teacher = -trainer.generator.log_prob(batch, 0).mean()
    torch.testing.assert_close(trainer.scheduled_loss(batch, 0.0), teacher)
    assert trainer.scheduled_loss(batch, 1.0).item() != pytest.approx(teacher.item())


def test_bleu_reward_matches_nltk_sentence_bleu() -> None:
    g = torch.Generator().manual_seed(0)
    references = torch.randint(0, 6, (30, 8), generator=g)
    candidates = torch.randint(0, 6, (6, 8), generator=g)
    candidates[0] = references[3]
    fast = BLEUReward(references, vocab_size=6, n=4)(candidates)
    slow = torch.tensor([bleu(c[None], references, 4) for c in candidates])
    torch.testing.assert_close(fast, slow.to(fast.dtype))
    assert fast[0].item() == pytest.approx(1.0)


def test_pg_bleu_raises_the_bleu_of_its_samples() -> None:
    references = torch.tensor([[1, 2, 3, 4, 0, 1]]).repeat(64, 1)
    trainer = PGBLEU(
        vocab_size=6, seq_len=6, bleu_order=2, generator_steps=40, learning_rate=0.05, seed=0
    )
    reward = BLEUReward(references, vocab_size=6, n=2)
    before = reward(trainer.sample(512)).mean().item()
    trainer.train(references, n_epochs=1, eval_every=0)
    after = reward(trainer.sample(512)).mean().item()
    assert after > before + 0.2, (before, after)


def test_save_load_round_trip(tmp_path: Path) -> None:
    oracle = random_oracle(3, 4, 4, seed=1)
    data = oracle.sample(128, 5, start_token=0, generator=torch.Generator().manual_seed(0))
    kwargs = {"discriminator_rounds": 1, "discriminator_epochs": 1, "discriminator_samples": 64}
    trainer = SeqGAN(
        vocab_size=3, seq_len=5, n_rollouts=2, discriminator_config=TINY_DISC, seed=3, **kwargs
    )
    trainer.train(data, adversarial_epochs=1, pretrain_generator_epochs=1, eval_every=0)
    path = trainer.save(tmp_path / "seqgan.pt")
    loaded = SeqGAN.load(path)
    assert loaded.num_updates == trainer.num_updates and loaded.num_epochs == 2
    for name, module in trainer._modules().items():
        for key, value in module.state_dict().items():
            torch.testing.assert_close(loaded._modules()[name].state_dict()[key], value)
    torch.testing.assert_close(loaded.sample(8), trainer.sample(8))  # the RNG state too
    with pytest.raises(ValueError, match="holds a SeqGAN trainer"):
        MLE.load(path)


def test_mle_step_decay_lowers_the_learning_rate_for_the_last_epochs() -> None:
    data = torch.randint(0, 5, (64, 4), generator=torch.Generator().manual_seed(0))
    trainer = MLE(vocab_size=5, seq_len=4, learning_rate=0.02, seed=0)
    rates = []
    original = trainer.mle_epoch

    def spy(batch: Tensor) -> float:
        rates.append(trainer.optimizer.param_groups[0]["lr"])
        return original(batch)

    trainer.mle_epoch = spy  # type: ignore[method-assign]
    trainer.train(data, n_epochs=3, decay_epochs=1, decay_factor=0.5, eval_every=0)
    assert rates == pytest.approx([0.02, 0.02, 0.01])
    with pytest.raises(ValueError, match="decay_epochs"):
        trainer.train(data, n_epochs=1, decay_epochs=2)
