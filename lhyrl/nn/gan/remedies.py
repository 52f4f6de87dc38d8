"""Remedies for a discriminator that wins too fast, shared by GAIL, AIRL, SeqGAN and REGS.

:class:`DiscriminatorRemedies` names them all; :class:`~lhyrl.nn.gan.ensemble.
DiscriminatorEnsemble` applies them. The pieces here:

* :func:`apply_spectral_norm`: spectral normalisation (Miyato et al. 2018) of every linear and
  convolution layer of a discriminator;
* :class:`EmbeddingTap`: input noise for token discriminators (Gaussian noise on the token
  embeddings, as the inputs themselves are discrete), and the embeddings a gradient penalty
  differentiates;
* :class:`SampleReplay`: a reservoir of past generated items mixed into the negatives
  (Shrivastava et al. 2017's history of generated images);
* :func:`bootstrap_indices`: the resampling that gives each member of an ensemble its own
  batch.

One-sided label smoothing (Salimans et al. 2016) and the gradient penalty are fields of the
objective (:mod:`lhyrl.nn.gan.objectives`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from lhyrl.nn.gan.objectives import DiscriminatorObjective, make_objective

__all__ = [
    "DEFAULT_SETTINGS",
    "ENSEMBLE_REWARDS",
    "DiscriminatorRemedies",
    "EmbeddingTap",
    "SampleReplay",
    "apply_spectral_norm",
    "bootstrap_indices",
    "pad_to_shape",
]

ENSEMBLE_REWARDS = ("mean", "min")
"""How an ensemble's members' rewards combine into the generator's reward."""


@dataclass(frozen=True)
class DiscriminatorRemedies:
    """The remedies a trainer's discriminator uses; the defaults use none.

    Attributes:
        grad_penalty: Weight of the gradient penalty; ``None`` for the objective's default
            (10 for ``wgan-gp``, else 0).
        label_smoothing: One-sided label smoothing of the real label (``bce``, ``lsgan``).
        input_noise: Std of Gaussian noise added to the discriminator's inputs (vectors) or
            token embeddings (token inputs), decaying linearly to 0 over the run.
        spectral_norm: Spectral normalisation of every linear and convolution layer.
        replay_ratio: Share of each batch of negatives drawn from a reservoir of past
            generated items (0: no replay).
        replay_capacity: Items the reservoir holds.
        ensemble_size: Discriminators k, each trained on its own bootstrap resample of each
            batch (1: a single discriminator, no resampling).
        ensemble_reward: How the members' rewards combine: ``"mean"`` or ``"min"``.
    """

    grad_penalty: float | None = None
    label_smoothing: float = 0.0
    input_noise: float = 0.0
    spectral_norm: bool = False
    replay_ratio: float = 0.0
    replay_capacity: int = 10_000
    ensemble_size: int = 1
    ensemble_reward: Literal["mean", "min"] = "mean"

    def __post_init__(self) -> None:
        if not (self.input_noise >= 0 and math.isfinite(self.input_noise)):
            raise ValueError(f"input_noise must be >= 0, got {self.input_noise}")
        if not 0.0 <= self.replay_ratio <= 1.0:
            raise ValueError(f"replay_ratio must lie in [0, 1], got {self.replay_ratio}")
        if self.replay_capacity < 1:
            raise ValueError(f"replay_capacity must be at least 1, got {self.replay_capacity}")
        if self.ensemble_size < 1:
            raise ValueError(f"ensemble_size must be at least 1, got {self.ensemble_size}")
        if self.ensemble_reward not in ENSEMBLE_REWARDS:
            raise ValueError(
                f"ensemble_reward must be one of {ENSEMBLE_REWARDS}, got {self.ensemble_reward!r}"
            )

    def settings(self, disc_loss: str) -> dict[str, Any]:
        """``disc_loss`` and every remedy, as plain data (what a trainer saves and checks)."""
        return {"disc_loss": disc_loss, **dataclasses.asdict(self)}

    def objective_kwargs(self) -> dict[str, Any]:
        """The remedies that are fields of the objective: label smoothing, gradient penalty."""
        kwargs: dict[str, Any] = {"label_smoothing": self.label_smoothing}
        if self.grad_penalty is not None:
            kwargs["grad_penalty"] = self.grad_penalty
        return kwargs

    def objective(
        self, disc_loss: str, *, defaults: Mapping[str, Mapping[str, Any]] | None = None
    ) -> DiscriminatorObjective:
        """The objective ``disc_loss`` of the registry with these remedies' fields.

        Args:
            disc_loss: A registered objective's name or alias.
            defaults: Per-objective field defaults of the trainer (e.g. SeqGAN's ``bce``
                reward), under the remedies' fields.
        """
        return make_objective(disc_loss, defaults=defaults, **self.objective_kwargs())


