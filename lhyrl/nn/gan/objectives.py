"""One registry of discriminator objectives: the GAN loss and the generator reward it implies.

An objective reads what the discriminator says of a batch, one output per item, and defines
from it

* the **discriminator's loss** (:meth:`DiscriminatorObjective.discriminator_loss`), given its
  outputs on real and on generated items;
* the **generator's reward** (:meth:`DiscriminatorObjective.generator_reward`), per item,
  higher = more like the real data: what GAIL, AIRL, SeqGAN and REGS hand to RL;
* the **generator's loss** (:meth:`DiscriminatorObjective.generator_loss`), for a generator
  trained by backpropagation through the discriminator.

The outputs are of one of two kinds (:data:`OUTPUT_KINDS`): logits or critic scores (high =
real) for most objectives, or energies (low = real; ``needs_energy``), the reconstruction error
of an auto-encoder discriminator (:mod:`lhyrl.nn.gan.energy`), for EBGAN and MAGAN.

======== ==================================================== =============================
name     discriminator loss                                   generator reward
======== ==================================================== =============================
bce      ``-log D(real) - log(1 - D(fake))``, D = sigmoid     ``-log(1 - D)`` (or D, logit)
lsgan    ``0.5 (out(real) - 1)^2 + 0.5 out(fake)^2``          the output
wgan-gp  ``out(fake) - out(real)`` + 10 x gradient penalty    the output
hinge    ``relu(1 - out(real)) + relu(1 + out(fake))``        the output
ebgan    ``E(real) + relu(m - E(fake))``                      ``-E``
magan    EBGAN's, margin m adapted (see :class:`MAGAN`)       ``-E``
======== ==================================================== =============================

(each term a mean over the batch). Adding an objective means writing one class here under
:func:`register_objective`; :func:`make_objective` builds one by name, and the trainers'
``disc_loss`` takes the names of :func:`objective_names`. ``"wgan"`` is an alias of
``"wgan-gp"``.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from lhyrl.nn.gan.losses import (
    bce_discriminator_loss,
    bce_generator_loss,
    hinge_discriminator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    wgan_discriminator_loss,
    wgan_generator_loss,
)

__all__ = [
    "BCE",
    "EBGAN",
    "LSGAN",
    "MAGAN",
    "OBJECTIVES",
    "OUTPUT_KINDS",
    "WGANGP",
    "DiscriminatorObjective",
    "Hinge",
    "canonical_objective_name",
    "make_objective",
    "objective_names",
    "register_objective",
]

OUTPUT_KINDS = ("logit", "energy")
"""What a discriminator outputs per item: ``"logit"`` (a logit or critic score, high = real) or
``"energy"`` (an auto-encoder's reconstruction error, low = real). A discriminator module says
which by a class attribute ``output_kind`` (no attribute: ``"logit"``)."""

OBJECTIVES: dict[str, type[DiscriminatorObjective]] = {}
"""Every registered objective class, by name."""

_ALIASES: dict[str, str] = {}

ObjectiveT = TypeVar("ObjectiveT", bound="type[DiscriminatorObjective]")


@dataclass(kw_only=True)
class DiscriminatorObjective(abc.ABC):
    """Base of the objectives: a discriminator loss and a generator reward from its outputs.

    Attributes:
        grad_penalty: Weight of a gradient penalty on the discriminator's inputs (WGAN-GP's,
            see :class:`lhyrl.nn.gan.ensemble.DiscriminatorEnsemble`); ``None`` takes the
            objective's :attr:`default_grad_penalty`.
        label_smoothing: One-sided label smoothing: the real items' target becomes
            ``1 - label_smoothing`` (objectives with labels only, :attr:`has_labels`).
    """

    name: ClassVar[str] = ""
    """The registered name (set by :func:`register_objective`)."""
    needs_energy: ClassVar[bool] = False
    """The discriminator must output energies (an auto-encoder), not logits."""
    has_labels: ClassVar[bool] = False
    """The loss regresses outputs onto real/fake labels, so label smoothing applies."""
    default_grad_penalty: ClassVar[float] = 0.0
    """The gradient penalty weight when ``grad_penalty`` is ``None``."""

    grad_penalty: float | None = None
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if self.grad_penalty is None:
            self.grad_penalty = self.default_grad_penalty
        if not (self.grad_penalty >= 0 and math.isfinite(self.grad_penalty)):
            raise ValueError(f"grad_penalty must be >= 0, got {self.grad_penalty}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must lie in [0, 0.5), got {self.label_smoothing}")
        if self.label_smoothing > 0 and not self.has_labels:
            with_labels = [n for n, cls in OBJECTIVES.items() if cls.has_labels]
            raise ValueError(
                f"label_smoothing smooths the real label of objectives with real/fake labels "
                f"({', '.join(with_labels)}); {self.name!r} has no labels, so it cannot be "
                "smoothed"
            )

    @property
    def output_kind(self) -> str:
        """The kind of discriminator output this objective reads (see :data:`OUTPUT_KINDS`)."""
        return "energy" if self.needs_energy else "logit"

    @property
    def penalty_weight(self) -> float:
        """The gradient penalty weight in use (``grad_penalty`` resolved)."""
        assert self.grad_penalty is not None
        return float(self.grad_penalty)

    @abc.abstractmethod
    def discriminator_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """The discriminator's loss (a scalar to minimise) from its outputs (B,) and (B',)."""

    @abc.abstractmethod
    def generator_reward(self, out: Tensor) -> Tensor:
        """The generator's reward per item (B,) from the outputs (B,): higher = more real."""

    @abc.abstractmethod
    def generator_loss(self, fake_out: Tensor) -> Tensor:
        """A differentiable generator loss (a scalar) from the outputs on generated items."""

    def says_real(self, out: Tensor) -> Tensor:
        """Which items the discriminator takes for real (B,) bool; for accuracy measures."""
        return out > 0

    def observe(self, real_out: Tensor, fake_out: Tensor) -> None:
        """Record one step's outputs (detached); stateful objectives (MAGAN) use them."""
        del real_out, fake_out

    def end_epoch(self) -> None:
        """Close an epoch of discriminator steps (MAGAN adapts its margin here)."""
        return

    def stats(self) -> dict[str, float]:
        """Measures to log beside the loss (e.g. a margin)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """The state a checkpoint must carry (plain data); empty for stateless objectives."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        if state:
            raise ValueError(f"the {self.name} objective has no state, got {sorted(state)}")


