"""Dialogue encoders: a turn encoder and Li et al.'s (2017) hierarchical discriminator.

"Adversarial Learning for Neural Dialogue Generation" scores a whole dialogue (a query and a
reply, or more turns) as human or machine made: every turn is encoded to one vector by an
utterance encoder, a dialogue-level recurrent encoder reads the turn vectors in order, and a
linear layer maps its final state to one logit (high = human). The logits pair with the
objectives of :mod:`lhyrl.nn.gan.objectives` (bce's probability
:meth:`HierarchicalDiscriminator.prob_human` is REGS's reward in REINFORCE).
:class:`DialogueAutoEncoderDiscriminator` is the energy discriminator of dialogues that EBGAN
and MAGAN need.

Token conventions are those of :class:`lhyrl.data.text.Vocabulary` (``<pad>`` 0, ``<eos>``
2 by default):

- a turn is a row of token ids; it **ends at its first** ``pad_id`` **or** ``eos_id``, and
  that token and everything after it are ignored. So ``[5, 6, eos, pad]``, ``[5, 6, pad, pad]``
  and ``[5, 6]`` are the same turn, and extra padding columns change nothing;
- a turn of length 0 is *empty*. :class:`UtteranceEncoder` gives every empty turn the same
  vector: zeros, or a learned vector (``UtteranceEncoderConfig.empty_turn``);
- a dialogue is (N, L) turns. A turn whose first token is ``pad_id`` (an all-pad row) is
  *absent*: :class:`HierarchicalDiscriminator` skips it, so dialogues of a batch may have
  different numbers of turns. A turn whose first token is ``eos_id`` is present but empty
  (an empty reply), and is read as the empty-turn vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from lhyrl.data.text import EOS_ID, PAD_ID
from lhyrl.nn.gan.energy import SequenceAutoEncoderConfig, SequenceAutoEncoderDiscriminator
from lhyrl.nn.recurrent import RecurrentConfig, RNNState, SequenceEncoder, _make_rnn


def _last_layer(state: RNNState) -> Tensor:
    """The top layer's final ``h`` of a state with directions merged: (L, B, D * H) → (B, D * H)."""
    h = state[0] if isinstance(state, tuple) else state
    return h[-1]


def _check_tokens(tokens: Tensor, name: str, dims: int, vocab_size: int) -> None:
    if tokens.dtype != torch.long or tokens.dim() != dims:
        raise ValueError(
            f"{name} must be a {dims}-d long tensor, got {tokens.dtype} {tuple(tokens.shape)}"
        )
    if tokens.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(tokens.shape)}")
    if tokens.min() < 0 or tokens.max() >= vocab_size:
        raise ValueError(f"{name} has tokens outside 0 .. {vocab_size - 1}")


def stack_turns(turns: Sequence[Tensor], pad_id: int = PAD_ID) -> Tensor:
    """Stack turns of different lengths into one dialogue batch, padding with ``pad_id``.

    Args:
        turns: N tensors, each (B, L_i) long, e.g. a query batch and a generated reply batch.
        pad_id: Fills each turn past its L_i columns.

    Returns:
        (B, N, max L_i) long dialogues.
    """
    if not turns:
        raise ValueError("stack_turns needs at least one turn")
    length = max(t.shape[1] for t in turns)
    return torch.stack([F.pad(t, (0, length - t.shape[1]), value=pad_id) for t in turns], 1)


