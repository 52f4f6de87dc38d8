"""Recurrent token models: an LSTM/GRU generator that samples fast, and an encoder.

:class:`SequenceGenerator` is the policy of the sequence-generation-as-RL work (SeqGAN and its
baselines): embedding → LSTM/GRU → linear to the vocabulary. It scores sequences by teacher
forcing (:meth:`~SequenceGenerator.log_prob`), samples them (:meth:`~SequenceGenerator.sample`),
completes prefixes (:meth:`~SequenceGenerator.complete`) and draws SeqGAN's Monte Carlo
rollouts for every prefix of a batch at once (:meth:`~SequenceGenerator.monte_carlo_completions`).

Sequences follow the SeqGAN protocol: generation starts from a zero state with ``start_token``
fed as the first input; the start token is never part of the returned sequence and is an
ordinary token (no EOS, no padding).

Sampling uses inverse-CDF sampling (:func:`sample_categorical`): one uniform number per row,
a cumulative sum of the unnormalised probabilities, and a binary search, over chunks of
:data:`SAMPLE_CHUNK_ROWS` rows so that the (rows, V) buffers stay in cache. Measured on one CPU
thread with the paper's oracle (V = 5000): 10,000 sequences of 20 tokens take 3.1 s, against
13.5 s with the Gumbel-max trick (V uniform numbers per row) and 30 s with ``torch.multinomial``;
one SeqGAN rollout round (B = 64, T = 20, N = 16) takes 3.3 s, against 31 s. All randomness
comes from an explicit :class:`torch.Generator`, so results are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

RNNState: TypeAlias = Tensor | tuple[Tensor, Tensor]
"""A GRU's ``h`` or an LSTM's ``(h, c)``; each tensor is (num_layers * directions, B, H)."""

SAMPLE_CHUNK_ROWS = 512
"""Rows projected to the vocabulary and sampled at a time, which bounds the (rows, V) buffers."""


@dataclass
class RecurrentConfig:
    """Sizes of a recurrent token model.

    Attributes:
        vocab_size: Number of tokens V; tokens are ``0 .. V - 1``.
        embedding_dim: Size E of the token embeddings.
        hidden_dim: Size H of the recurrent state (per direction).
        num_layers: Stacked recurrent layers.
        cell: ``"lstm"`` or ``"gru"``.
        dropout: Dropout between stacked layers (PyTorch's ``nn.LSTM`` ``dropout``).
        bidirectional: Read sequences in both directions; only :class:`SequenceEncoder` can.
    """

    vocab_size: int
    embedding_dim: int = 32
    hidden_dim: int = 32
    num_layers: int = 1
    cell: Literal["lstm", "gru"] = "lstm"
    dropout: float = 0.0
    bidirectional: bool = False

    def __post_init__(self) -> None:
        if self.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {self.cell!r}")
        for name in ("vocab_size", "embedding_dim", "hidden_dim", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


def _make_rnn(config: RecurrentConfig) -> nn.LSTM | nn.GRU:
    rnn_class = nn.LSTM if config.cell == "lstm" else nn.GRU
    return rnn_class(
        config.embedding_dim,
        config.hidden_dim,
        num_layers=config.num_layers,
        dropout=config.dropout if config.num_layers > 1 else 0.0,
        bidirectional=config.bidirectional,
        batch_first=True,
    )


def map_state(state: RNNState, fn: Callable[[Tensor], Tensor]) -> RNNState:
    """Apply ``fn`` to every tensor of a recurrent state (``h``, or ``h`` and ``c``)."""
    if isinstance(state, tuple):
        return fn(state[0]), fn(state[1])
    return fn(state)


def _cat_states(first: RNNState, second: RNNState) -> RNNState:
    """Stack two states along the batch dimension (dim 1)."""
    if isinstance(first, tuple) and isinstance(second, tuple):
        return torch.cat([first[0], second[0]], 1), torch.cat([first[1], second[1]], 1)
    assert isinstance(first, Tensor) and isinstance(second, Tensor)
    return torch.cat([first, second], 1)


def _with_start(tokens: Tensor, start_token: int) -> Tensor:
    """Prepend ``start_token`` to every row: (B, T) → (B, T + 1)."""
    start = tokens.new_full((tokens.shape[0], 1), start_token)
    return torch.cat([start, tokens], 1)


@torch.no_grad()
def sample_categorical(
    logits: Tensor, generator: torch.Generator, temperature: float = 1.0
) -> Tensor:
    """Draw one index per row from ``softmax(logits / temperature)`` by inverse-CDF sampling.

    Each row needs one uniform number ``u``; the drawn index is the first one whose cumulative
    (unnormalised) probability exceeds ``u`` times the row total. Indices of probability zero
    (logit ``-inf``) are never drawn.

    Args:
        logits: (N, V) unnormalised log-probabilities.
        generator: Source of the uniform numbers; on the device of ``logits``.
        temperature: Divides the logits; below 1 sharpens, above 1 flattens.

    Returns:
        (N,) long indices in ``0 .. V - 1``.

    Raises:
        ValueError: If ``temperature`` is not positive.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if temperature != 1.0:
        logits = logits / temperature
    weights = (logits - logits.amax(-1, keepdim=True)).exp_()  # (N, V), max weight 1
    cdf = weights.cumsum_(-1)  # (N, V)
    u = torch.rand(cdf.shape[0], 1, generator=generator, device=cdf.device, dtype=cdf.dtype)
    index = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)  # (N, 1)
    return index.squeeze(1).clamp_(max=cdf.shape[1] - 1)