def register_objective(
    name: str, *, aliases: tuple[str, ...] = ()
) -> Callable[[ObjectiveT], ObjectiveT]:
    """Class decorator: register an objective under ``name`` (and ``aliases``).

    Raises:
        ValueError: If the name or an alias is taken.
    """

    def register(cls: ObjectiveT) -> ObjectiveT:
        for key in (name, *aliases):
            if key in OBJECTIVES or key in _ALIASES:
                raise ValueError(f"a discriminator objective named {key!r} is registered already")
        cls.name = name
        OBJECTIVES[name] = cls
        for alias in aliases:
            _ALIASES[alias] = name
        return cls

    return register


def objective_names(*, aliases: bool = False) -> tuple[str, ...]:
    """The registered names (and, with ``aliases``, the aliases too)."""
    return (*OBJECTIVES, *(_ALIASES if aliases else ()))


def canonical_objective_name(name: str) -> str:
    """The registered name of ``name`` (an alias resolved).

    Raises:
        ValueError: For an unknown name, listing the valid ones.
    """
    if name in OBJECTIVES:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    aliases = ", ".join(f"{a} (= {n})" for a, n in _ALIASES.items())
    raise ValueError(
        f"unknown discriminator objective {name!r}: disc_loss must be one of "
        f"{', '.join(OBJECTIVES)}" + (f", or the aliases {aliases}" if aliases else "")
    )


def make_objective(
    name: str, *, defaults: Mapping[str, Mapping[str, Any]] | None = None, **kwargs: Any
) -> DiscriminatorObjective:
    """Build the objective registered as ``name`` (or an alias of it).

    Args:
        name: A name of :func:`objective_names` (aliases too).
        defaults: Keyword arguments per objective name, under ``kwargs``: how a trainer
            states its own defaults (SeqGAN's ``{"bce": {"reward": "probability"}}``).
        **kwargs: The objective's fields (``grad_penalty``, ``label_smoothing``, ``margin``,
            ...).

    Raises:
        ValueError: For an unknown name (listing the valid ones), an argument the objective
            does not take (listing the ones it takes) or a bad value.
    """
    canonical = canonical_objective_name(name)
    cls = OBJECTIVES[canonical]
    options = {**(defaults or {}).get(canonical, {}), **kwargs}
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ValueError(
            f"the {canonical} objective takes no argument(s) {unknown}; it takes {sorted(fields)}"
        )
    return cls(**options)


# --- the objectives ------------------------------------------------------------------------


