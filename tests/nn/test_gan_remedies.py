"""The discriminator remedies and the ensemble that applies them, each on a case with a known
answer: spectral norms of 1, noise of the set std, replay in the set ratio, bootstrap batches,
min <= mean rewards, WGAN-GP's penalty on vectors and on token embeddings."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from lhyrl.nn.dialogue import DialogueAutoEncoderDiscriminator
from lhyrl.nn.gan import (
    CNNDiscriminator,
    CNNDiscriminatorConfig,
    DiscriminatorEnsemble,
    DiscriminatorRemedies,
    EmbeddingTap,
    MLPAutoEncoderConfig,
    MLPAutoEncoderDiscriminator,
    SampleReplay,
    SequenceAutoEncoderConfig,
    SequenceAutoEncoderDiscriminator,
    apply_spectral_norm,
    make_objective,
)

torch.set_num_threads(1)


def _ensemble(
    members: list[nn.Module], objective: str = "bce", seed: int = 0, **remedies: object
) -> DiscriminatorEnsemble:
    settings = DiscriminatorRemedies(ensemble_size=len(members), **remedies)  # type: ignore[arg-type]
    return DiscriminatorEnsemble(
        members,
        objective=make_objective(objective, **settings.objective_kwargs()),
        remedies=settings,
        generator=torch.Generator().manual_seed(seed),
        inputs="vectors",
        learning_rate=1e-2,
    )


class Recorder(nn.Module):
    """A linear discriminator that keeps every batch it scores."""

    def __init__(self, dim: int = 3) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 1)
        self.seen: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append(x.detach().clone())
        return self.linear(x).squeeze(-1)


class EmbeddingCritic(nn.Module):
    """``D(tokens) = sum_t w . e(token_t)``: its gradient with respect to a sequence's
    embeddings is ``w`` at every position, of norm ``sqrt(T) * ||w||``."""

    def __init__(self, w: Tensor) -> None:
        super().__init__()
        self.embedding = nn.Embedding(5, len(w))
        self.w = nn.Parameter(w.clone())

    def forward(self, tokens: Tensor) -> Tensor:
        return (self.embedding(tokens) @ self.w).sum(1)  # (B,)


# --- spectral normalisation ------------------------------------------------------------------


def test_spectral_norm_makes_every_linear_and_convolution_layer_of_norm_one() -> None:
    torch.manual_seed(0)
    config = CNNDiscriminatorConfig(
        vocab_size=7, embedding_dim=6, filter_sizes=(1, 3), num_filters=(4, 5)
    )
    disc = apply_spectral_norm(CNNDiscriminator(config))
    apply_spectral_norm(disc)  # a second call wraps nothing twice
    layers = [m for m in disc.modules() if isinstance(m, nn.Linear | nn.Conv1d)]
    assert len(layers) == 5  # two convolutions, the highway's two layers, the head
    with torch.no_grad():
        disc.embedding.weight.mul_(10.0)
        for _ in range(30):  # power iterations run in training-mode forward passes
            disc(torch.randint(0, 7, (8, 4)))
    disc.eval()
    for layer in layers:
        weight = layer.weight.detach().flatten(1)  # (out, in * kernel) for convolutions
        assert torch.linalg.matrix_norm(weight, ord=2).item() == pytest.approx(1.0, abs=1e-3)
        assert len(layer.parametrizations.weight) == 1
    # The embedding is not a layer it touches: its norm is whatever it was.
    assert torch.linalg.matrix_norm(disc.embedding.weight.detach(), ord=2).item() > 2.0


# --- input noise -----------------------------------------------------------------------------


def test_vector_input_noise_has_the_set_std_scaled_by_the_decay() -> None:
    member = Recorder(dim=64)
    ensemble = _ensemble([member], input_noise=0.5)
    real, fake = torch.zeros(256, 64), torch.ones(256, 64)
    stats = ensemble.update(real, fake, noise_scale=0.4)
    noisy_real, noisy_fake = member.seen
    assert stats["input_noise"] == pytest.approx(0.2)
    for noisy, clean in ((noisy_real, real), (noisy_fake, fake)):
        perturbation = noisy - clean
        assert perturbation.std().item() == pytest.approx(0.2, rel=0.02)
        assert abs(perturbation.mean().item()) < 0.005
    assert not torch.equal(noisy_real - real, noisy_fake - fake)  # fresh noise each batch


def test_token_input_noise_goes_on_the_embeddings_with_the_set_std() -> None:
    disc = SequenceAutoEncoderDiscriminator(
        SequenceAutoEncoderConfig(vocab_size=9, embedding_dim=32)
    )
    tokens = torch.randint(0, 9, (128, 10))
    clean = disc.embedding(tokens).detach()
    generator = torch.Generator().manual_seed(0)
    with EmbeddingTap(disc, noise=0.3, generator=generator, record=True) as tap:
        disc(tokens)
        (noisy,) = tap.take()
    perturbation = noisy.detach() - clean
    assert perturbation.std().item() == pytest.approx(0.3, rel=0.02)
    assert disc.embedding._forward_hooks == {}  # the tap is gone after the block
    torch.testing.assert_close(disc.embedding(tokens), clean)
    with pytest.raises(ValueError, match=r"has no nn\.Embedding"):
        EmbeddingTap(nn.Linear(2, 1))


# --- replay ----------------------------------------------------------------------------------


def test_replay_still_yields_old_samples_in_the_set_ratio_after_the_generator_moves() -> None:
    replay = SampleReplay(capacity=500, ratio=0.25, generator=torch.Generator().manual_seed(0))
    fresh = torch.full((64, 5), 2)
    assert torch.equal(replay.mix(fresh)[0], fresh)  # nothing to replay yet
    replay.add(torch.full((300, 5), 1))  # the old generator's samples
    mixed = replay.mix(fresh)[0]  # the generator has moved on: its samples are all 2s
    assert mixed.shape == (64, 5)
    assert (mixed[:, 0] == 1).sum() == 16 == replay.replayed_count(64)  # round(0.25 * 64)
    assert torch.equal(mixed[:48], fresh[:48]) and torch.all(mixed[48:] == 1)


def test_replay_is_a_uniform_reservoir_of_everything_it_was_offered() -> None:
    replay = SampleReplay(capacity=1000, ratio=0.5, generator=torch.Generator().manual_seed(1))
    for batch in range(20):  # 20 "rounds" of 1000 samples, tagged by their round
        replay.add(torch.full((1000, 1), batch), torch.arange(1000)[:, None])
    assert len(replay) == 1000 and replay.seen == 20_000
    rounds = torch.bincount(replay.columns[0][:, 0], minlength=20)
    # Each round keeps about 1000 / 20 = 50 samples (binomial sd about 7): the first round's
    # as many as the last's; a FIFO would hold the last round only.
    assert rounds.min() >= 25 and rounds.max() <= 80, rounds.tolist()
    assert len(set(zip(*(c[:, 0].tolist() for c in replay.columns), strict=True))) == 1000


def test_replay_pads_items_of_other_shapes_and_round_trips_its_state() -> None:
    generator = torch.Generator().manual_seed(2)
    replay = SampleReplay(capacity=8, ratio=0.5, generator=generator, pad_value=0)
    replay.add(torch.full((3, 2, 4), 7))  # dialogues of 2 turns of 4 tokens
    replay.add(torch.full((3, 3, 2), 8))  # then of 3 turns of 2 tokens
    assert replay.columns[0].shape == (8, 3, 4)
    assert torch.all(replay.columns[0][:3, 2] == 0) and torch.all(
        replay.columns[0][3:6, :, 2:] == 0
    )
    mixed = replay.mix(torch.full((4, 1, 5), 9))[0]
    assert (
        mixed.shape == (4, 3, 5) and torch.all(mixed[:2, 0] == 9) and torch.all(mixed[:2, 1:] == 0)
    )
    copy = SampleReplay(capacity=8, ratio=0.5, generator=torch.Generator(), pad_value=0)
    copy.load_state_dict(replay.state_dict())
    copy.generator.set_state(generator.get_state())
    assert (len(copy), copy.seen) == (6, 6)
    for a, b in zip(copy.sample(5), replay.sample(5), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="give a pad_value"):
        unpadded = SampleReplay(capacity=4, ratio=0.5, generator=torch.Generator())
        unpadded.add(torch.zeros(2, 3))
        unpadded.add(torch.zeros(2, 4))


# --- ensembles -------------------------------------------------------------------------------


def test_ensemble_members_train_on_their_own_bootstrap_batches() -> None:
    members = [Recorder() for _ in range(3)]
    ensemble = _ensemble(members)
    real = torch.arange(30.0).view(10, 3)
    fake = -torch.arange(30.0).view(10, 3)
    ensemble.update(real, fake)
    rows = {tuple(row.tolist()) for row in real}
    batches = [member.seen[0] for member in members]  # each member's real batch
    for batch in batches:
        assert batch.shape == real.shape
        assert {tuple(row.tolist()) for row in batch} <= rows  # rows of the batch...
        assert len({tuple(row.tolist()) for row in batch}) < 10  # ...with repeats
    assert not torch.equal(batches[0], batches[1]) and not torch.equal(batches[1], batches[2])
    single = Recorder()
    _ensemble([single]).update(real, fake)
    assert torch.equal(single.seen[0], real)  # one discriminator: no resampling


def test_min_reward_is_at_most_the_mean_reward_of_the_same_ensemble() -> None:
    torch.manual_seed(0)
    members = [Recorder() for _ in range(4)]
    means = _ensemble(members, ensemble_reward="mean")
    mins = _ensemble(members, ensemble_reward="min")
    x = torch.randn(50, 3)
    per_member = torch.stack([torch.nn.functional.softplus(m(x)) for m in members]).detach()
    torch.testing.assert_close(means.reward(x), per_member.mean(0))
    torch.testing.assert_close(mins.reward(x), per_member.amin(0))
    assert torch.all(mins.reward(x) <= means.reward(x))
    assert torch.any(mins.reward(x) < means.reward(x) - 1e-3)


def test_members_of_another_output_kind_are_refused() -> None:
    autoencoder = MLPAutoEncoderDiscriminator(MLPAutoEncoderConfig(input_dim=3))
    with pytest.raises(ValueError, match="the bce objective reads logits, but"):
        _ensemble([autoencoder])
    with pytest.raises(ValueError, match="ebgan and magan need an auto-encoder"):
        _ensemble([Recorder()], objective="ebgan")
    with pytest.raises(ValueError, match="ensemble_size=1 but 2"):
        DiscriminatorEnsemble(
            [Recorder(), Recorder()],
            objective=make_objective("bce"),
            remedies=DiscriminatorRemedies(),
            generator=torch.Generator(),
            inputs="vectors",
            learning_rate=1e-3,
        )


# --- gradient penalties ------------------------------------------------------------------------


@pytest.mark.parametrize("norm", [1.0, 3.0])
def test_wgan_gp_penalty_on_vectors_is_the_squared_gap_of_a_linear_critics_norm(
    norm: float,
) -> None:
    member = Recorder(dim=5)
    with torch.no_grad():
        member.linear.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0, 0.0]]) * norm / 5.0)
    ensemble = _ensemble([member], objective="wgan-gp")
    stats = ensemble.update(torch.randn(8, 5), torch.randn(8, 5))
    assert stats["grad_penalty"] == pytest.approx((norm - 1.0) ** 2, abs=1e-6)


def test_wgan_gp_penalty_on_tokens_is_taken_at_each_sequences_embeddings() -> None:
    w = torch.tensor([0.6, 0.8, 0.0])  # ||w|| = 1; a sequence of T tokens has norm sqrt(T)
    critic = EmbeddingCritic(w)
    settings = DiscriminatorRemedies(grad_penalty=2.0)
    ensemble = DiscriminatorEnsemble(
        [critic],
        objective=make_objective("wgan-gp", **settings.objective_kwargs()),
        remedies=settings,
        generator=torch.Generator().manual_seed(0),
        inputs="tokens",
        learning_rate=0.0,
    )
    real, fake = torch.randint(0, 5, (6, 4)), torch.randint(0, 5, (6, 9))
    stats = ensemble.update(real, fake)
    expected = 0.5 * ((2.0 - 1.0) ** 2 + (3.0 - 1.0) ** 2)  # T = 4 and T = 9
    assert stats["grad_penalty"] == pytest.approx(expected, rel=1e-5)
    critic_loss = (critic(fake).mean() - critic(real).mean()).item()
    assert stats["loss"] == pytest.approx(critic_loss + 2.0 * expected, rel=1e-5)
    assert critic.w.grad is not None and critic.embedding.weight.grad is not None  # it trains


def test_token_penalties_and_noise_run_through_recurrent_and_dialogue_autoencoders() -> None:
    torch.manual_seed(0)
    config = SequenceAutoEncoderConfig(
        vocab_size=12, embedding_dim=8, hidden_dim=8, code_dim=4, pad_id=0, eos_id=2
    )
    for member in (
        SequenceAutoEncoderDiscriminator(config),
        DialogueAutoEncoderDiscriminator(config),
    ):
        settings = DiscriminatorRemedies(grad_penalty=1.0, input_noise=0.1)
        ensemble = DiscriminatorEnsemble(
            [member],
            objective=make_objective("ebgan", **settings.objective_kwargs()),
            remedies=settings,
            generator=torch.Generator().manual_seed(0),
            inputs="tokens",
            learning_rate=1e-3,
        )
        shape = (4, 6) if isinstance(member, SequenceAutoEncoderDiscriminator) else (4, 2, 5)
        stats = ensemble.update(torch.randint(3, 12, shape), torch.randint(3, 12, shape))
        assert math.isfinite(stats["loss"]) and stats["grad_penalty"] > 0
        assert stats["input_noise"] == pytest.approx(0.1)
