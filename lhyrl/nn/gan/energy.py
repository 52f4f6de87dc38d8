"""Auto-encoder discriminators: one energy per item, the reconstruction error (low = real).

EBGAN (Zhao et al. 2017) and MAGAN (Wang et al. 2017) read energies instead of logits:
the discriminator is an auto-encoder trained to reconstruct the real data well and the
generated data badly. :class:`MLPAutoEncoderDiscriminator` reads vectors (GAIL);
:class:`SequenceAutoEncoderDiscriminator` reads token sequences (SeqGAN, and REGS through
:class:`lhyrl.nn.dialogue.DialogueAutoEncoderDiscriminator`). Both have ``output_kind =
"energy"`` (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.nn.utils.rnn import pack_padded_sequence

__all__ = [
    "MLPAutoEncoderConfig",
    "MLPAutoEncoderDiscriminator",
    "SequenceAutoEncoderConfig",
    "SequenceAutoEncoderDiscriminator",
]


@dataclass
class MLPAutoEncoderConfig:
    """Sizes of a vector auto-encoder discriminator.

    Attributes:
        input_dim: Size D of each input vector.
        hidden_sizes: Widths of the encoder's hidden layers (the decoder mirrors them).
        code_dim: Size of the code between encoder and decoder (the bottleneck).
        activation: ``"tanh"`` or ``"relu"``.
        spectral_norm: Constrain every linear layer with spectral normalisation.
    """

    input_dim: int
    hidden_sizes: tuple[int, ...] = (64,)
    code_dim: int = 8
    activation: Literal["tanh", "relu"] = "relu"
    spectral_norm: bool = False

    def __post_init__(self) -> None:
        if self.input_dim < 1 or self.code_dim < 1 or any(h < 1 for h in self.hidden_sizes):
            raise ValueError(
                f"input_dim, code_dim and hidden_sizes must be positive, got {self.input_dim}, "
                f"{self.code_dim}, {self.hidden_sizes}"
            )
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {self.activation!r}")


class MLPAutoEncoderDiscriminator(nn.Module):
    """EBGAN's discriminator for vectors: an MLP encoder to a code and an MLP decoder back.

    The energy of ``x`` is the mean squared reconstruction error ``mean_d (x_d - x'_d)^2``.

    Args:
        config: Sizes.
    """

    output_kind: ClassVar[str] = "energy"
    """What ``forward`` returns (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    def __init__(self, config: MLPAutoEncoderConfig) -> None:
        super().__init__()
        self.config = config
        activation = {"tanh": nn.Tanh, "relu": nn.ReLU}[config.activation]
        norm: Callable[[nn.Linear], nn.Module] = (
            spectral_norm if config.spectral_norm else (lambda layer: layer)
        )
        widths = [config.input_dim, *config.hidden_sizes, config.code_dim]

        def mlp(sizes: list[int]) -> nn.Sequential:
            layers: list[nn.Module] = []
            for i, (a, b) in enumerate(itertools.pairwise(sizes)):
                layers.append(norm(nn.Linear(a, b)))
                if i < len(sizes) - 2:
                    layers.append(activation())
            return nn.Sequential(*layers)

        self.encoder = mlp(widths)
        self.decoder = mlp(widths[::-1])

    def reconstruct(self, x: Tensor) -> Tensor:
        """The auto-encoder's reconstruction of ``x``: (B, D) → (B, D)."""
        return self.decoder(self.encoder(x))

    def forward(self, x: Tensor) -> Tensor:
        """Energies: (B, D) vectors → (B,) mean squared reconstruction errors."""
        return ((self.reconstruct(x) - x) ** 2).mean(-1)


@dataclass
class SequenceAutoEncoderConfig:
    """Sizes and token ids of a sequence auto-encoder discriminator.

    Attributes:
        vocab_size: Number of tokens V.
        embedding_dim: Size E of the token embeddings (what is reconstructed).
        hidden_dim: GRU state size H of the encoder and of the decoder.
        code_dim: Size C of the code: the whole sequence squeezed into one vector.
        pad_id: Padding token: a row's real tokens are those before its first ``pad_id``;
            ``None``: every position is real (SeqGAN's fixed-length sequences).
        eos_id: End-of-turn token of dialogues (read by
            :class:`~lhyrl.nn.dialogue.DialogueAutoEncoderDiscriminator`); unused here.
    """

    vocab_size: int
    embedding_dim: int = 32
    hidden_dim: int = 64
    code_dim: int = 32
    pad_id: int | None = None
    eos_id: int | None = None

    def __post_init__(self) -> None:
        for name in ("vocab_size", "embedding_dim", "hidden_dim", "code_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("pad_id", "eos_id"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < self.vocab_size:
                raise ValueError(f"{name}={value} is outside the vocabulary")


class SequenceAutoEncoderDiscriminator(nn.Module):
    """An auto-encoder of token sequences whose energy is its embedding reconstruction error.

    Embedding → GRU encoder over the real tokens → a code of size C (``tanh`` of a linear map
    of the final state) → a GRU decoder that reads the code at every step, starting from a
    state computed from it → a linear map to size E at each position. The energy of a
    sequence is the mean over its real positions (see :meth:`forward`) of the mean squared
    error between the reconstruction and the token embedding. The code is the only path from
    the input to the reconstruction, so a sequence is reconstructed well only if its whole
    shape is one the auto-encoder has learned; the embeddings (the targets) are learned too.

    Args:
        config: Sizes and token ids.
    """

    output_kind: ClassVar[str] = "energy"
    """What ``forward`` returns (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    def __init__(self, config: SequenceAutoEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.encoder = nn.GRU(config.embedding_dim, config.hidden_dim, batch_first=True)
        self.to_code = nn.Linear(config.hidden_dim, config.code_dim)
        self.from_code = nn.Linear(config.code_dim, config.hidden_dim)
        self.decoder = nn.GRU(config.code_dim, config.hidden_dim, batch_first=True)
        self.out = nn.Linear(config.hidden_dim, config.embedding_dim)

    def lengths(self, tokens: Tensor) -> Tensor:
        """Real tokens of each row, those before its first ``pad_id``: (B, T) → (B,) long."""
        if self.config.pad_id is None:
            return torch.full((tokens.shape[0],), tokens.shape[1], device=tokens.device)
        return (tokens != self.config.pad_id).long().cumprod(1).sum(1)  # (B,)

    def reconstruction_errors(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Squared errors per position and which positions are real.

        Args:
            tokens: (B, T) long tokens.

        Returns:
            ``(errors, real)``: (B, T) mean squared error over the embedding's E dimensions
            at each position, and (B, T) bool, true at the real positions.
        """
        batch_size, width = tokens.shape
        lengths = self.lengths(tokens)  # (B,)
        x = self.embedding(tokens)  # (B, T, E)
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, h = self.encoder(packed)  # (1, B, H)
        code = torch.tanh(self.to_code(h[-1]))  # (B, C)
        h0 = torch.tanh(self.from_code(code)).unsqueeze(0)  # (1, B, H)
        steps = code.unsqueeze(1).expand(batch_size, width, -1).contiguous()  # (B, T, C)
        decoded, _ = self.decoder(steps, h0)  # (B, T, H)
        errors = ((self.out(decoded) - x) ** 2).mean(-1)  # (B, T)
        real = torch.arange(width, device=tokens.device) < lengths.unsqueeze(1)  # (B, T)
        return errors, real

    def forward(self, tokens: Tensor, scored: Tensor | None = None) -> Tensor:
        """Energies of sequences.

        Args:
            tokens: (B, T) long tokens.
            scored: (B, T) bool, the positions whose error counts (within the real ones);
                ``None``: every real position.

        Returns:
            (B,) the mean reconstruction error over the scored real positions (0 for a row
            with none).
        """
        errors, real = self.reconstruction_errors(tokens)  # (B, T), (B, T)
        mask = real if scored is None else real & scored
        weights = mask.to(errors.dtype)
        return (errors * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # (B,)
