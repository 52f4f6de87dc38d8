"""Sequence-to-sequence model: an LSTM/GRU encoder and an attentional decoder (the chat-bot's).

The encoder is a :class:`~lhyrl.nn.recurrent.SequenceEncoder`, bidirectional by default; its
final state, directions concatenated, starts the decoder, whose hidden size is therefore
``D * hidden_dim``. The decoder follows Luong et al. (2015): at step t its top-layer state
``h_t`` attends to the encoder outputs (additive or dot-product score, see
:mod:`lhyrl.nn.attention`), and ``tanh(W [h_t; context_t])`` is projected to the vocabulary.
Without input feeding, teacher forcing runs the decoder over all steps at once.

Token conventions are those of :class:`lhyrl.data.text.Vocabulary` (``<pad>`` 0, ``<bos>`` 1,
``<eos>`` 2 by default):

- a source ``src`` is (B, S) tokens, each row padded with ``pad_id`` after its last token;
- a target ``tgt`` is (B, T) tokens: the reply, ``eos_id``, then ``pad_id`` (the form of
  :meth:`~lhyrl.data.text.Vocabulary.encode_batch`); the decoder reads ``bos_id`` followed by
  ``tgt[:, :-1]`` (:meth:`Seq2Seq.decoder_inputs`);
- generated replies (:meth:`Seq2Seq.greedy`, :meth:`Seq2Seq.sample`,
  :meth:`Seq2Seq.beam_search`) have the same form, and the model never emits ``pad_id`` or
  ``bos_id`` (their logits are ``-inf``), so :meth:`Seq2Seq.score` of a reply equals the sum of
  the log-probabilities with which it was generated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from lhyrl.data.text import BOS_ID, EOS_ID, PAD_ID
from lhyrl.nn.attention import AdditiveAttention, Attention, DotProductAttention
from lhyrl.nn.recurrent import (
    RecurrentConfig,
    RNNState,
    SequenceEncoder,
    map_state,
    sample_categorical,
)


@dataclass
class Seq2SeqConfig:
    """Sizes and token ids of a :class:`Seq2Seq` model.

    Attributes:
        vocab_size: Source vocabulary size; also the target's when ``target_vocab_size`` is
            ``None``, in which case encoder and decoder share one embedding table.
        target_vocab_size: Target vocabulary size, if the target has its own vocabulary.
        embedding_dim: Size E of the token embeddings.
        hidden_dim: Encoder state size H per direction; the decoder's is D * H.
        num_layers: Stacked recurrent layers, in the encoder and in the decoder.
        cell: ``"lstm"`` or ``"gru"``.
        bidirectional: Read the source in both directions (D = 2).
        attention: ``"additive"`` (Bahdanau), ``"dot"`` (Luong's general score, scaled) or
            ``"none"`` (the encoder's final state is all the decoder sees).
        dropout: Dropout on embeddings, between layers and before the output layer.
        pad_id: Padding token, ignored by the loss and emitted only after ``eos_id``.
        bos_id: First decoder input.
        eos_id: Ends a reply.
    """

    vocab_size: int
    target_vocab_size: int | None = None
    embedding_dim: int = 64
    hidden_dim: int = 64
    num_layers: int = 1
    cell: Literal["lstm", "gru"] = "lstm"
    bidirectional: bool = True
    attention: Literal["additive", "dot", "none"] = "additive"
    dropout: float = 0.0
    pad_id: int = PAD_ID
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID

    def __post_init__(self) -> None:
        if self.attention not in ("additive", "dot", "none"):
            raise ValueError(
                f"attention must be 'additive', 'dot' or 'none', got {self.attention!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        ids = {"pad_id": self.pad_id, "bos_id": self.bos_id, "eos_id": self.eos_id}
        if len(set(ids.values())) < 3:
            raise ValueError(f"pad_id, bos_id and eos_id must differ, got {ids}")
        for name, value in ids.items():
            if not 0 <= value < min(self.vocab_size, self.target_vocabulary):
                raise ValueError(f"{name}={value} is outside the vocabulary")
        self.encoder_config()  # checks the sizes and the cell

    @property
    def target_vocabulary(self) -> int:
        """Target vocabulary size V."""
        return self.vocab_size if self.target_vocab_size is None else self.target_vocab_size

    @property
    def decoder_dim(self) -> int:
        """Decoder state size D * H."""
        return self.hidden_dim * (2 if self.bidirectional else 1)

    def encoder_config(self) -> RecurrentConfig:
        """The configuration of the encoder."""
        return RecurrentConfig(
            vocab_size=self.vocab_size,
            embedding_dim=self.embedding_dim,
            hidden_dim=self.hidden_dim,
            num_layers=self.num_layers,
            cell=self.cell,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )


def _select_rows(state: RNNState, index: Tensor) -> RNNState:
    """The batch rows ``index`` (R,) of a recurrent state: (L, B, H) → (L, R, H)."""
    return map_state(state, lambda s: s[:, index])


@dataclass
class EncodedSource:
    """What the decoder needs of an encoded source batch.

    Attributes:
        outputs: (B, S, D * H) encoder outputs, zero at padding; the attention keys.
        mask: (B, S) bool, true at real source positions.
        state: The encoder's final state, each tensor (num_layers, B, D * H).
        projected_keys: (B, S, A) key part of the attention scores, or ``None`` without
            attention.
    """

    outputs: Tensor
    mask: Tensor
    state: RNNState
    projected_keys: Tensor | None

    def index_select(self, index: Tensor) -> EncodedSource:
        """The rows ``index`` (R,) of the batch, e.g. each row repeated once per beam."""
        keys = self.projected_keys
        return EncodedSource(
            self.outputs[index],
            self.mask[index],
            _select_rows(self.state, index),
            None if keys is None else keys[index],
        )


class Decoded(NamedTuple):
    """Generated replies.

    Attributes:
        tokens: (B, T) long: each reply, its ``eos_id`` (unless cut at ``max_len``), then
            ``pad_id``; T is the longest reply's length.
        scores: (B,) sum of the tokens' log-probabilities, ``eos_id`` included (for beam
            search with a length penalty, divided by ``lengths ** length_penalty``).
        lengths: (B,) number of tokens before the padding, ``eos_id`` included.
    """

    tokens: Tensor
    scores: Tensor
    lengths: Tensor


class Seq2Seq(nn.Module):
    """Encoder-decoder with attention; teacher forcing, scheduled sampling and decoding.

    Args:
        config: Sizes, cell, attention and token ids.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.never_emitted: Tensor  # (V,) bool: pad_id and bos_id, whose logits are -inf
        hidden, vocab = config.decoder_dim, config.target_vocabulary
        self.encoder = SequenceEncoder(config.encoder_config())
        shared = config.target_vocab_size is None
        self.embedding = (
            self.encoder.embedding if shared else nn.Embedding(vocab, config.embedding_dim)
        )
        rnn_class = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn_class(
            config.embedding_dim,
            hidden,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.attention: Attention | None = None
        if config.attention == "additive":
            self.attention = AdditiveAttention(hidden, hidden, hidden)
        elif config.attention == "dot":
            self.attention = DotProductAttention(hidden, hidden)
        self.combine = nn.Linear(2 * hidden, hidden) if self.attention is not None else None
        self.drop = nn.Dropout(config.dropout)
        self.out = nn.Linear(hidden, vocab)
        never = torch.zeros(vocab, dtype=torch.bool)
        never[[config.pad_id, config.bos_id]] = True
        self.register_buffer("never_emitted", never, persistent=False)  # (V,)

    # --- teacher forcing -----------------------------------------------------------------

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> EncodedSource:
        """Encode a source batch.

        Args:
            src: (B, S) long tokens, padded with ``pad_id`` after each row's last token.
            src_lengths: (B,) real tokens per row (at least 1); ``None`` counts the tokens
                that are not ``pad_id``.

        Returns:
            The encoder outputs, source mask, final state and projected attention keys.
        """
        self._check_tokens(src, "src", self.config.vocab_size)
        positions = torch.arange(src.shape[1], device=src.device)  # (S,)
        if src_lengths is None:
            src_lengths = (src != self.config.pad_id).sum(1)  # (B,)
            if not torch.equal(src != self.config.pad_id, positions < src_lengths[:, None]):
                raise ValueError("src has pad_id between real tokens; pass src_lengths")
        if src_lengths.shape != src.shape[:1] or src_lengths.dtype.is_floating_point:
            raise ValueError(f"src_lengths must be ({src.shape[0]},) integers")
        if src_lengths.min() < 1 or src_lengths.max() > src.shape[1]:
            raise ValueError(f"every source needs 1 .. {src.shape[1]} tokens, got {src_lengths}")
        outputs, state = self.encoder(src, src_lengths)  # (B, S, D * H)
        keys = None if self.attention is None else self.attention.project_keys(outputs)
        return EncodedSource(outputs, positions < src_lengths[:, None], state, keys)

    def decode(
        self, tokens: Tensor, state: RNNState, source: EncodedSource
    ) -> tuple[Tensor, RNNState]:
        """Run the decoder over given inputs.

        Args:
            tokens: (B, T) long decoder inputs.
            state: Decoder state to start from (``source.state`` at the first step).
            source: The encoded source.

        Returns:
            ``(logits, state)``: next-token logits (B, T, V), ``-inf`` for ``pad_id`` and
            ``bos_id``, and the state after the last input.
        """
        h, _, state = self._decode_hidden(tokens, state, source)  # (B, T, D * H)
        logits = self.out(self.drop(h))  # (B, T, V)
        return logits.masked_fill(self.never_emitted, float("-inf")), state

    def _decode_hidden(
        self, tokens: Tensor, state: RNNState, source: EncodedSource
    ) -> tuple[Tensor, Tensor | None, RNNState]:
        """Decoder outputs (B, T, D * H) before the vocabulary layer, attention weights, state."""
        x = self.drop(self.embedding(tokens))  # (B, T, E)
        h, state = self.rnn(x, state)  # (B, T, D * H)
        if self.attention is None or self.combine is None:
            return h, None, state
        context, weights = self.attention(h, source.outputs, source.mask, source.projected_keys)
        h = torch.tanh(self.combine(torch.cat([h, context], -1)))  # (B, T, D * H)
        return h, weights, state  # weights (B, T, S)

    @torch.no_grad()
    def attention_weights(
        self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None = None
    ) -> Tensor:
        """Where each decoder step looks in the source, teacher forced.

        Args:
            src: (B, S) long source tokens.
            tgt_in: (B, T) long decoder inputs.
            src_lengths: See :meth:`encode`.

        Returns:
            (B, T, S) attention weights; each row sums to 1 over the real source positions.

        Raises:
            ValueError: If the model has no attention.
        """
        if self.attention is None:
            raise ValueError("this model has no attention (config.attention='none')")
        self._check_tokens(tgt_in, "tgt_in", self.config.target_vocabulary, src.shape[0])
        source = self.encode(src, src_lengths)
        _, weights, _ = self._decode_hidden(tgt_in, source.state, source)
        assert weights is not None
        return weights

    def forward(
        self,
        src: Tensor,
        tgt_in: Tensor,
        src_lengths: Tensor | None = None,
        *,
        sampling_probability: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Teacher-forced (or scheduled-sampling) logits of the next target token.

        With scheduled sampling (Bengio et al., 2015), at each step t >= 1 each row is fed,
        with probability ``sampling_probability``, a token sampled from the model's own
        logits of step t - 1 instead of ``tgt_in[:, t]``; the decoder then runs step by step.

        Args:
            src: (B, S) long source tokens.
            tgt_in: (B, T) long decoder inputs, e.g. :meth:`decoder_inputs` of a target.
            src_lengths: See :meth:`encode`.
            sampling_probability: Probability of feeding the model's own sample, in [0, 1].
            generator: Randomness of scheduled sampling; required when it is on.

        Returns:
            (B, T, V) logits.
        """
        self._check_tokens(tgt_in, "tgt_in", self.config.target_vocabulary, src.shape[0])
        if not 0.0 <= sampling_probability <= 1.0:
            raise ValueError(f"sampling_probability must lie in [0, 1], got {sampling_probability}")
        source = self.encode(src, src_lengths)
        if sampling_probability == 0.0:
            return self.decode(tgt_in, source.state, source)[0]  # (B, T, V)
        if generator is None:
            raise ValueError("scheduled sampling needs a generator")
        steps: list[Tensor] = []
        state, tokens = source.state, tgt_in[:, 0]  # (B,)
        for t in range(tgt_in.shape[1]):
            if t > 0:
                own = sample_categorical(steps[-1].detach(), generator)  # (B,)
                u = torch.rand(len(own), generator=generator, device=own.device)  # (B,)
                tokens = torch.where(u < sampling_probability, own, tgt_in[:, t])
            logits, state = self.decode(tokens[:, None], state, source)  # (B, 1, V)
            steps.append(logits[:, 0])
        return torch.stack(steps, 1)  # (B, T, V)

    def decoder_inputs(self, tgt: Tensor) -> Tensor:
        """``bos_id`` followed by ``tgt[:, :-1]``: (B, T) → (B, T)."""
        bos = tgt.new_full((tgt.shape[0], 1), self.config.bos_id)
        return torch.cat([bos, tgt[:, :-1]], 1)

    def token_log_probs(
        self, src: Tensor, tgt: Tensor, src_lengths: Tensor | None = None
    ) -> Tensor:
        """Log-probability of every target token given the source and the tokens before it.

        Args:
            src: (B, S) long source tokens.
            tgt: (B, T) long targets: reply, ``eos_id``, padding.
            src_lengths: See :meth:`encode`.

        Returns:
            (B, T) ``log p(tgt_t | src, tgt_<t)``, 0 at padding; differentiable.
        """
        logits = self(src, self.decoder_inputs(tgt), src_lengths)  # (B, T, V)
        log_probs = logits.log_softmax(-1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)  # (B, T)
        return log_probs.masked_fill(tgt == self.config.pad_id, 0.0)

    def score(self, src: Tensor, tgt: Tensor, src_lengths: Tensor | None = None) -> Tensor:
        """Log-likelihood ``log p(tgt | src)`` of whole replies; differentiable.

        Args:
            src: (B, S) long source tokens.
            tgt: (B, T) long targets: reply, ``eos_id``, padding (as the decoders return).
            src_lengths: See :meth:`encode`.

        Returns:
            (B,) sum of the log-probabilities of the tokens that are not ``pad_id``.
        """
        return self.token_log_probs(src, tgt, src_lengths).sum(1)

    def loss(
        self,
        src: Tensor,
        tgt: Tensor,
        src_lengths: Tensor | None = None,
        *,
        sampling_probability: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Mean negative log-likelihood per target token, padding ignored.

        Args:
            src: (B, S) long source tokens.
            tgt: (B, T) long targets: reply, ``eos_id``, padding.
            src_lengths: See :meth:`encode`.
            sampling_probability: Scheduled sampling, see :meth:`forward`.
            generator: Randomness of scheduled sampling.

        Returns:
            Scalar loss.
        """
        logits = self(
            src,
            self.decoder_inputs(tgt),
            src_lengths,
            sampling_probability=sampling_probability,
            generator=generator,
        )  # (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=self.config.pad_id)

    # --- decoding ------------------------------------------------------------------------

    @torch.no_grad()
    def greedy(
        self, src: Tensor, src_lengths: Tensor | None = None, *, max_len: int = 20
    ) -> Decoded:
        """Reply with the most likely token at every step.

        Args:
            src: (B, S) long source tokens.
            src_lengths: See :meth:`encode`.
            max_len: Most tokens per reply, ``eos_id`` included.

        Returns:
            The replies and their log-probabilities.
        """
        return self._generate(src, src_lengths, max_len, lambda logits: logits.argmax(-1))

    @torch.no_grad()
    def sample(
        self,
        src: Tensor,
        src_lengths: Tensor | None = None,
        *,
        max_len: int = 20,
        temperature: float = 1.0,
        generator: torch.Generator,
    ) -> Decoded:
        """Reply by sampling every token from ``softmax(logits / temperature)``.

        Args:
            src: (B, S) long source tokens.
            src_lengths: See :meth:`encode`.
            max_len: Most tokens per reply, ``eos_id`` included.
            temperature: Divides the logits before sampling.
            generator: The only source of randomness.

        Returns:
            The replies and their log-probabilities under the model (temperature 1).
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        return self._generate(
            src,
            src_lengths,
            max_len,
            lambda logits: sample_categorical(logits, generator, temperature),
        )

    @torch.no_grad()
    def sample_continuations(
        self,
        src: Tensor,
        prefix: Tensor,
        src_lengths: Tensor | None = None,
        *,
        max_len: int = 20,
        temperature: float = 1.0,
        generator: torch.Generator,
    ) -> Decoded:
        """Complete reply prefixes by sampling: the Monte Carlo search of SeqGAN and REGS.

        The decoder reads ``bos_id`` and the prefix teacher-forced, then samples every further
        token from ``softmax(logits / temperature)`` until ``eos_id`` or ``max_len`` tokens. A
        row whose prefix already holds ``eos_id`` (or ``pad_id``) is finished and only padded.
        With an empty prefix (P = 0) this is :meth:`sample`, draw for draw.

        Args:
            src: (B, S) long source tokens.
            prefix: (B, P) long, 0 <= P <= ``max_len``: the first P tokens of each reply, in
                target form (a finished row holds ``eos_id``, then ``pad_id``).
            src_lengths: See :meth:`encode`.
            max_len: Most tokens per reply, prefix and ``eos_id`` included.
            temperature: Divides the logits before sampling.
            generator: The only source of randomness.

        Returns:
            The completed replies, ``tokens[:, :P]`` equal to ``prefix``, and their
            log-probabilities under the model (temperature 1), prefix included.
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self._check_max_len(max_len)
        batch_size, prefix_len = src.shape[0], (prefix.shape[1] if prefix.dim() == 2 else -1)
        if prefix.dtype != torch.long or prefix.dim() != 2 or prefix.shape[0] != batch_size:
            raise ValueError(
                f"prefix must be a ({batch_size}, P) long tensor, got {prefix.dtype} "
                f"{tuple(prefix.shape)}"
            )
        if prefix_len > max_len:
            raise ValueError(f"the prefix has {prefix_len} tokens, more than max_len={max_len}")
        vocab, pad, eos = self.config.target_vocabulary, self.config.pad_id, self.config.eos_id
        if prefix.numel() and (prefix.min() < 0 or prefix.max() >= vocab):
            raise ValueError(f"prefix has tokens outside 0 .. {vocab - 1}")
        source = self.encode(src, src_lengths)
        inputs = torch.cat([prefix.new_full((batch_size, 1), self.config.bos_id), prefix], 1)
        logits, state = self.decode(inputs, source.state, source)  # (B, P + 1, V)
        known = logits[:, :prefix_len].log_softmax(-1)  # (B, P, V)
        known = known.gather(-1, prefix.unsqueeze(-1)).squeeze(-1)  # (B, P)
        scores = known.masked_fill(prefix == pad, 0.0).sum(1)  # (B,)
        done = ((prefix == eos) | (prefix == pad)).any(1)  # (B,)
        step_logits = logits[:, -1]  # (B, V)
        steps: list[Tensor] = []
        for _ in range(max_len - prefix_len):
            if done.all():
                break
            if steps:
                step_logits, state = self.decode(steps[-1][:, None], state, source)
                step_logits = step_logits[:, 0]  # (B, V)
            tokens = sample_categorical(step_logits, generator, temperature)  # (B,)
            log_p = step_logits.log_softmax(-1).gather(-1, tokens[:, None]).squeeze(1)  # (B,)
            scores += log_p.masked_fill(done, 0.0)
            tokens = tokens.masked_fill(done, pad)
            steps.append(tokens)
            done |= tokens == eos
        out = torch.cat([prefix, *(s[:, None] for s in steps)], 1)  # (B, T)
        return Decoded(out, scores, (out != pad).sum(1))

    def _generate(
        self,
        src: Tensor,
        src_lengths: Tensor | None,
        max_len: int,
        choose: Callable[[Tensor], Tensor],
    ) -> Decoded:
        """Decode token by token, each chosen by ``choose`` from the logits (B, V)."""
        self._check_max_len(max_len)
        source = self.encode(src, src_lengths)
        batch_size = src.shape[0]
        tokens = src.new_full((batch_size,), self.config.bos_id)  # (B,)
        state = source.state
        done = torch.zeros(batch_size, dtype=torch.bool, device=src.device)  # (B,)
        scores = source.outputs.new_zeros(batch_size)  # (B,)
        steps: list[Tensor] = []
        for _ in range(max_len):
            logits, state = self.decode(tokens[:, None], state, source)
            logits = logits[:, 0]  # (B, V)
            tokens = choose(logits)  # (B,)
            log_p = logits.log_softmax(-1).gather(-1, tokens[:, None]).squeeze(1)  # (B,)
            scores += log_p.masked_fill(done, 0.0)
            tokens = tokens.masked_fill(done, self.config.pad_id)
            steps.append(tokens)
            done |= tokens == self.config.eos_id
            if done.all():
                break
        out = torch.stack(steps, 1)  # (B, T)
        return Decoded(out, scores, (out != self.config.pad_id).sum(1))

    @torch.no_grad()
    def beam_search(
        self,
        src: Tensor,
        src_lengths: Tensor | None = None,
        *,
        beam_size: int = 4,
        max_len: int = 20,
        length_penalty: float = 0.0,
    ) -> Decoded:
        """Reply with the best of ``beam_size`` hypotheses kept per source, all sources at once.

        Each step extends the B * K live hypotheses by every token and keeps, per source, the
        K best by sum of log-probabilities; a finished hypothesis keeps its slot and score
        (it is extended by ``pad_id`` at no cost). The search ends when every hypothesis has
        ended or after ``max_len`` tokens; the hypothesis returned has the best
        ``sum / length ** length_penalty``. With ``beam_size=1`` it is :meth:`greedy`.

        Args:
            src: (B, S) long source tokens.
            src_lengths: See :meth:`encode`.
            beam_size: Hypotheses kept per source K.
            max_len: Most tokens per reply, ``eos_id`` included.
            length_penalty: Exponent α of the length normalisation; 0 ranks by plain sums.

        Returns:
            The best reply per source and its (length-normalised) score.
        """
        self._check_max_len(max_len)
        if beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {beam_size}")
        source = self.encode(src, src_lengths)
        batch_size, k, pad = src.shape[0], beam_size, self.config.pad_id
        vocab = self.config.target_vocabulary
        rows = torch.arange(batch_size, device=src.device)  # (B,)
        source = source.index_select(rows.repeat_interleave(k))  # B * K rows, ordered (b, k)
        state = source.state
        scores = source.outputs.new_full((batch_size, k), float("-inf"))  # (B, K)
        scores[:, 0] = 0.0  # the first step extends a single hypothesis per source
        tokens = src.new_full((batch_size * k,), self.config.bos_id)  # (B * K,)
        history = src.new_empty((batch_size, k, 0))  # (B, K, t)
        done = torch.zeros(batch_size, k, dtype=torch.bool, device=src.device)  # (B, K)
        ended = source.outputs.new_full((vocab,), float("-inf"))  # (V,) after EOS: only pad, free
        ended[pad] = 0.0
        for _ in range(max_len):
            logits, state = self.decode(tokens[:, None], state, source)  # (B * K, 1, V)
            log_p = logits.view(batch_size, k, vocab).log_softmax(-1)  # (B, K, V)
            log_p = torch.where(done[..., None], ended, log_p)
            candidates = (scores[..., None] + log_p).view(batch_size, k * vocab)  # (B, K * V)
            scores, index = candidates.topk(k, -1)  # (B, K)
            beam, token = index // vocab, index % vocab  # (B, K)
            history = torch.cat(
                [history.gather(1, beam[..., None].expand_as(history)), token[..., None]], -1
            )
            done = done.gather(1, beam) | (token == self.config.eos_id) | scores.isneginf()
            parent = (rows[:, None] * k + beam).view(-1)  # (B * K,)
            state = _select_rows(state, parent)
            tokens = token.view(-1)  # (B * K,)
            if done.all():
                break
        lengths = (history != pad).sum(-1)  # (B, K)
        ranked = scores / lengths.to(scores.dtype) ** length_penalty if length_penalty else scores
        best = ranked.argmax(-1)  # (B,)
        out = history[rows, best]  # (B, T)
        return Decoded(out, ranked[rows, best], lengths[rows, best])

    # --- checks --------------------------------------------------------------------------

    @staticmethod
    def _check_tokens(tokens: Tensor, name: str, vocab: int, batch_size: int | None = None) -> None:
        if tokens.dtype != torch.long or tokens.dim() != 2:
            raise ValueError(
                f"{name} must be a 2-d long tensor, got {tokens.dtype} {tuple(tokens.shape)}"
            )
        if tokens.shape[0] == 0 or tokens.shape[1] == 0:
            raise ValueError(f"{name} is empty: shape {tuple(tokens.shape)}")
        if batch_size is not None and tokens.shape[0] != batch_size:
            raise ValueError(f"{name} has {tokens.shape[0]} rows, the source {batch_size}")
        if tokens.min() < 0 or tokens.max() >= vocab:
            raise ValueError(f"{name} has tokens outside 0 .. {vocab - 1}")

    @staticmethod
    def _check_max_len(max_len: int) -> None:
        if max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {max_len}")