DEFAULT_SETTINGS: dict[str, Any] = DiscriminatorRemedies().settings("bce")
"""The default discriminator settings: those of every trainer checkpoint written before the
settings were saved in it."""


# --- spectral normalisation ----------------------------------------------------------------


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectrally normalise every linear and convolution layer of ``module``, in place.

    Each such layer's weight becomes ``W / sigma(W)`` with ``sigma`` its largest singular
    value (of the weight reshaped to ``(out, in * kernel)`` for convolutions), estimated by
    one power iteration per training-mode forward pass (PyTorch's ``spectral_norm``
    parametrization, whose initial vectors are drawn from the global RNG: seed it). Layers
    normalised already are left alone; embeddings and recurrent weights are not touched.

    Returns:
        ``module``.
    """
    for layer in list(module.modules()):
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d) and not (
            parametrize.is_parametrized(layer, "weight")
        ):
            spectral_norm(layer)
    return module


# --- token embeddings: noise and gradients --------------------------------------------------


class EmbeddingTap:
    """While active, perturbs and records the outputs of a module's ``nn.Embedding`` layers.

    Token inputs are discrete, so input noise is added to their embeddings (the first
    continuous representation), and a gradient penalty differentiates the discriminator's
    output with respect to them.

    Args:
        module: The discriminator; every ``nn.Embedding`` inside it is tapped.
        noise: Std of the Gaussian noise added to every embedding output (0: none).
        generator: Where the noise is drawn from.
        record: Keep the (perturbed) embedding outputs, for :meth:`take`.

    Raises:
        ValueError: If ``module`` has no ``nn.Embedding``.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        noise: float = 0.0,
        generator: torch.Generator | None = None,
        record: bool = False,
    ) -> None:
        self.embeddings = [m for m in module.modules() if isinstance(m, nn.Embedding)]
        if not self.embeddings:
            raise ValueError(
                f"{type(module).__name__} has no nn.Embedding: input noise and gradient "
                "penalties on token inputs act on the token embeddings"
            )
        self.noise = float(noise)
        self.generator = generator
        self.record = record
        self.outputs: list[Tensor] = []
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, module: nn.Module, inputs: Any, output: Tensor) -> Tensor:
        del module, inputs
        if self.noise > 0:
            device = self.generator.device if self.generator is not None else output.device
            draw = torch.randn(output.shape, generator=self.generator, device=device)
            output = output + self.noise * draw.to(output.device, output.dtype)
        if self.record:
            if not output.requires_grad:
                output = output.detach().requires_grad_(True)
            self.outputs.append(output)
        return output

    def take(self) -> list[Tensor]:
        """The embedding outputs recorded since the last call (each (rows, ..., E))."""
        taken, self.outputs = self.outputs, []
        return taken

    def __enter__(self) -> EmbeddingTap:
        self._handles = [m.register_forward_hook(self._hook) for m in self.embeddings]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.outputs = []


# --- replay of past generated items ----------------------------------------------------------