class SequenceGenerator(nn.Module):
    """Autoregressive token model: embedding → LSTM/GRU → linear to vocabulary logits.

    Args:
        config: Sizes; ``config.bidirectional`` must be false.
    """

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        if config.bidirectional:
            raise ValueError("a SequenceGenerator reads left to right: bidirectional must be False")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.rnn = _make_rnn(config)
        self.out = nn.Linear(config.hidden_dim, config.vocab_size)

    def forward(self, tokens: Tensor, state: RNNState | None = None) -> tuple[Tensor, RNNState]:
        """Teacher-forced pass: the logits of the next token after each input token.

        Args:
            tokens: (B, T) long input tokens.
            state: Recurrent state to start from; ``None`` for zeros.

        Returns:
            ``(logits, state)``: logits (B, T, V) and the state after the last input.
        """
        x = self.embedding(tokens)  # (B, T, E)
        h, state = self.rnn(x, state)  # (B, T, H)
        return self.out(h), state  # (B, T, V)

    def log_prob(self, sequences: Tensor, start_token: int, *, temperature: float = 1.0) -> Tensor:
        """Log-probability of every token of ``sequences``, given the tokens before it.

        Args:
            sequences: (B, T) long tokens; ``start_token`` is fed before the first one.
            start_token: The first input of every sequence (not scored).
            temperature: Scores under ``softmax(logits / temperature)``, the distribution
                :meth:`sample` draws from at that temperature.

        Returns:
            (B, T) ``log p(x_t | start, x_<t)``; differentiable.

        Raises:
            ValueError: If ``temperature`` is not positive.
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        inputs = _with_start(sequences[:, :-1], start_token)  # (B, T)
        logits, _ = self(inputs)  # (B, T, V)
        if temperature != 1.0:
            logits = logits / temperature
        chosen = logits.gather(-1, sequences.unsqueeze(-1)).squeeze(-1)  # (B, T)
        return chosen - logits.logsumexp(-1)  # (B, T)

    # --- sampling --------------------------------------------------------------------------

    def _step(self, tokens: Tensor, state: RNNState | None) -> tuple[Tensor, RNNState]:
        """Feed one token per row: (R,) → top-layer output (R, H) and the new state."""
        x = self.embedding(tokens.unsqueeze(1))  # (R, 1, E)
        h, state = self.rnn(x, state)  # (R, 1, H)
        return h.squeeze(1), state  # (R, H)

    def _draw(
        self,
        hidden: Tensor,
        generator: torch.Generator,
        temperature: float,
        with_log_probs: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Sample the next token from top-layer outputs (R, H), a chunk of rows at a time."""
        tokens: list[Tensor] = []
        log_probs: list[Tensor] = []
        for h in hidden.split(SAMPLE_CHUNK_ROWS):
            logits = self.out(h)  # (r, V)
            token = sample_categorical(logits.detach(), generator, temperature)  # (r,)
            tokens.append(token)
            if with_log_probs:
                tempered = logits / temperature if temperature != 1.0 else logits
                log_p = tempered.log_softmax(-1).gather(-1, token.unsqueeze(-1))  # (r, 1)
                log_probs.append(log_p.squeeze(-1))
        return torch.cat(tokens), torch.cat(log_probs) if with_log_probs else None

    def _continue(
        self,
        hidden: Tensor,
        state: RNNState,
        steps: int,
        generator: torch.Generator,
        temperature: float,
        with_log_probs: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Sample ``steps`` tokens per row, starting from the output ``hidden`` (R, H)."""
        tokens: list[Tensor] = []
        log_probs: list[Tensor] = []
        for i in range(steps):
            if i > 0:
                hidden, state = self._step(tokens[-1], state)  # (R, H)
            token, log_p = self._draw(hidden, generator, temperature, with_log_probs)  # (R,)
            tokens.append(token)
            if log_p is not None:
                log_probs.append(log_p)
        if not tokens:  # steps == 0
            empty = hidden.new_zeros((len(hidden), 0))
            return empty.long(), empty if with_log_probs else None
        return torch.stack(tokens, 1), torch.stack(log_probs, 1) if with_log_probs else None

    def _start(self, batch_size: int, start_token: int) -> tuple[Tensor, RNNState]:
        device = self.embedding.weight.device
        first = torch.full((batch_size,), start_token, dtype=torch.long, device=device)
        return self._step(first, None)

    @torch.no_grad()
    def sample(
        self,
        batch_size: int,
        length: int,
        *,
        start_token: int,
        generator: torch.Generator,
        temperature: float = 1.0,
    ) -> Tensor:
        """Sample sequences token by token, each fed back as the next input.

        Args:
            batch_size: Number of sequences B.
            length: Tokens per sequence T.
            start_token: First input of every sequence (not part of the result).
            generator: The only source of randomness.
            temperature: Divides the logits before sampling.

        Returns:
            (B, T) long tokens.
        """
        hidden, state = self._start(batch_size, start_token)  # (B, H)
        tokens, _ = self._continue(hidden, state, length, generator, temperature)
        return tokens

    def sample_with_log_probs(
        self,
        batch_size: int,
        length: int,
        *,
        start_token: int,
        generator: torch.Generator,
        temperature: float = 1.0,
    ) -> tuple[Tensor, Tensor]:
        """Sample like :meth:`sample`, also returning each drawn token's log-probability.

        The log-probabilities are those of the tempered distribution sampled from and carry
        gradients (REINFORCE can use them directly); :meth:`sample` followed by
        :meth:`log_prob` gives the same values for ``temperature=1`` at less memory.

        Returns:
            ``(tokens, log_probs)``, both (B, T).
        """
        hidden, state = self._start(batch_size, start_token)  # (B, H)
        tokens, log_probs = self._continue(hidden, state, length, generator, temperature, True)
        assert log_probs is not None
        return tokens, log_probs

    @torch.no_grad()
    def complete(
        self,
        prefixes: Tensor,
        length: int,
        n_rollouts: int,
        *,
        start_token: int,
        generator: torch.Generator,
        temperature: float = 1.0,
    ) -> Tensor:
        """Complete every prefix ``n_rollouts`` times to ``length`` tokens.

        The prefixes are run once; their state is repeated ``n_rollouts`` times and the rest
        is sampled for all B * N rows together.

        Args:
            prefixes: (B, t) long tokens, ``0 <= t <= length``.
            length: Length T of the completed sequences.
            n_rollouts: Completions per prefix N.
            start_token: First input of every sequence.
            generator: The only source of randomness.
            temperature: Divides the logits before sampling.

        Returns:
            (N, B, T) long tokens; ``[n, b, :t]`` equals ``prefixes[b]``.
        """
        batch_size, t = prefixes.shape
        if not 0 <= t <= length:
            raise ValueError(f"prefix length {t} must lie in 0 .. length={length}")
        if n_rollouts < 1:
            raise ValueError(f"n_rollouts must be at least 1, got {n_rollouts}")
        x = self.embedding(_with_start(prefixes, start_token))  # (B, t + 1, E)
        h, state = self.rnn(x)  # (B, t + 1, H)
        hidden = h[:, -1].repeat(n_rollouts, 1)  # (N * B, H), rows ordered (n, b)
        state = map_state(state, lambda s: s.repeat(1, n_rollouts, 1))  # (L, N * B, H)
        rest, _ = self._continue(hidden, state, length - t, generator, temperature)
        head = prefixes.repeat(n_rollouts, 1)  # (N * B, t)
        return torch.cat([head, rest], 1).view(n_rollouts, batch_size, length)

    @torch.no_grad()
    def monte_carlo_completions(
        self,
        sequences: Tensor,
        n_rollouts: int,
        *,
        start_token: int,
        generator: torch.Generator,
        temperature: float = 1.0,
    ) -> Tensor:
        """SeqGAN's rollouts: complete every proper prefix of every sequence N times.

        For each prefix length ``t = 1 .. T - 1`` and each rollout ``n``, the sequence's first
        ``t`` tokens are kept and the rest is sampled. The states after each prefix come from
        one teacher-forced pass over the B sequences; then one loop over time steps samples
        every (t, n, b) row whose prefix has ended, so step ``s`` runs ``s * N * B`` rows and
        no row is run over its prefix twice.

        Args:
            sequences: (B, T) long tokens, T >= 2.
            n_rollouts: Completions per prefix N.
            start_token: First input of every sequence.
            generator: The only source of randomness.
            temperature: Divides the logits before sampling.

        Returns:
            (T - 1, N, B, T) long tokens; ``[t - 1, n, b, :t]`` equals ``sequences[b, :t]``.
        """
        batch_size, length = sequences.shape
        if length < 2:
            raise ValueError(f"sequences need at least 2 tokens to have a proper prefix: {length}")
        if n_rollouts < 1:
            raise ValueError(f"n_rollouts must be at least 1, got {n_rollouts}")
        # Teacher-forced pass; prefix_hidden[t] predicts token t after the prefix x_<t.
        inputs = _with_start(sequences[:, :-1], start_token)  # (B, T)
        prefix_hidden: list[Tensor] = []
        prefix_state: list[RNNState] = []
        state: RNNState | None = None
        for t in range(length):
            hidden, state = self._step(inputs[:, t], state)  # (B, H)
            prefix_hidden.append(hidden)
            prefix_state.append(state)

        def repeat(s: Tensor) -> Tensor:
            return s.repeat(1, n_rollouts, 1)  # (L, N * B, H)

        rows = n_rollouts * batch_size
        out = sequences.expand(length - 1, n_rollouts, batch_size, length).clone()
        flat = out.view(-1, length)  # ((T - 1) * N * B, T), rows ordered (t, n, b)
        tokens = sequences.new_empty(0)
        for s in range(1, length):
            # Rows of prefix length s join; rows of shorter prefixes feed their last sample.
            new_hidden = prefix_hidden[s].repeat(n_rollouts, 1)  # (N * B, H)
            new_state = map_state(prefix_state[s], repeat)
            if s == 1:
                hidden, state = new_hidden, new_state
            else:
                assert state is not None
                old_hidden, old_state = self._step(tokens, state)  # ((s - 1) * N * B, H)
                hidden = torch.cat([old_hidden, new_hidden])  # (s * N * B, H)
                state = _cat_states(old_state, new_state)
            tokens, _ = self._draw(hidden, generator, temperature)  # (s * N * B,)
            flat[: s * rows, s] = tokens
        return out


class SequenceEncoder(nn.Module):
    """Reads token sequences with an LSTM/GRU, optionally in both directions (seq2seq encoder).

    Args:
        config: Sizes; ``config.bidirectional`` chooses one or two directions D.
    """

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.rnn = _make_rnn(config)

    @property
    def output_dim(self) -> int:
        """Size D * H of each output step and of each layer's final state."""
        return self.config.hidden_dim * (2 if self.config.bidirectional else 1)

    def forward(self, tokens: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, RNNState]:
        """Encode a batch of sequences.

        Args:
            tokens: (B, T) long tokens; with ``lengths``, positions past a row's length are
                padding and are not read.
            lengths: (B,) number of real tokens per row (at least 1), or ``None`` for all T.

        Returns:
            ``(outputs, state)``: outputs (B, T, D * H), zero past each row's length; the final
            state with the directions concatenated, each tensor (num_layers, B, D * H), ready
            to start a decoder of hidden size D * H.
        """
        batch_size, length = tokens.shape
        x = self.embedding(tokens)  # (B, T, E)
        if lengths is None:
            outputs, state = self.rnn(x)  # (B, T, D * H)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            packed_out, state = self.rnn(packed)
            outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=length)
        directions = 2 if self.config.bidirectional else 1

        def merge(s: Tensor) -> Tensor:
            s = s.view(self.config.num_layers, directions, batch_size, -1)  # (L, D, B, H)
            return s.permute(0, 2, 1, 3).reshape(self.config.num_layers, batch_size, -1)

        return outputs, map_state(state, merge)  # (B, T, D * H), (L, B, D * H)
