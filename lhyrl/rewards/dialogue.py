"""The dialogue reward of Li et al. (2016), "Deep Reinforcement Learning for Dialogue Generation".

Three terms score a reply ``a`` that the agent gives to the other agent's turn ``q_i``, the
agent's own previous turn being ``p_i``:

- ease of answering, ``r1 = -(1/N_S) Σ_s (1/N_s) log p_seq2seq(s | a)`` over a list S of dull
  replies (:data:`DULL_REPLIES`): a reply that invites "i don't know" scores low;
- information flow, ``r2 = -log cos(h_{p_i}, h_a)``, with ``h`` the encoder's representation
  of a turn: repeating oneself scores low;
- semantic coherence,
  ``r3 = (1/N_a) log p_seq2seq(a | q_i, p_i) + (1/N_q) log p_backward(q_i | a)``: a reply
  that fits the context, and from which the context can be recovered, scores high.

:class:`DialogueReward` adds them with weights (the paper's 0.25, 0.25, 0.5 by default) and
returns every term, so that an env can put each into ``info``.

Token conventions are those of :class:`lhyrl.nn.seq2seq.Seq2Seq`. Turns (``reply``,
``query``, ``previous_reply``, dull replies) are given in target form, (B, T) long: the turn's
tokens, ``eos_id``, then ``pad_id``, as :meth:`Seq2Seq.greedy` returns them and
:meth:`~lhyrl.data.text.Vocabulary.encode_batch` writes them. Where a turn is the source of a
model it is cut at its ``eos_id`` (:func:`replies_as_sources`). Each ``1/N`` averages over the
scored tokens, ``eos_id`` included. Rewards are computed without gradients, each model in
evaluation mode (restored afterwards).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from lhyrl.data.text import EOS_ID, PAD_ID, Language, Vocabulary, tokenize
from lhyrl.nn.seq2seq import Seq2Seq

DULL_REPLIES: dict[Language, tuple[str, ...]] = {
    "english": (
        "i don't know what you are talking about",
        "i don't know",
        "you don't know",
        "you know what i mean",
        "i know what you mean",
        "you know what i'm saying",
        "you don't know anything",
    ),
    "chinese": ("我不知道", "不知道", "你在说什么", "我不明白"),
}
"""Replies that end a conversation; the English ones are those of Li et al. (2016)."""

MIN_COSINE = 0.01
"""Default floor of the cosine in :func:`information_flow`: ``r2`` lies in [0, -log 0.01 = 4.6]."""


def _check_tokens(tokens: Tensor, name: str) -> None:
    if not isinstance(tokens, Tensor) or tokens.dtype != torch.long or tokens.dim() != 2:
        described = f"{tokens.dtype} {tuple(tokens.shape)}" if isinstance(tokens, Tensor) else ""
        raise ValueError(f"{name} must be a 2-d long tensor (B, T), got {described or tokens!r}")
    if tokens.shape[0] == 0 or tokens.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(tokens.shape)}")


def _check_rows(**tensors: Tensor) -> int:
    """Check each is a non-empty 2-d long tensor and that all have the same number of rows."""
    for name, tokens in tensors.items():
        _check_tokens(tokens, name)
    rows = {name: tokens.shape[0] for name, tokens in tensors.items()}
    if len(set(rows.values())) > 1:
        raise ValueError(f"the batches must have the same number of rows, got {rows}")
    return next(iter(rows.values()))


@contextlib.contextmanager
def _scoring(*models: nn.Module) -> Iterator[None]:
    """No gradients, and every model in evaluation mode; the modes are restored on exit."""
    modes = [model.training for model in models]
    try:
        for model in models:
            model.eval()
        with torch.no_grad():
            yield
    finally:
        for model, mode in zip(models, modes, strict=True):
            model.train(mode)


def encode_dull_replies(
    vocabulary: Vocabulary, language: Language = "english", replies: Sequence[str] | None = None
) -> Tensor:
    """Tokenize and encode dull replies in target form (tokens, ``<eos>``, ``<pad>``).

    Args:
        vocabulary: The models' vocabulary; unknown words become ``<unk>``.
        language: Tokenization, and the default list of :data:`DULL_REPLIES`.
        replies: The dull replies; ``None`` for ``DULL_REPLIES[language]``.

    Returns:
        (N_S, T) long, T one more than the longest reply's tokens.
    """
    replies = DULL_REPLIES[language] if replies is None else replies
    tokenized = [tokenize(reply, language) for reply in replies]
    if not tokenized or not all(tokenized):
        raise ValueError(f"dull replies must be a non-empty list of non-empty texts: {replies}")
    length = max(len(tokens) for tokens in tokenized) + 1
    return torch.from_numpy(vocabulary.encode_batch(tokenized, length))  # (N_S, T)


def replies_as_sources(replies: Tensor, *, eos_id: int = EOS_ID, pad_id: int = PAD_ID) -> Tensor:
    """Turn replies in target form into model sources: ``eos_id`` and all after become padding.

    An empty reply (``eos_id`` first) becomes the one-token source ``eos_id``, since a source
    needs a token.

    Args:
        replies: (B, T) long replies in target form.
        eos_id: End-of-reply token.
        pad_id: Padding token.

    Returns:
        (B, T) long sources.
    """
    _check_tokens(replies, "replies")
    ended = (replies == eos_id).cumsum(1) > 0  # (B, T): at or after the first eos_id
    sources = replies.masked_fill(ended, pad_id)  # (B, T)
    empty = (sources != pad_id).sum(1) == 0  # (B,)
    sources[empty, 0] = eos_id
    return sources


def mean_log_likelihood(model: Seq2Seq, src: Tensor, tgt: Tensor) -> Tensor:
    """``(1/N) log p(tgt | src)``: the mean log-probability of each target's N scored tokens.

    Args:
        model: The sequence-to-sequence model.
        src: (B, S) long sources.
        tgt: (B, T) long targets in target form; N counts the tokens that are not padding.

    Returns:
        (B,) mean per-token log-likelihoods (differentiable; callers here use ``no_grad``).
    """
    _check_rows(src=src, tgt=tgt)
    counts = (tgt != model.config.pad_id).sum(1)  # (B,)
    if counts.min() < 1:
        raise ValueError("every target needs a token that is not padding")
    return model.token_log_probs(src, tgt).sum(1) / counts  # (B,)


def ease_of_answering(model: Seq2Seq, replies: Tensor, dull_replies: Tensor) -> Tensor:
    """``r1 = -(1/N_S) Σ_s (1/N_s) log p(s | reply)``: low when dull replies are likely answers.

    Args:
        model: The seq2seq model that answers the reply.
        replies: (B, T) long replies in target form.
        dull_replies: (N_S, T_s) long dull replies in target form (:func:`encode_dull_replies`).

    Returns:
        (B,) rewards, each non-negative.
    """
    _check_tokens(replies, "replies")
    _check_tokens(dull_replies, "dull_replies")
    batch, n_dull = replies.shape[0], dull_replies.shape[0]
    src = replies_as_sources(replies, eos_id=model.config.eos_id, pad_id=model.config.pad_id)
    with _scoring(model):
        log_likelihood = mean_log_likelihood(
            model, src.repeat_interleave(n_dull, 0), dull_replies.repeat(batch, 1)
        )  # (B * N_S,), rows ordered (reply, dull reply)
    return -log_likelihood.view(batch, n_dull).mean(1)  # (B,)


def encode_turns(model: Seq2Seq, turns: Tensor) -> Tensor:
    """The representation ``h`` of each turn: the encoder's final top-layer hidden state.

    Args:
        model: The seq2seq model whose encoder reads the turns.
        turns: (B, T) long turns in target form.

    Returns:
        (B, D * H) hidden states (an LSTM's ``h``, not its cell state).
    """
    src = replies_as_sources(turns, eos_id=model.config.eos_id, pad_id=model.config.pad_id)
    with _scoring(model):
        state = model.encode(src).state  # each (L, B, D * H)
    h = state[0] if isinstance(state, tuple) else state
    return h[-1]  # (B, D * H)


def information_flow(
    previous: Tensor, current: Tensor, *, min_cosine: float = MIN_COSINE
) -> Tensor:
    """``r2 = -log cos(h_previous, h_current)``: low when the agent repeats its previous turn.

    The cosine is clamped into ``[min_cosine, 1]`` so that the logarithm stays finite for
    orthogonal or opposed turns: the reward lies in ``[0, -log min_cosine]``, 0 for a turn whose
    representation points the same way as the previous one's (a verbatim repeat).

    Args:
        previous: (B, H) representations of the agent's previous turns (:func:`encode_turns`).
        current: (B, H) representations of its current turns.
        min_cosine: Floor of the cosine, in (0, 1).

    Returns:
        (B,) rewards.
    """
    if not 0.0 < min_cosine < 1.0:
        raise ValueError(f"min_cosine must lie in (0, 1), got {min_cosine}")
    if previous.dim() != 2 or previous.shape != current.shape or previous.numel() == 0:
        raise ValueError(
            "previous and current must be non-empty (B, H) tensors of the same shape, got "
            f"{tuple(previous.shape)} and {tuple(current.shape)}"
        )
    cosine = torch.cosine_similarity(previous, current, dim=1)  # (B,)
    return -cosine.clamp(min_cosine, 1.0).log()


def semantic_coherence(
    forward_model: Seq2Seq,
    backward_model: Seq2Seq,
    *,
    context: Tensor,
    query: Tensor,
    reply: Tensor,
    forward_weight: float = 1.0,
) -> Tensor:
    """``r3 = (1/N_a) log p_forward(a | context) + (1/N_q) log p_backward(q | a)``.

    This is also the mutual-information reward of Li et al.'s first RL stage
    (:class:`lhyrl.agents.dialogue.DialogueMMI`), where ``forward_weight`` scales the first
    term (0: the backward term alone, and the forward model is not run).

    Args:
        forward_model: Scores the reply given the context (trained on context → reply).
        backward_model: Scores the turn answered given the reply (trained on reply → context).
        context: (B, S) long sources of the forward model: the dialogue history ``[p_i, q_i]``,
            encoded as the forward model was trained (e.g. ``DialogueData`` contexts).
        query: (B, T_q) long turns answered, ``q_i``, in target form.
        reply: (B, T) long replies ``a`` in target form.
        forward_weight: Weight of the forward term (1: r3).

    Returns:
        (B,) rewards, each non-positive.
    """
    _check_rows(context=context, query=query, reply=reply)
    src = replies_as_sources(
        reply, eos_id=backward_model.config.eos_id, pad_id=backward_model.config.pad_id
    )
    with _scoring(forward_model, backward_model):
        backward = mean_log_likelihood(backward_model, src, query)  # (B,)
        if forward_weight == 0:
            return backward
        forward = mean_log_likelihood(forward_model, context, reply)  # (B,)
    return forward_weight * forward + backward


@dataclass(frozen=True)
class DialogueRewardWeights:
    """Weights of the reward terms (Li et al. 2016: 0.25, 0.25, 0.5).

    Attributes:
        ease_of_answering: Weight of ``r1``.
        information_flow: Weight of ``r2``.
        semantic_coherence: Weight of ``r3``.
    """

    ease_of_answering: float = 0.25
    information_flow: float = 0.25
    semantic_coherence: float = 0.5


class DialogueRewardTerms(NamedTuple):
    """The reward and its terms, each (B,).

    Attributes:
        total: The weighted sum.
        ease_of_answering: ``r1``.
        information_flow: ``r2`` (0 where there is no previous turn).
        semantic_coherence: ``r3``.
    """

    total: Tensor
    ease_of_answering: Tensor
    information_flow: Tensor
    semantic_coherence: Tensor

    def info(self, row: int = 0) -> dict[str, float]:
        """The terms of one row as floats, e.g. for an env's ``info``."""
        return {name: float(value[row]) for name, value in self._asdict().items()}


class DialogueReward:
    """Li et al.'s (2016) dialogue reward: the weighted sum of r1, r2 and r3.

    Args:
        forward_model: The seq2seq model of replies given contexts; it scores dull replies
            (r1), encodes turns (r2) and scores replies (r3).
        backward_model: The seq2seq model of the turn answered given the reply (r3); it must
            share the forward model's vocabulary.
        dull_replies: (N_S, T_s) long dull replies in target form (:func:`encode_dull_replies`).
        weights: Weights of the three terms.
        min_cosine: Floor of the cosine in :func:`information_flow`.
    """

    def __init__(
        self,
        forward_model: Seq2Seq,
        backward_model: Seq2Seq,
        dull_replies: Tensor,
        *,
        weights: DialogueRewardWeights | None = None,
        min_cosine: float = MIN_COSINE,
    ) -> None:
        _check_tokens(dull_replies, "dull_replies")
        forward, backward = forward_model.config, backward_model.config
        if forward.vocab_size != forward.target_vocabulary:
            raise ValueError("the forward model must read its own replies: one vocabulary")
        if (forward.vocab_size, forward.target_vocabulary) != (
            backward.target_vocabulary,
            backward.vocab_size,
        ):
            raise ValueError("the backward model must read the forward model's replies")
        if not 0.0 < min_cosine < 1.0:
            raise ValueError(f"min_cosine must lie in (0, 1), got {min_cosine}")
        self.forward_model = forward_model
        self.backward_model = backward_model
        self.dull_replies = dull_replies
        self.weights = weights or DialogueRewardWeights()
        self.min_cosine = min_cosine

    def __call__(
        self,
        *,
        context: Tensor,
        query: Tensor,
        reply: Tensor,
        previous_reply: Tensor | None = None,
    ) -> DialogueRewardTerms:
        """Reward replies.

        Args:
            context: (B, S) long forward-model sources: the history the reply answers.
            query: (B, T_q) long turns answered (the other agent's last turn), target form.
            reply: (B, T) long replies, target form.
            previous_reply: (B, T_p) long previous turns of the same agent, target form, or
                ``None`` at its first turn (information flow is then 0).

        Returns:
            The total reward and each term, each (B,).
        """
        batches = {"context": context, "query": query, "reply": reply}
        if previous_reply is not None:
            batches["previous_reply"] = previous_reply
        _check_rows(**batches)
        r1 = ease_of_answering(self.forward_model, reply, self.dull_replies)  # (B,)
        if previous_reply is None:
            r2 = torch.zeros_like(r1)
        else:
            h_previous = encode_turns(self.forward_model, previous_reply)  # (B, D * H)
            h_reply = encode_turns(self.forward_model, reply)  # (B, D * H)
            r2 = information_flow(h_previous, h_reply, min_cosine=self.min_cosine)
        r3 = semantic_coherence(
            self.forward_model, self.backward_model, context=context, query=query, reply=reply
        )
        w = self.weights
        total = w.ease_of_answering * r1 + w.information_flow * r2 + w.semantic_coherence * r3
        return DialogueRewardTerms(total, r1, r2, r3)


__all__ = [
    "DULL_REPLIES",
    "MIN_COSINE",
    "DialogueReward",
    "DialogueRewardTerms",
    "DialogueRewardWeights",
    "ease_of_answering",
    "encode_dull_replies",
    "encode_turns",
    "information_flow",
    "mean_log_likelihood",
    "replies_as_sources",
    "semantic_coherence",
]
