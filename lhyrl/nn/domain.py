"""Domain confusion over pictures: gradient reversal and a small CNN over stacked frames.

Third-person imitation (Stadie, Abbeel and Sutskever 2017) trains one feature extractor for
two heads: a discriminator (expert or not) and a domain classifier (which camera took the
picture). The domain classifier sits behind a :class:`GradientReversal` layer (Ganin and
Lempitsky 2015): the forward pass is the identity, the backward pass multiplies the gradient
by ``-coeff``, so while the classifier learns to tell the domains apart, the features below it
learn to make that impossible.

* :class:`GradientReversal` (and :func:`reverse_gradient`): the layer;
* :class:`FrameEncoder`: strided convolutions over ``C`` stacked channels (two RGB frames
  give ``C = 6``) to a feature vector;
* :class:`DomainConfusionDiscriminator`: the encoder, a discriminator head and a domain head
  behind the reversal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

__all__ = [
    "DomainConfusionConfig",
    "DomainConfusionDiscriminator",
    "FrameEncoder",
    "FrameEncoderConfig",
    "GradientReversal",
    "frames_to_tensor",
    "reverse_gradient",
]


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; the gradient times ``-coeff`` backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, coeff: float) -> Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return -ctx.coeff * grad, None


def reverse_gradient(x: Tensor, coeff: float = 1.0) -> Tensor:
    """``x`` unchanged, but the gradient flowing back through it is multiplied by ``-coeff``."""
    return _ReverseGradient.apply(x, float(coeff))  # type: ignore[no-any-return]


class GradientReversal(nn.Module):
    """The gradient reversal layer: identity forward, gradient times ``-coeff`` backward.

    Args:
        coeff: The reversal's weight (the paper's lambda); 0 stops the gradient, which makes
            whatever sits above a probe that does not change the layers below. It can be
            changed between steps (a schedule).
    """

    def __init__(self, coeff: float = 1.0) -> None:
        super().__init__()
        if coeff < 0:
            raise ValueError(f"coeff must be >= 0, got {coeff}")
        self.coeff = float(coeff)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` itself (any shape)."""
        return reverse_gradient(x, self.coeff)

    def extra_repr(self) -> str:
        """The coefficient, in the module's printout."""
        return f"coeff={self.coeff}"


def frames_to_tensor(*frames: Any, device: torch.device | str = "cpu") -> Tensor:
    """Stack uint8 pictures ``(B, H, W, 3)`` along channels as floats in [0, 1]: ``(B, C, H, W)``.

    Two frames give ``C = 6`` (the first frame's RGB, then the second's).
    """
    parts = [torch.as_tensor(f, device=device) for f in frames]  # each (B, H, W, 3)
    return torch.cat(parts, dim=-1).permute(0, 3, 1, 2).float().div(255.0)  # (B, C, H, W)


@dataclass
class FrameEncoderConfig:
    """Sizes of a :class:`FrameEncoder`.

    Attributes:
        in_channels: Channels C of the input (3 per stacked RGB frame).
        frame_size: Height and width of the input in pixels.
        channels: Output channels of each convolution (3x3, stride 2, padding 1: each halves
            the picture).
        feature_dim: Size of the feature vector.
        spectral_norm: Spectral normalisation of every convolution and linear layer.
    """

    in_channels: int = 6
    frame_size: int = 32
    channels: tuple[int, ...] = (16, 32, 32)
    feature_dim: int = 128
    spectral_norm: bool = False

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)
        if not self.channels:
            raise ValueError("channels must name at least one convolution")
        if self.frame_size < 2 ** len(self.channels):
            raise ValueError(
                f"frame_size {self.frame_size} is too small for {len(self.channels)} stride-2 "
                f"convolutions (at least {2 ** len(self.channels)} pixels)"
            )


def _norm(enabled: bool) -> Callable[[nn.Module], nn.Module]:
    return spectral_norm if enabled else (lambda layer: layer)


class FrameEncoder(nn.Module):
    """Strided 3x3 convolutions with ReLU, then a linear layer with ReLU: pictures to features.

    Args:
        config: Sizes.
    """

    def __init__(self, config: FrameEncoderConfig) -> None:
        super().__init__()
        self.config = config
        norm = _norm(config.spectral_norm)
        layers: list[nn.Module] = []
        width, size = config.in_channels, config.frame_size
        for out in config.channels:
            layers += [norm(nn.Conv2d(width, out, 3, stride=2, padding=1)), nn.ReLU()]
            width, size = out, (size + 1) // 2
        self.convs = nn.Sequential(*layers)
        self.project = norm(nn.Linear(width * size * size, config.feature_dim))

    def forward(self, x: Tensor) -> Tensor:
        """Encode pictures: (B, C, H, W) floats → (B, feature_dim) features."""
        h = self.convs(x)  # (B, C', H', W')
        return F.relu(self.project(h.flatten(1)))  # (B, F)


@dataclass
class DomainConfusionConfig:
    """Sizes of a :class:`DomainConfusionDiscriminator`.

    Attributes:
        encoder: The shared feature extractor.
        domain_hidden: Hidden width of the domain classifier (one hidden layer).
        reversal: The gradient reversal's coefficient (lambda); 0 makes the domain
            classifier a probe that leaves the features alone.
    """

    encoder: FrameEncoderConfig
    domain_hidden: int = 64
    reversal: float = 1.0


class DomainConfusionDiscriminator(nn.Module):
    """One CNN, two heads: expert-or-not logits, and domain logits behind gradient reversal.

    Args:
        config: Sizes.
    """

    output_kind: ClassVar[str] = "logit"
    """What ``forward`` returns (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    def __init__(self, config: DomainConfusionConfig) -> None:
        super().__init__()
        self.config = config
        norm = _norm(config.encoder.spectral_norm)
        self.encoder = FrameEncoder(config.encoder)
        self.head = norm(nn.Linear(config.encoder.feature_dim, 1))
        self.reversal = GradientReversal(config.reversal)
        self.domain_head = nn.Sequential(
            nn.Linear(config.encoder.feature_dim, config.domain_hidden),
            nn.ReLU(),
            nn.Linear(config.domain_hidden, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Discriminator logits (B,) of pictures (B, C, H, W): high = expert."""
        return self.head(self.encoder(x)).squeeze(-1)  # (B,)

    def both(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Discriminator and domain logits, each (B,), from one pass of the encoder.

        The domain logit's gradient reaches the encoder reversed (times ``-reversal``).
        """
        h = self.encoder(x)  # (B, F)
        domain = self.domain_head(self.reversal(h)).squeeze(-1)  # (B,)
        return self.head(h).squeeze(-1), domain

    def domain_logits(self, x: Tensor) -> Tensor:
        """Domain logits (B,) of pictures (B, C, H, W): high = the expert's domain."""
        return self.both(x)[1]
