"""Gradient reversal and the CNN over stacked frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lhyrl.nn import (
    DomainConfusionConfig,
    DomainConfusionDiscriminator,
    FrameEncoder,
    FrameEncoderConfig,
    GradientReversal,
    frames_to_tensor,
)


@pytest.mark.parametrize("coeff", [0.0, 0.5, 2.0])
def test_gradient_reversal_is_the_identity_forward_and_flips_and_scales_the_gradient(
    coeff: float,
) -> None:
    x = torch.randn(4, 3, requires_grad=True)
    weights = torch.randn(4, 3)
    layer = GradientReversal(coeff)
    y = layer(x)
    assert torch.equal(y, x)
    (y * weights).sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, -coeff * weights)
    with pytest.raises(ValueError, match="coeff must be >= 0"):
        GradientReversal(-1.0)


def test_frame_encoder_maps_stacked_frames_to_features() -> None:
    encoder = FrameEncoder(FrameEncoderConfig(in_channels=6, frame_size=32, feature_dim=20))
    x = torch.rand(5, 6, 32, 32)  # (B, C, H, W)
    assert encoder(x).shape == (5, 20)
    odd = FrameEncoder(FrameEncoderConfig(in_channels=3, frame_size=20, channels=(4, 8)))
    assert odd(torch.rand(2, 3, 20, 20)).shape == (2, 128)
    with pytest.raises(ValueError, match="too small"):
        FrameEncoderConfig(frame_size=4, channels=(8, 8, 8))


def test_frames_stack_along_channels_in_unit_range() -> None:
    a = np.full((2, 8, 8, 3), 255, np.uint8)
    b = np.zeros((2, 8, 8, 3), np.uint8)
    x = frames_to_tensor(a, b)
    assert x.shape == (2, 6, 8, 8) and x.dtype == torch.float32
    assert torch.all(x[:, :3] == 1.0) and torch.all(x[:, 3:] == 0.0)


def test_domain_head_trains_the_features_against_itself() -> None:
    torch.manual_seed(0)
    net = DomainConfusionDiscriminator(
        DomainConfusionConfig(encoder=FrameEncoderConfig(frame_size=16, feature_dim=8))
    )
    x = torch.rand(3, 6, 16, 16)
    logits, domain = net.both(x)
    assert logits.shape == domain.shape == (3,)
    torch.testing.assert_close(logits, net(x))
    # the domain loss's gradient on the encoder is the plain one reversed (coeff 1)
    domain.sum().backward()
    reversed_grad = next(net.encoder.parameters()).grad.clone()
    net.zero_grad()
    net.reversal.coeff = 0.0  # a probe: the encoder gets nothing
    net.domain_logits(x).sum().backward()
    grad = next(net.encoder.parameters()).grad
    assert grad is None or torch.count_nonzero(grad) == 0
    net.zero_grad()
    h = net.encoder(x)
    net.domain_head(h).sum().backward()
    torch.testing.assert_close(next(net.encoder.parameters()).grad, -reversed_grad)