@register_objective("bce")
@dataclass(kw_only=True)
class BCE(DiscriminatorObjective):
    """The standard GAN loss (Goodfellow et al. 2014): binary cross-entropy, real labelled 1.

    Attributes:
        reward: The generator's reward from ``D = sigmoid(logit)``: ``"softplus"``,
            ``-log(1 - D)`` (GAIL, Ho and Ermon 2016); ``"probability"``, ``D`` itself
            (SeqGAN's and REGS's Monte Carlo rewards); ``"logit"``, ``log D - log(1 - D)``
            (AIRL's entropy-regularized reward).
    """

    has_labels: ClassVar[bool] = True
    reward: Literal["softplus", "probability", "logit"] = "softplus"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.reward not in ("softplus", "probability", "logit"):
            raise ValueError(
                f"bce's reward must be softplus, probability or logit, got {self.reward!r}"
            )

    def discriminator_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """``mean(-log D(real))`` (target ``1 - label_smoothing``) ``+ mean(-log(1 - D(fake)))``."""
        return bce_discriminator_loss(real_out, fake_out, self.label_smoothing)

    def generator_reward(self, out: Tensor) -> Tensor:
        """``softplus(logit)``, ``sigmoid(logit)`` or the logit, as :attr:`reward` says."""
        if self.reward == "softplus":
            return F.softplus(out)
        if self.reward == "probability":
            return torch.sigmoid(out)
        return out

    def generator_loss(self, fake_out: Tensor) -> Tensor:
        """The non-saturating ``mean(-log D(fake))``."""
        return bce_generator_loss(fake_out)


@register_objective("lsgan")
@dataclass(kw_only=True)
class LSGAN(DiscriminatorObjective):
    """Least squares GAN (Mao et al. 2017), targets 1 (real) and 0 (fake).

    The generator's reward is the output itself (monotone in "realness"; the squared error
    ``(out - 1)^2`` would penalise outputs above 1).
    """

    has_labels: ClassVar[bool] = True

    def discriminator_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """``0.5 mean((out(real) - (1 - label_smoothing))^2) + 0.5 mean(out(fake)^2)``."""
        return lsgan_discriminator_loss(real_out, fake_out, self.label_smoothing)

    def generator_reward(self, out: Tensor) -> Tensor:
        """The output."""
        return out

    def generator_loss(self, fake_out: Tensor) -> Tensor:
        """``0.5 mean((out(fake) - 1)^2)``."""
        return lsgan_generator_loss(fake_out)

    def says_real(self, out: Tensor) -> Tensor:
        """Outputs above the midpoint 0.5 of the targets."""
        return out > 0.5


@register_objective("wgan-gp", aliases=("wgan",))
@dataclass(kw_only=True)
class WGANGP(DiscriminatorObjective):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017), penalty weight 10.

    The critic minimises ``mean(out(fake)) - mean(out(real))`` plus ``grad_penalty`` times
    the penalty on its input gradients; ``grad_penalty=0`` leaves the plain (unconstrained)
    critic loss.
    """

    default_grad_penalty: ClassVar[float] = 10.0

    def discriminator_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """``mean(out(fake)) - mean(out(real))`` (the penalty is added by the caller)."""
        return wgan_discriminator_loss(real_out, fake_out)

    def generator_reward(self, out: Tensor) -> Tensor:
        """The critic's score."""
        return out

    def generator_loss(self, fake_out: Tensor) -> Tensor:
        """``-mean(out(fake))``."""
        return wgan_generator_loss(fake_out)


@register_objective("hinge")
@dataclass(kw_only=True)
class Hinge(DiscriminatorObjective):
    """The hinge loss (Lim and Ye 2017; Miyato et al. 2018)."""

    def discriminator_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """``mean(relu(1 - out(real))) + mean(relu(1 + out(fake)))``."""
        return hinge_discriminator_loss(real_out, fake_out)

    def generator_reward(self, out: Tensor) -> Tensor:
        """The output."""
        return out

    def generator_loss(self, fake_out: Tensor) -> Tensor:
        """``-mean(out(fake))``."""
        return wgan_generator_loss(fake_out)


