"""The registry of discriminator objectives: hand-checked losses and rewards of each objective,
the known optimum under label smoothing, EBGAN's margin and MAGAN's margin adaptation."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch
from torch import Tensor

from lhyrl.nn.gan import (
    MAGAN,
    OBJECTIVES,
    DiscriminatorObjective,
    canonical_objective_name,
    make_objective,
    objective_names,
    register_objective,
)
from lhyrl.nn.gan import objectives as objectives_module

torch.set_num_threads(1)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


REAL = torch.tensor([0.0, 2.0])
FAKE = torch.tensor([-1.0, 0.5])


def test_the_registry_names_every_objective_and_builds_each_by_name() -> None:
    assert objective_names() == ("bce", "lsgan", "wgan-gp", "hinge", "ebgan", "magan")
    assert "wgan" in objective_names(aliases=True)
    for name in objective_names(aliases=True):
        objective = make_objective(name)
        assert objective.name == canonical_objective_name(name)
    wgan = make_objective("wgan")  # the old name: WGAN-GP, with the paper's penalty weight
    assert wgan.name == "wgan-gp" and wgan.penalty_weight == 10.0
    assert make_objective("wgan-gp", grad_penalty=0.0).penalty_weight == 0.0
    assert make_objective("bce").penalty_weight == 0.0
    assert [n for n in objective_names() if OBJECTIVES[n].needs_energy] == ["ebgan", "magan"]


def test_unknown_names_and_arguments_get_errors_that_list_the_valid_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"'hinge-ish': disc_loss must be one of bce, lsgan, wgan-gp, hinge, ebgan, magan",
    ):
        make_objective("hinge-ish")
    with pytest.raises(ValueError, match=r"takes no argument\(s\) \['margin'\].*label_smoothing"):
        make_objective("bce", margin=1.0)
    with pytest.raises(ValueError, match="reward must be softplus, probability or logit"):
        make_objective("bce", reward="exp")
    with pytest.raises(ValueError, match="grad_penalty must be >= 0"):
        make_objective("wgan-gp", grad_penalty=-1.0)
    with pytest.raises(ValueError, match="margin must be positive"):
        make_objective("ebgan", margin=0.0)
    with pytest.raises(ValueError, match="ebgan needs a margin"):
        make_objective("ebgan", margin=None)


@pytest.mark.parametrize("name", ["wgan-gp", "hinge", "ebgan", "magan"])
def test_label_smoothing_is_refused_without_labels(name: str) -> None:
    with pytest.raises(ValueError, match=rf"\(bce, lsgan\); '{name}' has no labels"):
        make_objective(name, label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"label_smoothing must lie in \[0, 0.5\)"):
        make_objective("bce", label_smoothing=0.5)


@pytest.fixture
def registry() -> Iterator[None]:
    """Leaves the registry as it found it."""
    saved, aliases = dict(OBJECTIVES), dict(objectives_module._ALIASES)
    yield
    OBJECTIVES.clear()
    OBJECTIVES.update(saved)
    objectives_module._ALIASES.clear()
    objectives_module._ALIASES.update(aliases)


def test_an_objective_registered_in_one_place_is_built_by_name(registry: None) -> None:
    @register_objective("least-absolute", aliases=("lad",))
    @dataclass(kw_only=True)
    class LeastAbsolute(DiscriminatorObjective):
        has_labels = True
        scale: float = 1.0

        def discriminator_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
            target = 1.0 - self.label_smoothing
            return self.scale * ((real_out - target).abs().mean() + fake_out.abs().mean())

        def generator_reward(self, out: Tensor) -> Tensor:
            return -(out - 1.0).abs()

        def generator_loss(self, fake_out: Tensor) -> Tensor:
            return (fake_out - 1.0).abs().mean()

    objective = make_objective("lad", scale=2.0, label_smoothing=0.25)
    assert isinstance(objective, LeastAbsolute) and "least-absolute" in objective_names()
    # 2 * (mean(|[0, 2] - 0.75|) + mean(|[-1, 0.5]|)) = 2 * (1.0 + 0.75)
    assert objective.discriminator_loss(REAL, FAKE).item() == pytest.approx(3.5)
    with pytest.raises(ValueError, match="registered already"):
        register_objective("bce")(LeastAbsolute)


def test_bce_loss_rewards_and_generator_loss_equal_hand_computed_values() -> None:
    bce = make_objective("bce")
    expected = (softplus(0.0) + softplus(-2.0)) / 2 + (softplus(-1.0) + softplus(0.5)) / 2
    assert bce.discriminator_loss(REAL, FAKE).item() == pytest.approx(expected)
    assert bce.generator_loss(FAKE).item() == pytest.approx((softplus(1.0) + softplus(-0.5)) / 2)
    logits = torch.tensor([-3.0, 0.0, 3.0])
    # GAIL's -log(1 - D) = softplus(logit); SeqGAN's / REGS's D; AIRL's log D - log(1 - D).
    expectations = {
        "softplus": [softplus(-3.0), math.log(2.0), softplus(3.0)],
        "probability": [sigmoid(-3.0), 0.5, sigmoid(3.0)],
        "logit": [-3.0, 0.0, 3.0],
    }
    for reward, values in expectations.items():
        rewards = make_objective("bce", reward=reward).generator_reward(logits)
        torch.testing.assert_close(rewards, torch.tensor(values))
        assert torch.all(rewards.diff() > 0)  # more real-like, more reward
    assert bce.says_real(logits).tolist() == [False, False, True]


def test_lsgan_wgan_gp_and_hinge_equal_hand_computed_values() -> None:
    lsgan, wgan, hinge = (make_objective(n) for n in ("lsgan", "wgan-gp", "hinge"))
    # LSGAN: 0.5 * mean([1, 1]) + 0.5 * mean([1, 0.25]); smoothed target 0.8: (0.64 + 1.44) / 2
    assert lsgan.discriminator_loss(REAL, FAKE).item() == pytest.approx(0.5 + 0.3125)
    smoothed = make_objective("lsgan", label_smoothing=0.2)
    assert smoothed.discriminator_loss(REAL, FAKE).item() == pytest.approx(0.5 * 1.04 + 0.3125)
    assert lsgan.generator_loss(FAKE).item() == pytest.approx(0.5 * (4.0 + 0.25) / 2)
    assert lsgan.says_real(torch.tensor([0.4, 0.6])).tolist() == [False, True]
    # WGAN: mean(fake) - mean(real) = -0.25 - 1; the penalty is added by the ensemble.
    assert wgan.discriminator_loss(REAL, FAKE).item() == pytest.approx(-1.25)
    assert wgan.generator_loss(FAKE).item() == pytest.approx(0.25)
    # Hinge: mean(relu(1 - [0, 2])) + mean(relu(1 + [-1, 0.5])) = 0.5 + 0.75
    assert hinge.discriminator_loss(REAL, FAKE).item() == pytest.approx(1.25)
    assert hinge.generator_loss(FAKE).item() == pytest.approx(0.25)
    scores = torch.tensor([-2.0, 0.0, 1.5])
    for objective in (lsgan, wgan, hinge):
        torch.testing.assert_close(objective.generator_reward(scores), scores)


@pytest.mark.parametrize(("name", "optimum"), [("bce", "logit"), ("lsgan", "output")])
@pytest.mark.parametrize("smoothing", [0.1, 0.25])
def test_one_sided_label_smoothing_moves_the_optimal_real_output_to_the_known_value(
    name: str, optimum: str, smoothing: float
) -> None:
    """BCE's real term ``(1 - s) softplus(-x) + s softplus(x)`` is least at
    ``x = log((1 - s) / s)``; LSGAN's ``0.5 (x - (1 - s))^2`` at ``x = 1 - s``. Gradient
    descent on a free real output finds them; the fake term does not move them."""
    objective = make_objective(name, label_smoothing=smoothing)
    expected = math.log((1 - smoothing) / smoothing) if optimum == "logit" else 1 - smoothing
    x = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=0.5 if name == "bce" else 0.2)
    for _ in range(2000):
        loss = objective.discriminator_loss(x, torch.tensor([-1.0, 0.3]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert x.item() == pytest.approx(expected, abs=1e-3)
    # Unsmoothed, the optimum runs away (BCE) or sits at the label 1 (LSGAN).
    plain = make_objective(name)
    at = torch.tensor([expected], requires_grad=True)
    plain.discriminator_loss(at, torch.tensor([-1.0])).backward()
    assert at.grad is not None and at.grad.item() < -1e-3


def test_ebgan_fakes_above_the_margin_contribute_nothing() -> None:
    ebgan = make_objective("ebgan", margin=2.0)
    assert ebgan.needs_energy and ebgan.output_kind == "energy"
    real = torch.tensor([0.5, 1.5])
    fake = torch.tensor([1.0, 3.0], requires_grad=True)  # below and above m = 2
    loss = ebgan.discriminator_loss(real, fake)
    # mean([0.5, 1.5]) + mean([relu(2 - 1), relu(2 - 3)]) = 1 + 0.5
    assert loss.item() == pytest.approx(1.5)
    loss.backward()
    assert fake.grad is not None and fake.grad.tolist() == [-0.5, 0.0]
    far = torch.tensor([5.0, 9.0], requires_grad=True)
    far_loss = ebgan.discriminator_loss(real, far)
    assert far_loss.item() == pytest.approx(real.mean().item())
    far_loss.backward()
    assert far.grad is not None and torch.all(far.grad == 0)
    energies = torch.tensor([0.1, 0.9, 1.5])
    torch.testing.assert_close(ebgan.generator_reward(energies), -energies)
    assert torch.all(ebgan.generator_reward(energies).diff() < 0)  # low energy = real-like
    assert ebgan.generator_loss(energies).item() == pytest.approx(2.5 / 3)
    assert ebgan.says_real(energies).tolist() == [True, True, False]  # below m / 2


def _epoch(magan: MAGAN, real: list[float], fake: list[float]) -> None:
    magan.observe(torch.tensor(real), torch.tensor(fake))
    magan.end_epoch()


def test_magan_estimates_its_margin_then_shrinks_it_by_the_papers_rule() -> None:
    magan = make_objective("magan")
    assert isinstance(magan, MAGAN) and magan.margin is None
    # Before the margin is known the discriminator is an auto-encoder of the real data.
    real, fake = torch.tensor([0.5, 1.5]), torch.tensor([0.1, 9.0])
    assert magan.discriminator_loss(real, fake).item() == pytest.approx(1.0)
    _epoch(magan, [1.0, 3.0], [5.0, 7.0])
    assert magan.margin == pytest.approx(2.0)  # the first epoch's mean real energy
    assert magan.discriminator_loss(real, fake).item() == pytest.approx(1.0 + (1.9 + 0.0) / 2)
    # The first adversarial epoch never updates (the previous fake energy is +inf).
    _epoch(magan, [1.0], [4.0])
    assert magan.margin == pytest.approx(2.0)
    # Real 1.5 < m, real < fake, and the fake energy did not fall (4 -> 4.5): m <- 1.5.
    _epoch(magan, [1.5], [4.5])
    assert magan.margin == pytest.approx(1.5)
    # The fake energy fell (4.5 -> 3): no update, though real 1.0 < m.
    _epoch(magan, [1.0], [3.0])
    assert magan.margin == pytest.approx(1.5)
    # Real above the margin: no update.
    _epoch(magan, [1.8], [3.5])
    assert magan.margin == pytest.approx(1.5)
    # Fakes below reals: no update.
    _epoch(magan, [1.2], [1.1])
    assert magan.margin == pytest.approx(1.5)
    assert magan.stats() == {"margin": 1.5}
    # The state round-trips, the running epoch's sums included.
    magan.observe(torch.tensor([0.2]), torch.tensor([5.0]))
    copy = make_objective("magan")
    copy.load_state_dict(magan.state_dict())
    for objective in (magan, copy):
        objective.end_epoch()
    assert copy.margin == magan.margin == pytest.approx(0.2)
    given = make_objective("magan", margin=3.0)  # a given margin skips the pretraining
    assert given.discriminator_loss(real, fake).item() == pytest.approx(1.0 + (2.9 + 0.0) / 2)


def test_magan_margin_never_increases() -> None:
    generator = torch.Generator().manual_seed(0)
    magan = make_objective("magan")
    margins = []
    for epoch in range(200):
        scale = 1.0 + 0.5 * math.sin(epoch / 7)  # energies that wander up and down
        real = torch.rand(16, generator=generator) * scale
        fake = torch.rand(16, generator=generator) * 2 * scale
        _epoch(magan, real.tolist(), fake.tolist())
        assert isinstance(magan, MAGAN) and magan.margin is not None
        margins.append(magan.margin)
    assert all(b <= a for a, b in itertools.pairwise(margins))
    assert margins[-1] < margins[0]  # and it did shrink
