"""GAN losses as loose functions of the discriminator's outputs, and WGAN-GP's gradient penalty.

The losses take logits (or critic values) and return scalars to minimise. The discriminator
losses pair with a generator loss of the same family: :func:`bce_generator_loss`,
:func:`lsgan_generator_loss`, and :func:`wgan_generator_loss` (also used with the hinge loss).
The registry of :mod:`lhyrl.nn.gan.objectives` builds on them; the trainers use the registry.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor


def bce_discriminator_loss(
    real_logits: Tensor, fake_logits: Tensor, label_smoothing: float = 0.0
) -> Tensor:
    """Binary cross-entropy of a discriminator: real labelled 1, fake labelled 0.

    Returns ``mean(-log D(real)) + mean(-log(1 - D(fake)))`` with ``D = sigmoid(logit)``.
    One-sided label smoothing replaces the real label 1 by ``1 - label_smoothing``.
    """
    real_target = torch.full_like(real_logits, 1.0 - label_smoothing)
    real = F.binary_cross_entropy_with_logits(real_logits, real_target)
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def bce_generator_loss(fake_logits: Tensor) -> Tensor:
    """The non-saturating generator loss ``mean(-log D(fake))``."""
    return F.softplus(-fake_logits).mean()


def lsgan_discriminator_loss(
    real_logits: Tensor, fake_logits: Tensor, label_smoothing: float = 0.0
) -> Tensor:
    """Least-squares GAN (targets 1 and 0): ``0.5 mean((D(real) - 1)^2) + 0.5 mean(D(fake)^2)``.

    One-sided label smoothing replaces the real target 1 by ``1 - label_smoothing``.
    """
    real_target = 1.0 - label_smoothing
    return 0.5 * ((real_logits - real_target) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def lsgan_generator_loss(fake_logits: Tensor) -> Tensor:
    """Least-squares GAN generator loss ``0.5 mean((D(fake) - 1)^2)``."""
    return 0.5 * ((fake_logits - 1.0) ** 2).mean()


def wgan_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Wasserstein critic loss ``mean(fake) - mean(real)``; add :func:`gradient_penalty`."""
    return fake_scores.mean() - real_scores.mean()


def wgan_generator_loss(fake_scores: Tensor) -> Tensor:
    """Wasserstein (and hinge) generator loss ``-mean(fake)``."""
    return -fake_scores.mean()


def hinge_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge loss ``mean(relu(1 - real)) + mean(relu(1 + fake))``."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def gradient_penalty(
    discriminator: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP's penalty ``mean((||grad D(x_hat)||_2 - 1)^2)`` on continuous inputs.

    ``x_hat`` lies on the segment between each real and fake item, at a uniform random point.
    Multiply by the penalty weight (10 in Gulrajani et al.) and add to the critic's loss; the
    result is differentiable with respect to the discriminator's parameters.

    Args:
        discriminator: Maps (B, ...) inputs to (B,) scores.
        real: (B, ...) real inputs.
        fake: (B, ...) generated inputs, same shape.
        generator: Source of the interpolation points.

    Returns:
        The scalar penalty.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    scores = discriminator(x_hat)  # (B,)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)  # (B, ...)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