@register_objective("ebgan")
@dataclass(kw_only=True)
class EBGAN(DiscriminatorObjective):
    """Energy-based GAN (Zhao, Mathieu and LeCun 2017): an auto-encoder discriminator.

    The discriminator's output is an energy ``E``, an auto-encoder's reconstruction error
    (low on real data). It minimises ``mean(E(real)) + mean(relu(m - E(fake)))``: generated
    items whose energy is already above the margin ``m`` contribute nothing.

    Attributes:
        margin: The margin ``m`` (> 0), in the energy's units; choose it a few times the
            energy of real items after some training.
    """

    needs_energy: ClassVar[bool] = True
    learns_margin: ClassVar[bool] = False
    """``margin=None`` asks the objective to estimate the margin (MAGAN)."""
    margin: float | None = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.margin is not None and not (self.margin > 0 and math.isfinite(self.margin)):
            raise ValueError(f"margin must be positive, got {self.margin}")
        if self.margin is None and not self.learns_margin:
            raise ValueError(f"{self.name} needs a margin (magan estimates its own)")

    def discriminator_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """``mean(E(real)) + mean(relu(m - E(fake)))``."""
        assert self.margin is not None
        return real_out.mean() + F.relu(self.margin - fake_out).mean()

    def generator_reward(self, out: Tensor) -> Tensor:
        """``-E``."""
        return -out

    def generator_loss(self, fake_out: Tensor) -> Tensor:
        """``mean(E(fake))`` (without EBGAN's optional pull-away term)."""
        return fake_out.mean()

    def says_real(self, out: Tensor) -> Tensor:
        """Energies below half the margin (reals are pulled to 0, fakes pushed to ``m``)."""
        if self.margin is None:
            return torch.ones_like(out, dtype=torch.bool)
        return out < self.margin / 2

    def stats(self) -> dict[str, float]:
        """The margin in use (NaN before MAGAN has estimated it)."""
        return {"margin": float("nan") if self.margin is None else float(self.margin)}


@register_objective("magan")
@dataclass(kw_only=True)
class MAGAN(EBGAN):
    """EBGAN with an adaptive margin (Wang, Cully, Chang and Demiris 2017, arXiv:1704.03817).

    What is implemented (the paper's Algorithm 1, with an "epoch" being what the trainer
    calls one, see :meth:`end_epoch`):

    1. Until the margin is known (``margin=None``, the default), the discriminator is
       pretrained as an auto-encoder of the real data: its loss is ``mean(E(real))``.
    2. At the end of that first epoch the margin becomes the mean energy of the real items
       seen during it (measured at each step, before the update).
    3. At the end of every later epoch ``t``, with ``E_real`` and ``E_fake`` the mean real
       and generated energies seen during it, the margin becomes ``E_real`` if
       ``E_real < m`` and ``E_real < E_fake`` and ``E_fake(t - 1) <= E_fake(t)`` (the
       generator no longer lowers its energy; ``E_fake(0) = inf``, so the first adversarial
       epoch never updates). The paper compares sums over epochs of equal size; these are
       means. So the margin never increases.

    Meanwhile the loss is EBGAN's with the current margin. A given ``margin`` skips steps 1
    and 2.
    """

    learns_margin: ClassVar[bool] = True
    margin: float | None = None
    _real_sum: float = dataclasses.field(default=0.0, init=False, repr=False)
    _real_count: int = dataclasses.field(default=0, init=False, repr=False)
    _fake_sum: float = dataclasses.field(default=0.0, init=False, repr=False)
    _fake_count: int = dataclasses.field(default=0, init=False, repr=False)
    _last_fake_mean: float = dataclasses.field(default=math.inf, init=False, repr=False)

    def discriminator_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        """``mean(E(real))`` before the margin is known, EBGAN's loss after."""
        if self.margin is None:
            return real_out.mean()
        return super().discriminator_loss(real_out, fake_out)

    def observe(self, real_out: Tensor, fake_out: Tensor) -> None:
        """Add a step's energies to the epoch's sums."""
        self._real_sum += float(real_out.detach().double().sum())
        self._real_count += real_out.numel()
        self._fake_sum += float(fake_out.detach().double().sum())
        self._fake_count += fake_out.numel()

    def end_epoch(self) -> None:
        """Set or shrink the margin as the class docstring says; start a new epoch."""
        if self._real_count == 0 or self._fake_count == 0:
            return
        real_mean = self._real_sum / self._real_count
        fake_mean = self._fake_sum / self._fake_count
        if self.margin is None:
            self.margin = real_mean
            self._last_fake_mean = math.inf
        else:
            if (
                real_mean < self.margin
                and real_mean < fake_mean
                and self._last_fake_mean <= fake_mean
            ):
                self.margin = real_mean
            self._last_fake_mean = fake_mean
        self._real_sum = self._fake_sum = 0.0
        self._real_count = self._fake_count = 0

    def state_dict(self) -> dict[str, Any]:
        """The margin, the previous epoch's generated energy and the running epoch's sums."""
        return {
            "margin": self.margin,
            "last_fake_mean": self._last_fake_mean,
            "real_sum": self._real_sum,
            "real_count": self._real_count,
            "fake_sum": self._fake_sum,
            "fake_count": self._fake_count,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        margin = state["margin"]
        self.margin = None if margin is None else float(margin)
        self._last_fake_mean = float(state["last_fake_mean"])
        self._real_sum, self._real_count = float(state["real_sum"]), int(state["real_count"])
        self._fake_sum, self._fake_count = float(state["fake_sum"]), int(state["fake_count"])
