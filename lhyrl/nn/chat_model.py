"""A chat model: a :class:`~lhyrl.nn.seq2seq.Seq2Seq` with its vocabulary, tokenization and sizes.

:class:`ChatModel` is what a dialogue run saves, what ``lhyrl chat`` talks through, and what
``lhyrl/Dialogue-v0``'s simulated user is. It turns text turns into a source tensor the way
training did (the last ``context_turns`` turns, tokenized with :func:`lhyrl.data.text.tokenize`,
joined by :data:`~lhyrl.data.dialogue.TURN_SEPARATOR`, the last ``source_len`` tokens kept),
decodes replies (greedy, beam search or sampling) back to text, and is stored in one file
holding only tensors and Python primitives, written atomically and read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor

from lhyrl.data.dialogue import encode_sources, join_turns
from lhyrl.data.text import SPECIAL_TOKENS, UNK_ID, Language, Vocabulary, detokenize, tokenize
from lhyrl.files import atomic_write
from lhyrl.nn.seq2seq import Decoded, Seq2Seq, Seq2SeqConfig

__all__ = ["CHAT_MODEL_FORMAT_VERSION", "ChatModel", "ChatModelError", "Decoding"]

CHAT_MODEL_FORMAT_VERSION = 1
"""Version of the chat-model file layout; bumped whenever the layout changes."""

Decoding = Literal["greedy", "beam", "sample"]
_KEYS = (
    "format_version",
    "kind",
    "config",
    "state_dict",
    "vocabulary",
    "language",
    "source_len",
    "target_len",
    "context_turns",
)
_UNKNOWN = "\x00<unknown>"  # a token no vocabulary holds: encodes to <unk>


class ChatModelError(ValueError):
    """A chat-model file is missing, unreadable, or not a chat model of this version."""


@dataclass
class ChatModel:
    """A seq2seq chat model with everything needed to read and write text.

    Attributes:
        model: The encoder-decoder.
        vocabulary: Token ids of source and target (one shared vocabulary).
        language: ``"english"`` (words) or ``"chinese"`` (characters).
        source_len: Source tokens the model reads (S); longer contexts keep their end.
        target_len: Most tokens per reply (T), ``eos`` included.
        context_turns: Turns of history that make up a context.
    """

    model: Seq2Seq
    vocabulary: Vocabulary
    language: Language
    source_len: int
    target_len: int
    context_turns: int = 1

    def __post_init__(self) -> None:
        if self.model.config.vocab_size != len(self.vocabulary):
            raise ValueError(
                f"the model reads {self.model.config.vocab_size} token ids; the vocabulary "
                f"holds {len(self.vocabulary)}"
            )
        for name in ("source_len", "target_len", "context_turns"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    # --- text <-> tensors --------------------------------------------------------------------

    def context_tokens(self, turns: Sequence[str]) -> list[str]:
        """The tokens of the last ``context_turns`` turns, joined by the turn separator.

        Turns without a token (empty input, only spaces) are skipped; with none left the
        context is a single ``<unk>``, so that any input gets a reply.
        """
        tokenized = [t for t in (tokenize(turn, self.language) for turn in turns) if t]
        return join_turns(tokenized[-self.context_turns :]) or [_UNKNOWN]

    def encode_contexts(self, contexts: Sequence[Sequence[str]]) -> Tensor:
        """Sources (N, S) long for text contexts, each a list of turns, oldest first."""
        tokens = [self.context_tokens(turns) for turns in contexts]
        return encode_sources(tokens, self.vocabulary, self.source_len)  # (N, S)

    def decode_text(self, ids: Sequence[int] | Tensor) -> str:
        """The text of one reply's ids (up to its ``eos``; specials dropped)."""
        values = ids.tolist() if isinstance(ids, Tensor) else list(ids)
        return detokenize(self.vocabulary.decode(values), self.language)

    def generate(
        self,
        src: Tensor,
        *,
        decoding: Decoding = "greedy",
        beam_size: int = 4,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        max_len: int | None = None,
    ) -> Decoded:
        """Replies (B, T) to sources (B, S), without gradients, in evaluation mode.

        ``max_len`` caps a reply's tokens (``eos`` included); ``None`` is :attr:`target_len`.
        """
        length = self.target_len if max_len is None else max_len
        training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                if decoding == "greedy":
                    return self.model.greedy(src, max_len=length)
                if decoding == "beam":
                    return self.model.beam_search(src, beam_size=beam_size, max_len=length)
                if decoding == "sample":
                    if generator is None:
                        raise ValueError("decoding='sample' needs a torch.Generator")
                    return self.model.sample(
                        src, max_len=length, temperature=temperature, generator=generator
                    )
                raise ValueError(f"decoding must be 'greedy', 'beam' or 'sample', got {decoding!r}")
        finally:
            self.model.train(training)

    def reply(
        self,
        turns: Sequence[str],
        *,
        decoding: Decoding = "greedy",
        beam_size: int = 4,
        generator: torch.Generator | None = None,
    ) -> str:
        """The model's reply, as text, to a conversation so far (a list of turns)."""
        src = self.encode_contexts([turns])  # (1, S)
        decoded = self.generate(src, decoding=decoding, beam_size=beam_size, generator=generator)
        return self.decode_text(decoded.tokens[0])

    def unknown_fraction(self, text: str) -> float:
        """Share of ``text``'s tokens the vocabulary does not know (0 for empty text)."""
        tokens = tokenize(text, self.language)
        if not tokens:
            return 0.0
        return sum(i == UNK_ID for i in self.vocabulary.encode(tokens)) / len(tokens)

    # --- files -------------------------------------------------------------------------------

    def to_dict(self, *, half: bool = False) -> dict[str, Any]:
        """The model as tensors and Python primitives (what :meth:`save` writes).

        Args:
            half: Store floating-point weights as float16 (half the file; read back as
                float32).
        """
        weights = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        if half:
            weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
        return {
            "format_version": CHAT_MODEL_FORMAT_VERSION,
            "kind": "chat_model",
            "config": dataclasses.asdict(self.model.config),
            "state_dict": weights,
            "vocabulary": list(self.vocabulary.itos[len(SPECIAL_TOKENS) :]),
            "language": self.language,
            "source_len": self.source_len,
            "target_len": self.target_len,
            "context_turns": self.context_turns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "chat model") -> ChatModel:
        """Rebuild a model from :meth:`to_dict`'s output; refuses anything else clearly."""
        if not isinstance(data, dict) or data.get("kind") != "chat_model":
            raise ChatModelError(f"{where}: not a chat-model file")
        missing = [key for key in _KEYS if key not in data]
        if missing:
            raise ChatModelError(f"{where}: the file lacks {missing}")
        if data["format_version"] != CHAT_MODEL_FORMAT_VERSION:
            raise ChatModelError(
                f"{where}: format version {data['format_version']}, this lhyrl reads "
                f"{CHAT_MODEL_FORMAT_VERSION}"
            )
        try:
            model = Seq2Seq(Seq2SeqConfig(**data["config"]))
            weights = data["state_dict"]
            if not isinstance(weights, dict):
                raise TypeError("state_dict is not a mapping")
            model.load_state_dict(
                {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
            )
            vocabulary = Vocabulary(data["vocabulary"])
        except (TypeError, ValueError, RuntimeError) as err:
            raise ChatModelError(
                f"{where}: the model does not match its configuration: {err}"
            ) from err
        model.eval()
        return cls(
            model,
            vocabulary,
            data["language"],
            int(data["source_len"]),
            int(data["target_len"]),
            int(data["context_turns"]),
        )

    def save(self, path: str | os.PathLike[str], *, half: bool = False) -> Path:
        """Write the model to one file, atomically (``half``: float16 weights)."""
        data = self.to_dict(half=half)
        return atomic_write(path, lambda tmp: torch.save(data, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ChatModel:
        """Read a file written by :meth:`save` (``weights_only``: nothing is unpickled).

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            ChatModelError: If it is not a readable chat model of this format version.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no chat model at {path}")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise ChatModelError(f"{path}: unreadable chat-model file ({err})") from err
        return cls.from_dict(data, where=str(path))