def pad_to_shape(tensor: Tensor, shape: Sequence[int], value: float) -> Tensor:
    """Pad every dimension but the first of ``tensor`` at its end up to ``shape[1:]``."""
    pads: list[int] = []
    for have, want in zip(reversed(tensor.shape[1:]), reversed(shape[1:]), strict=True):
        pads += [0, want - have]
    return F.pad(tensor, pads, value=value) if any(pads) else tensor


def _common_shape(tensors: Sequence[Tensor]) -> tuple[int, ...]:
    return tuple(max(t.shape[d] for t in tensors) for d in range(tensors[0].dim()))


class SampleReplay:
    """A reservoir of past generated items, mixed into the discriminator's negatives.

    An item is a row of one or more tensors (columns) of one leading dimension: a transition
    ``(obs, acts, next_obs, terminal)`` (GAIL, AIRL), a sequence (SeqGAN) or a dialogue
    (REGS). :meth:`add` puts a batch of fresh items in by reservoir sampling (Vitter's
    Algorithm R): once ``capacity`` items are held, the n-th item seen replaces a uniformly
    drawn held one with probability ``capacity / n``, so the reservoir is always a uniform
    sample of every item ever added. Unlike a FIFO of the latest ones it keeps samples of
    generators long gone, which is what replay is for: a discriminator that still knows the
    old failure modes. :meth:`mix` replaces ``round(ratio * B)`` rows of a batch of B fresh
    negatives by items drawn uniformly (with replacement) from the reservoir.

    Items of different shapes (REGS's dialogues: more turns, longer turns) are padded at the
    end of each dimension with ``pad_value``. Draws come from ``generator``; the contents are
    kept on the CPU.

    Args:
        capacity: Items held at most.
        ratio: Share of each batch of negatives that :meth:`mix` takes from the reservoir.
        generator: The source of every random draw.
        pad_value: Fills the padding of items of different shapes; ``None`` refuses them.
    """

    def __init__(
        self,
        *,
        capacity: int,
        ratio: float,
        generator: torch.Generator,
        pad_value: float | None = None,
    ) -> None:
        if capacity < 1 or not 0.0 <= ratio <= 1.0:
            raise ValueError(f"need capacity >= 1 and ratio in [0, 1], got {capacity}, {ratio}")
        self.capacity = int(capacity)
        self.ratio = float(ratio)
        self.generator = generator
        self.pad_value = pad_value
        self.columns: list[Tensor] = []
        """Each column's storage, (capacity, ...) on the CPU; rows ``:size`` are held."""
        self.size = 0
        """Items held."""
        self.seen = 0
        """Items ever added."""

    def __len__(self) -> int:
        return self.size

    def _fit(self, tensor: Tensor, column: int) -> Tensor:
        """``tensor`` (n, ...) padded to the storage's shape, the storage grown if needed."""
        store = self.columns[column]
        if tensor.shape[1:] == store.shape[1:]:
            return tensor
        if self.pad_value is None or tensor.dim() != store.dim():
            raise ValueError(
                f"replayed items of column {column} have shape {tuple(store.shape[1:])}; new "
                f"ones {tuple(tensor.shape[1:])} (give a pad_value to pad them)"
            )
        shape = _common_shape([store, tensor])
        self.columns[column] = pad_to_shape(store, (store.shape[0], *shape[1:]), self.pad_value)
        return pad_to_shape(tensor, shape, self.pad_value)

    def add(self, *columns: Tensor) -> None:
        """Offer a batch of fresh items (each column (n, ...)) to the reservoir."""
        columns = tuple(c.detach().cpu() for c in columns)
        n = len(columns[0])
        if any(len(c) != n for c in columns):
            raise ValueError(f"columns of different lengths: {[len(c) for c in columns]}")
        if not self.columns:
            self.columns = [c.new_zeros((self.capacity, *c.shape[1:])) for c in columns]
            if self.pad_value is not None:
                for store in self.columns:
                    store.fill_(self.pad_value)
        elif len(columns) != len(self.columns):
            raise ValueError(f"items of {len(self.columns)} columns, got {len(columns)}")
        fitted = [self._fit(c, i) for i, c in enumerate(columns)]
        take = min(self.capacity - self.size, n)
        for store, column in zip(self.columns, fitted, strict=True):
            store[self.size : self.size + take] = column[:take]
        self.size += take
        rest = n - take
        if rest > 0:
            # Item i of the rest is the (seen_before + 1)-th seen; it replaces slot j, drawn
            # uniformly from 0 .. seen_before, when j < capacity.
            seen_before = self.seen + take + torch.arange(rest, dtype=torch.float64)
            device = self.generator.device
            u = torch.rand(rest, generator=self.generator, device=device, dtype=torch.float64)
            slots = (u.cpu() * (seen_before + 1)).floor().long()  # (rest,)
            last: dict[int, int] = {}
            for i in (slots < self.capacity).nonzero().flatten().tolist():
                last[int(slots[i])] = take + i  # a later item overwrites an earlier one
            if last:
                targets = torch.tensor(list(last), dtype=torch.long)
                sources = torch.tensor(list(last.values()), dtype=torch.long)
                for store, column in zip(self.columns, fitted, strict=True):
                    store[targets] = column[sources]
        self.seen += n

    def sample(self, n: int) -> tuple[Tensor, ...]:
        """``n`` items drawn uniformly with replacement, one tensor per column (on the CPU)."""
        if self.size == 0:
            raise ValueError("the replay holds no items yet")
        device = self.generator.device
        index = torch.randint(0, self.size, (n,), generator=self.generator, device=device)
        return tuple(store[index.cpu()] for store in self.columns)

    def replayed_count(self, batch_size: int) -> int:
        """Rows of a batch of ``batch_size`` negatives that :meth:`mix` takes from the reservoir."""
        return 0 if self.size == 0 else round(self.ratio * batch_size)

    def mix(self, *columns: Tensor) -> tuple[Tensor, ...]:
        """A batch of negatives: the first ``B - k`` fresh rows, then ``k`` replayed items.

        ``k = round(ratio * B)`` (0 while the reservoir is empty). Fresh and replayed rows
        are padded to a common shape; the result is on the fresh rows' devices.
        """
        batch_size = len(columns[0])
        k = self.replayed_count(batch_size)
        if k == 0:
            return tuple(columns)
        replayed = self.sample(k)
        mixed = []
        for fresh, old in zip(columns, replayed, strict=True):
            old = old.to(fresh.device, fresh.dtype)
            kept = fresh[: batch_size - k]
            if kept.shape[1:] != old.shape[1:]:
                if self.pad_value is None:
                    raise ValueError("replayed and fresh items differ in shape; give a pad_value")
                shape = _common_shape([kept, old])
                kept = pad_to_shape(kept, shape, self.pad_value)
                old = pad_to_shape(old, shape, self.pad_value)
            mixed.append(torch.cat([kept, old]))
        return tuple(mixed)

    def state_dict(self) -> dict[str, Any]:
        """The held items and the counters (the generator is its owner's to save)."""
        return {
            "columns": [store[: self.size].clone() for store in self.columns],
            "size": self.size,
            "seen": self.seen,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        size = int(state["size"])
        if size > self.capacity:
            raise ValueError(
                f"the saved replay holds {size} items; its capacity is now {self.capacity}"
            )
        self.columns = []
        for held in state["columns"]:
            store = held.new_zeros((self.capacity, *held.shape[1:]))
            if self.pad_value is not None:
                store.fill_(self.pad_value)
            store[:size] = held
            self.columns.append(store)
        self.size, self.seen = size, int(state["seen"])


# --- ensembles -------------------------------------------------------------------------------


def bootstrap_indices(n: int, generator: torch.Generator) -> Tensor:
    """A bootstrap resample of ``0 .. n - 1``: n indices drawn uniformly with replacement."""
    return torch.randint(0, n, (n,), generator=generator, device=generator.device)
