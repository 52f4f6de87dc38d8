"""Logit discriminators: one logit (or critic score) per item, high = "like the real data".

:class:`CNNDiscriminator` and :class:`RNNDiscriminator` read token sequences (SeqGAN);
:class:`MLPDiscriminator` reads vectors (GAIL, AIRL). Any objective of
:mod:`lhyrl.nn.gan.objectives` but the energy-based ones (EBGAN, MAGAN, which read the
auto-encoders of :mod:`lhyrl.nn.gan.energy`) trains them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm


@dataclass
class CNNDiscriminatorConfig:
    """Sizes of a CNN-over-time sequence discriminator; the defaults are SeqGAN's for T = 20.

    Attributes:
        vocab_size: Number of tokens V.
        embedding_dim: Size E of the token embeddings.
        filter_sizes: Width (in tokens) of each convolution; sequences must be at least as
            long as the widest.
        num_filters: Number of filters of each width.
        dropout: Dropout before the output layer.
        highway: Put a highway layer after max-pooling.
    """

    vocab_size: int
    embedding_dim: int = 64
    filter_sizes: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
    num_filters: tuple[int, ...] = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)
    dropout: float = 0.25
    highway: bool = True

    def __post_init__(self) -> None:
        if len(self.filter_sizes) != len(self.num_filters):
            raise ValueError(
                f"filter_sizes ({len(self.filter_sizes)} widths) and num_filters "
                f"({len(self.num_filters)} counts) must have the same length"
            )


class Highway(nn.Module):
    """One highway layer: ``t * relu(W x) + (1 - t) * x`` with gate ``t = sigmoid(W_t x)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Mix a transform of ``x`` (B, D) with ``x`` itself; returns (B, D)."""
        t = torch.sigmoid(self.gate(x))  # (B, D)
        return t * F.relu(self.transform(x)) + (1.0 - t) * x


class CNNDiscriminator(nn.Module):
    """SeqGAN's discriminator: embedding → convolutions over time → max-pool → highway → logit.

    Args:
        config: Sizes.
    """

    output_kind: ClassVar[str] = "logit"
    """What ``forward`` returns (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    def __init__(self, config: CNNDiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.embedding_dim, n, width)
            for width, n in zip(config.filter_sizes, config.num_filters, strict=True)
        )
        features = sum(config.num_filters)
        self.highway = Highway(features) if config.highway else nn.Identity()
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(features, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        """Score sequences.

        Args:
            tokens: (B, T) long tokens, T at least the widest filter.

        Returns:
            (B,) logits.
        """
        widest = max(self.config.filter_sizes)
        if tokens.shape[1] < widest:
            raise ValueError(
                f"sequences of {tokens.shape[1]} tokens are shorter than the widest filter "
                f"({widest}); use smaller filter_sizes"
            )
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, T)
        pooled = [F.relu(conv(x)).amax(-1) for conv in self.convs]  # each (B, n_filters)
        h = self.highway(torch.cat(pooled, 1))  # (B, sum(num_filters))
        return self.head(self.dropout(h)).squeeze(-1)  # (B,)


@dataclass
class RNNDiscriminatorConfig:
    """Sizes of a recurrent sequence discriminator.

    Attributes:
        vocab_size: Number of tokens V.
        embedding_dim: Size E of the token embeddings.
        hidden_dim: GRU state size H per direction.
        num_layers: Stacked GRU layers.
        bidirectional: Read the sequence in both directions.
        dropout: Dropout before the output layer.
    """

    vocab_size: int
    embedding_dim: int = 64
    hidden_dim: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.0


class RNNDiscriminator(nn.Module):
    """Embedding → (bi)GRU → linear logit from the last layer's final state(s).

    Args:
        config: Sizes.
    """

    output_kind: ClassVar[str] = "logit"
    """What ``forward`` returns (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    def __init__(self, config: RNNDiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.rnn = nn.GRU(
            config.embedding_dim,
            config.hidden_dim,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            batch_first=True,
        )
        directions = 2 if config.bidirectional else 1
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(directions * config.hidden_dim, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        """Score sequences: (B, T) long tokens → (B,) logits."""
        _, h = self.rnn(self.embedding(tokens))  # (L * D, B, H)
        directions = 2 if self.config.bidirectional else 1
        last = h[-directions:].transpose(0, 1).flatten(1)  # (B, D * H)
        return self.head(self.dropout(last)).squeeze(-1)  # (B,)


@dataclass
class MLPDiscriminatorConfig:
    """Sizes of a vector discriminator.

    Attributes:
        input_dim: Size of each input vector (e.g. observation and action concatenated).
        hidden_sizes: Width of each hidden layer.
        activation: ``"tanh"`` or ``"relu"``.
        spectral_norm: Constrain every linear layer with spectral normalisation.
    """

    input_dim: int
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: Literal["tanh", "relu"] = "tanh"
    spectral_norm: bool = False


class MLPDiscriminator(nn.Module):
    """A multilayer perceptron from vectors to one logit each.

    Args:
        config: Sizes.
    """

    output_kind: ClassVar[str] = "logit"
    """What ``forward`` returns (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    def __init__(self, config: MLPDiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        activation = {"tanh": nn.Tanh, "relu": nn.ReLU}[config.activation]
        norm: Callable[[nn.Linear], nn.Module] = (
            spectral_norm if config.spectral_norm else (lambda layer: layer)
        )
        layers: list[nn.Module] = []
        width = config.input_dim
        for hidden in config.hidden_sizes:
            layers += [norm(nn.Linear(width, hidden)), activation()]
            width = hidden
        layers.append(norm(nn.Linear(width, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Score vectors: (B, input_dim) → (B,) logits."""
        return self.net(x).squeeze(-1)
