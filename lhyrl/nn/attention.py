"""Attention over a padded batch of encoder outputs: additive (Bahdanau) and dot-product (Luong).

Both modules take queries ``(B, T, Hq)`` (T decoder steps at once; T = 1 when decoding step by
step), keys ``(B, S, Hk)`` (the encoder outputs, which are also the values) and a mask
``(B, S)`` that is true at real source positions and false at padding. They return the context
vectors ``(B, T, Hk)`` and the attention weights ``(B, T, S)``; each row of weights sums to 1
over the real positions and is exactly 0 at padded ones (a row with no real position gets all
zeros and a zero context).

The part of the score that depends only on the keys is computed by :meth:`~Attention.project_keys`;
a decoder that attends to the same keys at every step passes its result as ``projected_keys``
so that it is computed once.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class Attention(nn.Module):
    """Base of the attention modules: masked softmax over scores, then a weighted sum of keys."""

    def project_keys(self, keys: Tensor) -> Tensor:
        """The key-only part of the score, computed once per source batch.

        Args:
            keys: (B, S, Hk) encoder outputs.

        Returns:
            (B, S, A) projected keys, as :meth:`score` expects them.
        """
        raise NotImplementedError

    def score(self, queries: Tensor, projected_keys: Tensor) -> Tensor:
        """Unnormalised scores (B, T, S) of queries (B, T, Hq) against projected keys."""
        raise NotImplementedError

    def forward(
        self,
        queries: Tensor,
        keys: Tensor,
        mask: Tensor | None = None,
        projected_keys: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Attend from every query to the keys.

        Args:
            queries: (B, T, Hq) decoder states.
            keys: (B, S, Hk) encoder outputs (also the values).
            mask: (B, S) bool, true at real positions; ``None`` when nothing is padded.
            projected_keys: ``self.project_keys(keys)``, if already computed.

        Returns:
            ``(context, weights)``: context (B, T, Hk) and weights (B, T, S).
        """
        if projected_keys is None:
            projected_keys = self.project_keys(keys)  # (B, S, A)
        scores = self.score(queries, projected_keys)  # (B, T, S)
        if mask is not None:
            valid = mask.unsqueeze(1)  # (B, 1, S)
            scores = scores.masked_fill(~valid, torch.finfo(scores.dtype).min)
            weights = scores.softmax(-1) * valid  # exact zeros at padding, even if all padded
        else:
            weights = scores.softmax(-1)  # (B, T, S)
        return weights @ keys, weights  # (B, T, Hk), (B, T, S)


class AdditiveAttention(Attention):
    """Bahdanau's additive (MLP) score: ``v · tanh(W_q q + W_k k)``.

    Args:
        query_dim: Size Hq of the queries.
        key_dim: Size Hk of the keys.
        attention_dim: Size A of the hidden layer of the score.
    """

    def __init__(self, query_dim: int, key_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(query_dim, attention_dim, bias=False)
        self.key_proj = nn.Linear(key_dim, attention_dim)
        self.v = nn.Linear(attention_dim, 1, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:  # noqa: D102
        return self.key_proj(keys)  # (B, S, A)

    def score(self, queries: Tensor, projected_keys: Tensor) -> Tensor:  # noqa: D102
        q = self.query_proj(queries).unsqueeze(2)  # (B, T, 1, A)
        k = projected_keys.unsqueeze(1)  # (B, 1, S, A)
        return self.v(torch.tanh(q + k)).squeeze(-1)  # (B, T, S)


class DotProductAttention(Attention):
    """Luong's dot-product score, ``q · W k`` ("general") or ``q · k`` ("dot"), optionally scaled.

    Args:
        query_dim: Size Hq of the queries.
        key_dim: Size Hk of the keys; must equal ``query_dim`` when ``general`` is false.
        general: Learn the bilinear map W (Luong's "general" score); otherwise a plain dot.
        scaled: Divide the scores by ``sqrt(Hq)`` (as in the Transformer).
    """

    def __init__(
        self, query_dim: int, key_dim: int, *, general: bool = True, scaled: bool = True
    ) -> None:
        super().__init__()
        if not general and query_dim != key_dim:
            raise ValueError(
                f"a plain dot product needs query_dim == key_dim, got {query_dim} and {key_dim}"
            )
        self.key_proj = nn.Linear(key_dim, query_dim, bias=False) if general else None
        self.scale = 1.0 / math.sqrt(query_dim) if scaled else 1.0

    def project_keys(self, keys: Tensor) -> Tensor:  # noqa: D102
        return keys if self.key_proj is None else self.key_proj(keys)  # (B, S, Hq)

    def score(self, queries: Tensor, projected_keys: Tensor) -> Tensor:  # noqa: D102
        return (queries @ projected_keys.transpose(1, 2)) * self.scale  # (B, T, S)
