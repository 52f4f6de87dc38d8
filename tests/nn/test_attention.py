from __future__ import annotations

import pytest
import torch

from lhyrl.nn import AdditiveAttention, DotProductAttention

torch.set_num_threads(1)

B, T, S, HQ, HK = 3, 4, 6, 5, 7


def inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    queries = torch.randn(B, T, HQ, generator=g)
    keys = torch.randn(B, S, HK, generator=g)
    lengths = torch.tensor([6, 3, 1])
    mask = torch.arange(S) < lengths[:, None]  # (B, S)
    return queries, keys, mask


def modules() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [
        AdditiveAttention(HQ, HK, 8),
        DotProductAttention(HQ, HK),
        DotProductAttention(HQ, HK, scaled=False),
    ]


@pytest.mark.parametrize("attention", modules(), ids=["additive", "general", "unscaled"])
def test_weights_sum_to_one_over_real_positions_and_are_zero_at_padding(attention):
    queries, keys, mask = inputs()
    context, weights = attention(queries, keys, mask)
    assert context.shape == (B, T, HK)
    assert weights.shape == (B, T, S)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, T))
    assert (weights[~mask[:, None, :].expand_as(weights)] == 0).all()
    assert (weights[mask[:, None, :].expand_as(weights)] > 0).all()
    torch.testing.assert_close(context, weights @ keys)
    assert torch.equal(weights[2, :, 0], torch.ones(T))  # a single real position takes it all


@pytest.mark.parametrize("attention", modules(), ids=["additive", "general", "unscaled"])
def test_padding_values_do_not_change_the_context(attention):
    queries, keys, mask = inputs()
    context, weights = attention(queries, keys, mask)
    noisy = keys.masked_fill(~mask[..., None], 1e3)  # garbage at the padded positions
    noisy_context, noisy_weights = attention(queries, noisy, mask)
    torch.testing.assert_close(noisy_weights, weights)
    torch.testing.assert_close(noisy_context, context)


@pytest.mark.parametrize("attention", modules(), ids=["additive", "general", "unscaled"])
def test_precomputed_keys_and_single_steps_give_the_same_result(attention):
    queries, keys, mask = inputs()
    context, weights = attention(queries, keys, mask)
    projected = attention.project_keys(keys)
    for t in range(T):
        step_context, step_weights = attention(queries[:, t : t + 1], keys, mask, projected)
        torch.testing.assert_close(step_context[:, 0], context[:, t])
        torch.testing.assert_close(step_weights[:, 0], weights[:, t])


def test_without_mask_every_position_is_attended():
    queries, keys, _ = inputs()
    _, weights = AdditiveAttention(HQ, HK, 8)(queries, keys)
    assert (weights > 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, T))


def test_a_row_without_real_positions_gets_zero_weights_not_nan():
    queries, keys, mask = inputs()
    mask[1] = False
    context, weights = DotProductAttention(HQ, HK)(queries, keys, mask)
    assert not weights.isnan().any() and not context.isnan().any()
    assert (weights[1] == 0).all() and (context[1] == 0).all()


def test_plain_dot_product_scores_are_scaled_dot_products():
    g = torch.Generator().manual_seed(1)
    queries, keys = torch.randn(2, 3, 4, generator=g), torch.randn(2, 5, 4, generator=g)
    _, weights = DotProductAttention(4, 4, general=False)(queries, keys)
    expected = (queries @ keys.transpose(1, 2) / 2.0).softmax(-1)
    torch.testing.assert_close(weights, expected)
    with pytest.raises(ValueError, match="query_dim == key_dim"):
        DotProductAttention(4, 5, general=False)


@pytest.mark.parametrize("attention", modules(), ids=["additive", "general", "unscaled"])
def test_gradients_reach_queries_keys_and_parameters(attention):
    queries, keys, mask = inputs()
    queries.requires_grad_(True)
    keys.requires_grad_(True)
    context, _ = attention(queries, keys, mask)
    context.square().sum().backward()
    assert queries.grad is not None and queries.grad.abs().sum() > 0
    assert keys.grad is not None and (keys.grad[~mask] == 0).all()
    for p in attention.parameters():
        assert p.grad is not None and p.grad.isfinite().all()