@dataclass
class UtteranceEncoderConfig:
    """Sizes and token ids of an :class:`UtteranceEncoder`.

    Attributes:
        vocab_size: Number of tokens V.
        embedding_dim: Size E of the token embeddings.
        hidden_dim: Recurrent state size H per direction.
        num_layers: Stacked recurrent layers.
        cell: ``"lstm"`` or ``"gru"``.
        bidirectional: Read each turn in both directions (D = 2).
        dropout: Dropout between stacked layers and on the turn vectors.
        empty_turn: Vector of an empty turn: ``"zero"`` or ``"learned"`` (initialised to 0).
        pad_id: Padding token; ends a turn.
        eos_id: End-of-sentence token; ends a turn.
    """

    vocab_size: int
    embedding_dim: int = 64
    hidden_dim: int = 64
    num_layers: int = 1
    cell: Literal["lstm", "gru"] = "lstm"
    bidirectional: bool = True
    dropout: float = 0.0
    empty_turn: Literal["zero", "learned"] = "learned"
    pad_id: int = PAD_ID
    eos_id: int = EOS_ID

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.empty_turn not in ("zero", "learned"):
            raise ValueError(f"empty_turn must be 'zero' or 'learned', got {self.empty_turn!r}")
        if self.pad_id == self.eos_id:
            raise ValueError(f"pad_id and eos_id must differ, both are {self.pad_id}")
        for name in ("pad_id", "eos_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                raise ValueError(f"{name}={getattr(self, name)} is outside the vocabulary")
        self.recurrent_config()  # checks the sizes and the cell

    def recurrent_config(self) -> RecurrentConfig:
        """The configuration of the underlying :class:`~lhyrl.nn.recurrent.SequenceEncoder`."""
        return RecurrentConfig(
            vocab_size=self.vocab_size,
            embedding_dim=self.embedding_dim,
            hidden_dim=self.hidden_dim,
            num_layers=self.num_layers,
            cell=self.cell,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )


class UtteranceEncoder(nn.Module):
    """Encodes each turn to one vector: the top layer's final state(s) of a (bi)LSTM/GRU.

    Only the tokens before a turn's first ``pad_id`` or ``eos_id`` are read (packed
    sequences); in both directions, the final states are those after reading exactly those
    tokens. Empty turns get the empty-turn vector.

    Args:
        config: Sizes and token ids.
    """

    def __init__(self, config: UtteranceEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(config.recurrent_config())
        self.empty: nn.Parameter | None = (
            nn.Parameter(torch.zeros(self.output_dim)) if config.empty_turn == "learned" else None
        )
        self.drop = nn.Dropout(config.dropout)

    @property
    def output_dim(self) -> int:
        """Size D * H of a turn vector."""
        return self.encoder.output_dim

    def lengths(self, tokens: Tensor) -> Tensor:
        """Tokens before each row's first ``pad_id`` or ``eos_id``: (B, L) → (B,) long."""
        stop = (tokens == self.config.pad_id) | (tokens == self.config.eos_id)  # (B, L)
        return (~stop).long().cumprod(1).sum(1)  # (B,)

    def forward(self, tokens: Tensor) -> Tensor:
        """Encode turns.

        Args:
            tokens: (B, L) long token ids; see the module docstring for where a turn ends.

        Returns:
            (B, D * H) turn vectors; empty turns get the empty-turn vector (before dropout).
        """
        _check_tokens(tokens, "tokens", 2, self.config.vocab_size)
        lengths = self.lengths(tokens)  # (B,)
        batch_size = tokens.shape[0]
        if self.empty is None:
            out = self.zeros(batch_size, tokens.device)  # (B, D * H)
        else:
            out = self.empty.expand(batch_size, -1).clone()  # (B, D * H)
        rows = (lengths > 0).nonzero().squeeze(1)  # (K,)
        if len(rows) > 0:
            longest = int(lengths.max())
            _, state = self.encoder(tokens[rows, :longest], lengths[rows])  # (L, K, D * H)
            vectors = _last_layer(state)  # (K, D * H)
            out = vectors if len(rows) == batch_size else out.index_put((rows,), vectors)
        return self.drop(out)  # (B, D * H)

    def zeros(self, batch_size: int, device: torch.device) -> Tensor:
        """Zero turn vectors (B, D * H), in the dtype of the parameters."""
        weight = self.encoder.embedding.weight
        return torch.zeros(batch_size, self.output_dim, device=device, dtype=weight.dtype)


@dataclass
class HierarchicalDiscriminatorConfig:
    """Sizes and token ids of a :class:`HierarchicalDiscriminator`.

    Attributes:
        vocab_size: Number of tokens V.
        embedding_dim: Size E of the token embeddings.
        hidden_dim: Utterance encoder state size H per direction.
        num_layers: Stacked layers of the utterance encoder.
        cell: ``"lstm"`` or ``"gru"``, for both levels.
        bidirectional: Read each turn in both directions.
        dialogue_hidden_dim: Dialogue-level state size H2 (one direction: turns are read in
            order, so their order matters).
        dialogue_num_layers: Stacked layers of the dialogue-level encoder.
        dropout: Dropout between stacked layers, on the turn vectors and before the logit.
        empty_turn: Vector of an empty turn (e.g. an empty reply): ``"zero"`` or ``"learned"``.
        pad_id: Padding token; ends a turn, and a turn starting with it is skipped.
        eos_id: End-of-sentence token; ends a turn.
    """

    vocab_size: int
    embedding_dim: int = 64
    hidden_dim: int = 64
    num_layers: int = 1
    cell: Literal["lstm", "gru"] = "lstm"
    bidirectional: bool = True
    dialogue_hidden_dim: int = 64
    dialogue_num_layers: int = 1
    dropout: float = 0.0
    empty_turn: Literal["zero", "learned"] = "learned"
    pad_id: int = PAD_ID
    eos_id: int = EOS_ID

    def __post_init__(self) -> None:
        for name in ("dialogue_hidden_dim", "dialogue_num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        self.utterance_config()  # checks the rest

    def utterance_config(self) -> UtteranceEncoderConfig:
        """The configuration of the utterance encoder."""
        return UtteranceEncoderConfig(
            vocab_size=self.vocab_size,
            embedding_dim=self.embedding_dim,
            hidden_dim=self.hidden_dim,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            empty_turn=self.empty_turn,
            pad_id=self.pad_id,
            eos_id=self.eos_id,
        )


class HierarchicalDiscriminator(nn.Module):
    """Li et al.'s (2017) discriminator: turn vectors → dialogue LSTM/GRU → one logit.

    Absent (all-pad) turns are dropped and the remaining turns of each dialogue are read in
    their order, so the logit does not depend on where or how many absent turns there are. A
    dialogue with no turn at all gets the logit of a zero dialogue state (the output bias).

    Args:
        config: Sizes and token ids.
    """

    output_kind: ClassVar[str] = "logit"
    """What ``forward`` returns (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    def __init__(self, config: HierarchicalDiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        self.utterance = UtteranceEncoder(config.utterance_config())
        dialogue = RecurrentConfig(
            vocab_size=1,  # unused: the dialogue level reads vectors, not tokens
            embedding_dim=self.utterance.output_dim,
            hidden_dim=config.dialogue_hidden_dim,
            num_layers=config.dialogue_num_layers,
            cell=config.cell,
            dropout=config.dropout,
        )
        self.rnn = _make_rnn(dialogue)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.dialogue_hidden_dim, 1)

    def present_turns(self, dialogue: Tensor) -> Tensor:
        """Which turns are read: (B, N, L) → (B, N) bool, false where a turn starts with pad."""
        return dialogue[..., 0] != self.config.pad_id

    def encode(self, dialogue: Tensor) -> Tensor:
        """The dialogue vectors before the output layer.

        Args:
            dialogue: (B, N, L) long token ids.

        Returns:
            (B, H2) the dialogue encoder's top-layer final state; zeros for a dialogue
            without turns.
        """
        _check_tokens(dialogue, "dialogue", 3, self.config.vocab_size)
        batch_size = dialogue.shape[0]
        present = self.present_turns(dialogue)  # (B, N)
        counts = present.sum(1)  # (B,)
        if present.any():
            turns = self.utterance(dialogue[present])  # (K, U): present turns, row-major order
        else:
            turns = self.utterance.zeros(0, dialogue.device)  # (0, U)
        # Move each dialogue's present turns to its front, keeping their order.
        rows = torch.arange(batch_size, device=dialogue.device)[:, None].expand_as(present)
        slots = present.long().cumsum(1) - 1  # (B, N) position among the present turns
        width = max(int(counts.max()), 1)
        packed_turns = turns.new_zeros(batch_size, width, turns.shape[-1])  # (B, N', U)
        packed_turns = packed_turns.index_put((rows[present], slots[present]), turns)
        packed = pack_padded_sequence(
            packed_turns, counts.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, state = self.rnn(packed)  # (L2, B, H2)
        h = _last_layer(state)  # (B, H2)
        return h * (counts > 0).to(h.dtype)[:, None]  # (B, H2)

    def forward(self, dialogue: Tensor) -> Tensor:
        """Score dialogues: (B, N, L) long token ids → (B,) logits, high = human."""
        return self.head(self.drop(self.encode(dialogue))).squeeze(-1)  # (B,)

    def prob_human(self, dialogue: Tensor) -> Tensor:
        """``sigmoid`` of the logits: (B, N, L) → (B,) probability that a human wrote it."""
        return torch.sigmoid(self(dialogue))


class DialogueAutoEncoderDiscriminator(nn.Module):
    """An energy discriminator of dialogues (EBGAN, MAGAN in REGS): a sequence auto-encoder.

    A dialogue (N, L) is read as one token sequence: its present turns in order, each one's
    tokens followed by ``eos_id`` (absent turns and padding dropped), which a
    :class:`~lhyrl.nn.gan.SequenceAutoEncoderDiscriminator` encodes whole. The energy is the
    reconstruction error over the last present turn (the reply) only: the context conditions
    the code but is not scored, so replies to the same context compare on their own errors.
    As for :class:`HierarchicalDiscriminator`, padding columns and absent turns change
    nothing.

    Args:
        config: Sizes; ``pad_id`` and ``eos_id`` must be set (the dialogue conventions of this
            module).
    """

    output_kind: ClassVar[str] = "energy"
    """What ``forward`` returns (see :data:`lhyrl.nn.gan.objectives.OUTPUT_KINDS`)."""

    def __init__(self, config: SequenceAutoEncoderConfig) -> None:
        super().__init__()
        if config.pad_id is None or config.eos_id is None or config.pad_id == config.eos_id:
            raise ValueError(
                f"a dialogue auto-encoder needs distinct pad_id and eos_id, got {config.pad_id} "
                f"and {config.eos_id}"
            )
        self.config = config
        self.autoencoder = SequenceAutoEncoderDiscriminator(config)

    def flatten(self, dialogue: Tensor) -> tuple[Tensor, Tensor]:
        """One left-aligned token sequence per dialogue, and where its reply is.

        Args:
            dialogue: (B, N, L) long token ids.

        Returns:
            ``(tokens, reply)``: (B, W) the present turns' tokens, each turn closed by
            ``eos_id``, then ``pad_id``; (B, W) bool, true on the last present turn's tokens
            (its ``eos_id`` included).
        """
        _check_tokens(dialogue, "dialogue", 3, self.config.vocab_size)
        pad, eos = self.config.pad_id, self.config.eos_id
        assert pad is not None and eos is not None
        batch_size, turns, _ = dialogue.shape
        padded = F.pad(dialogue, (0, 1), value=pad)  # (B, N, L + 1): room for a closing eos
        content = ((padded != pad) & (padded != eos)).long().cumprod(-1).sum(-1)  # (B, N)
        present = dialogue[..., 0] != pad  # (B, N)
        position = torch.arange(padded.shape[-1], device=dialogue.device)  # (L + 1,)
        kept = present[..., None] & (position <= content[..., None])  # (B, N, L + 1)
        tokens = torch.where(position < content[..., None], padded, eos)  # (B, N, L + 1)
        index = torch.arange(turns, device=dialogue.device).expand(batch_size, -1)  # (B, N)
        last = torch.where(present, index, -1).amax(1)  # (B,) the last present turn
        is_reply = (index == last[:, None])[..., None].expand_as(kept)  # (B, N, L + 1)
        kept, tokens, is_reply = kept.flatten(1), tokens.flatten(1), is_reply.flatten(1)
        slots = kept.long().cumsum(1) - 1  # (B, N * (L + 1)) place among the kept tokens
        width = max(int(kept.sum(1).max()), 1)
        rows = torch.arange(batch_size, device=dialogue.device)[:, None].expand_as(kept)
        out = dialogue.new_full((batch_size, width), pad)  # (B, W)
        out = out.index_put((rows[kept], slots[kept]), tokens[kept])
        reply = torch.zeros(batch_size, width, dtype=torch.bool, device=dialogue.device)
        reply = reply.index_put((rows[kept], slots[kept]), is_reply[kept])
        return out, reply

    def forward(self, dialogue: Tensor) -> Tensor:
        """Energies: (B, N, L) long token ids → (B,) reconstruction errors of the replies."""
        tokens, reply = self.flatten(dialogue)
        return self.autoencoder(tokens, reply)
