"""Dialogue data for the chat-bot: conversations, (context, reply) pairs, splits and encoding.

- :func:`load_conversations` reads the conversations of ``chatterbot-corpus`` (BSD-3; the
  ``conversations:`` lists of its YAML files, read with ``yaml.safe_load``) or of a user's file:
  JSONL (one conversation per line, ``{"turns": ["hi", "hello"]}`` or ``["hi", "hello"]``) or
  TSV (one conversation per line, its turns separated by tabs: ``context<TAB>reply``).
- :func:`dialogue_pairs` cuts conversations into (context, reply) pairs, the context being the
  last ``context_turns`` turns before the reply.
- :func:`split_conversations` splits conversations into train / validation / test, fixed by a
  seed, at the level of conversations: identical conversations always share a split.
- :class:`DialogueData` tokenizes the pairs with :func:`lhyrl.data.text.tokenize` (the
  tokenization of ``lhyrl/TextGen-v0``: words for English, characters for Chinese), builds a
  :class:`~lhyrl.data.text.Vocabulary` on the training split only, and encodes pairs as the
  ``(src, tgt)`` tensors :class:`lhyrl.nn.seq2seq.Seq2Seq` reads.

The English chatterbot-corpus holds 2,026 entries, one of them a malformed string rather than
a list of turns; 1,127 of the 2,025 conversations repeat another one verbatim (``tech_support.yml``
repeats 10 conversations 1,050 times), so by default 898 distinct conversations are kept. The
simplified Chinese one holds 467 conversations, 465 distinct.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, TypeAlias

import numpy as np
import torch
import yaml
from torch import Tensor

from lhyrl.data.dataset import DatasetError
from lhyrl.data.text import (
    LANGUAGES,
    PAD_ID,
    SPECIAL_TOKENS,
    Language,
    Vocabulary,
    chatterbot_files,
    check_language,
    tokenize,
)

Conversation: TypeAlias = tuple[str, ...]
"""The turns of one conversation, in order; speakers alternate."""

TURN_SEPARATOR = "<sep>"
"""The token between the turns of a multi-turn context; id 4 of every dialogue vocabulary."""
SEP_ID = len(SPECIAL_TOKENS)

FileFormat = Literal["jsonl", "tsv"]
Split = Literal["train", "validation", "test"]

_FORMATS: dict[str, FileFormat] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".tsv": "tsv"}
_LAYOUT = (
    "a dialogue file is JSONL (one conversation per line: "
    '{"turns": ["hi", "hello"]} or ["hi", "hello"]) or TSV (one conversation per line, '
    "turns separated by tabs: context<TAB>reply)"
)


@dataclass(frozen=True)
class DialogueCorpus:
    """Conversations loaded from one source.

    Attributes:
        conversations: The conversations, each of at least two non-blank turns, in the order
            of the source.
        language: How the text is to be tokenized.
        source: Where they came from: a chatterbot-corpus language or a file path.
        skipped: Entries left out because they had fewer than two turns or, in
            chatterbot-corpus, a turn that is not text.
        duplicates: Conversations left out because they repeat an earlier one verbatim.
    """

    conversations: tuple[Conversation, ...]
    language: Language
    source: str
    skipped: int = 0
    duplicates: int = 0

    def __len__(self) -> int:
        return len(self.conversations)


@functools.lru_cache(maxsize=4)
def _chatterbot_conversations(language: str) -> tuple[tuple[Conversation, ...], int]:
    """All conversations of a chatterbot-corpus language (repeats kept) and the skipped count.

    An entry is skipped if it is not a list (one English entry is a lone string) or if a turn
    is not a string or number (YAML may read ``42`` as an int; ``None``, booleans and nested
    lists are not utterances) or if it has fewer than two turns or a blank one.
    """
    conversations: list[Conversation] = []
    skipped = 0
    for name, text in chatterbot_files(language):
        content = yaml.safe_load(text)
        entries = content.get("conversations") if isinstance(content, dict) else None
        if not isinstance(entries, list):
            raise DatasetError(f"chatterbot-corpus {language}/{name} has no conversations list")
        for entry in entries:
            usable = isinstance(entry, list) and all(
                isinstance(turn, str | int | float) and not isinstance(turn, bool) for turn in entry
            )
            turns = tuple(str(turn).strip() for turn in entry) if usable else ()
            if len(turns) < 2 or not all(turns):
                skipped += 1
                continue
            conversations.append(turns)
    return tuple(conversations), skipped


def _file_turns(path: Path, file_format: FileFormat) -> Iterator[list[str]]:
    """The turns of every non-blank line of a JSONL or TSV dialogue file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path} is not UTF-8 text ({error}); {_LAYOUT}") from error
    if not any(line.strip() for line in lines):
        raise DatasetError(f"{path} is empty; {_LAYOUT}")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        if file_format == "tsv":
            turns = [turn.strip() for turn in line.rstrip("\r\n").split("\t")]
        else:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{where}: not valid JSON ({error}); {_LAYOUT}") from error
            if isinstance(value, dict):
                if "turns" not in value:
                    raise DatasetError(f"{where}: a JSON object needs a 'turns' list; {_LAYOUT}")
                value = value["turns"]
            if not isinstance(value, list):
                raise DatasetError(
                    f"{where}: expected a list of turns, got {type(value).__name__}; {_LAYOUT}"
                )
            for i, turn in enumerate(value, start=1):
                if not isinstance(turn, str):
                    raise DatasetError(
                        f"{where}: turn {i} is a {type(turn).__name__}, not a string"
                    )
            turns = [turn.strip() for turn in value]
        for i, turn in enumerate(turns, start=1):
            if not turn and len(turns) > 1:
                raise DatasetError(f"{where}: turn {i} is blank")
        yield turns


def load_conversations(
    source: str | os.PathLike[str] = "english",
    *,
    language: Language | None = None,
    file_format: FileFormat | None = None,
    deduplicate: bool = True,
) -> DialogueCorpus:
    """Load conversations from chatterbot-corpus or from a JSONL or TSV file.

    Args:
        source: ``"english"`` or ``"chinese"`` (chatterbot-corpus, files in name order), or the
            path of a JSONL or TSV file (see the module docstring).
        language: Tokenization of a file's text (default ``"english"``); for a
            chatterbot-corpus language it must be ``None`` or that language.
        file_format: ``"jsonl"`` or ``"tsv"``; ``None`` reads it from the suffix
            (``.jsonl``, ``.ndjson``, ``.tsv``).
        deduplicate: Keep only the first of identical conversations.

    Returns:
        The conversations of at least two turns, with counts of what was left out.

    Raises:
        DatasetError: If the file is missing, empty, not UTF-8 or malformed (the message
            names the line), or if no conversation has two turns.
        ValueError: If ``language`` is not ``"english"`` or ``"chinese"``.
    """
    if isinstance(source, str) and source in LANGUAGES:
        if language not in (None, source):
            raise ValueError(f"corpus {source!r} is tokenized as {source}, not {language!r}")
        conversations, skipped = _chatterbot_conversations(source)
        language = source
        name = str(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise DatasetError(
                f"dialogue corpus {str(source)!r} is neither 'english', 'chinese' "
                f"(chatterbot-corpus) nor an existing file; {_LAYOUT}"
            )
        file_format = file_format or _FORMATS.get(path.suffix.lower())
        if file_format not in ("jsonl", "tsv"):
            raise DatasetError(
                f"{path}: cannot tell the format from the suffix {path.suffix!r}; "
                f"pass file_format='jsonl' or 'tsv'; {_LAYOUT}"
            )
        lines = list(_file_turns(path, file_format))
        kept = [tuple(turns) for turns in lines if len(turns) >= 2]
        skipped = len(lines) - len(kept)
        if not kept:
            raise DatasetError(f"{path}: no line holds a conversation of two turns; {_LAYOUT}")
        conversations, name = tuple(kept), str(path)
    if language is None:
        language = "english"
    check_language(language)
    unique = tuple(dict.fromkeys(conversations)) if deduplicate else conversations
    return DialogueCorpus(unique, language, name, skipped, len(conversations) - len(unique))


@dataclass(frozen=True)
class DialoguePair:
    """A reply and the turns before it.

    Attributes:
        context: The last turns before the reply, oldest first (at least one).
        reply: The turn that answers them.
    """

    context: tuple[str, ...]
    reply: str


def dialogue_pairs(
    conversations: Sequence[Conversation], *, context_turns: int = 1
) -> list[DialoguePair]:
    """Every (context, reply) pair of the conversations: one per turn after the first.

    Args:
        conversations: Conversations of at least two turns.
        context_turns: Most turns K in a context; the first replies of a conversation have
            fewer.

    Returns:
        The pairs, conversation by conversation, in turn order.
    """
    if context_turns < 1:
        raise ValueError(f"context_turns must be at least 1, got {context_turns}")
    return [
        DialoguePair(tuple(turns[max(0, i - context_turns) : i]), turns[i])
        for turns in conversations
        for i in range(1, len(turns))
    ]


class Splits(NamedTuple):
    """Train, validation and test parts of a list."""

    train: list[Conversation]
    validation: list[Conversation]
    test: list[Conversation]


def split_conversations(
    conversations: Sequence[Conversation],
    *,
    seed: int,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> Splits:
    """Split conversations into train, validation and test, fixed by ``seed``.

    The distinct conversations are shuffled with ``numpy.random.default_rng(seed)`` and cut at
    ``round(fraction * count)``; repeats of a conversation follow it, so no conversation is in
    two splits. Each split keeps the order of the input.

    Args:
        conversations: The conversations.
        seed: Fixes the split.
        fractions: Shares of train, validation and test; non-negative, summing to 1.

    Returns:
        The three splits.
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1, got {fractions}")
    distinct = list(dict.fromkeys(conversations))
    order = np.random.default_rng(seed).permutation(len(distinct))  # (N,)
    n_train = round(fractions[0] * len(distinct))
    n_validation = min(round(fractions[1] * len(distinct)), len(distinct) - n_train)
    part = {distinct[i]: 0 for i in order[:n_train]}
    part.update({distinct[i]: 1 for i in order[n_train : n_train + n_validation]})
    part.update({distinct[i]: 2 for i in order[n_train + n_validation :]})
    splits: Splits = Splits([], [], [])
    for conversation in conversations:
        splits[part[conversation]].append(conversation)
    return splits


@dataclass(frozen=True)
class TokenizedPair:
    """A dialogue pair as tokens.

    Attributes:
        context: The context turns' tokens, consecutive turns separated by
            :data:`TURN_SEPARATOR`.
        reply: The reply's tokens.
    """

    context: tuple[str, ...]
    reply: tuple[str, ...]


def join_turns(turns: Sequence[Sequence[str]]) -> list[str]:
    """The tokens of tokenized turns, consecutive turns separated by :data:`TURN_SEPARATOR`."""
    return [token for turn in turns for token in (TURN_SEPARATOR, *turn)][1:]


def tokenize_pairs(pairs: Sequence[DialoguePair], language: Language) -> list[TokenizedPair]:
    """Tokenize pairs with :func:`lhyrl.data.text.tokenize`; pairs with an empty side are dropped.

    A turn with no token (e.g. Chinese text read as English) is left out of its context.
    """
    out = []
    for pair in pairs:
        turns = [t for t in (tokenize(turn, language) for turn in pair.context) if t]
        context = join_turns(turns)
        reply = tokenize(pair.reply, language)
        if context and reply:
            out.append(TokenizedPair(tuple(context), tuple(reply)))
    return out


def build_dialogue_vocabulary(
    conversations: Sequence[Conversation],
    language: Language,
    *,
    min_count: int = 1,
    max_size: int | None = None,
) -> Vocabulary:
    """The vocabulary of the conversations' turns, :data:`TURN_SEPARATOR` at id 4.

    Built as :meth:`Vocabulary.build` does (decreasing count, ties by code point); pass the
    training split only.
    """
    if max_size is not None and max_size < SEP_ID + 1:
        raise ValueError(f"max_size must be at least {SEP_ID + 1}, got {max_size}")
    sentences = [tokenize(turn, language) for turns in conversations for turn in turns]
    built = Vocabulary.build(
        sentences, min_count=min_count, max_size=None if max_size is None else max_size - 1
    )
    return Vocabulary([TURN_SEPARATOR, *(t for t in built.itos[SEP_ID:] if t != TURN_SEPARATOR)])


def encode_sources(
    contexts: Sequence[Sequence[str]], vocabulary: Vocabulary, length: int
) -> Tensor:
    """Encode contexts as a Seq2Seq source: ids without BOS or EOS, then ``<pad>``.

    A context longer than ``length`` keeps its last ``length`` tokens, those nearest the reply.

    Returns:
        (N, length) long ids.
    """
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    out = torch.full((len(contexts), length), PAD_ID, dtype=torch.long)  # (N, S)
    for row, context in enumerate(contexts):
        if not context:
            raise ValueError(f"context {row} is empty; a Seq2Seq source needs a token")
        ids = vocabulary.encode(context[-length:])
        out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


def encode_pairs(
    pairs: Sequence[TokenizedPair],
    vocabulary: Vocabulary,
    *,
    source_len: int,
    target_len: int,
) -> tuple[Tensor, Tensor]:
    """Encode pairs as the ``(src, tgt)`` of :meth:`lhyrl.nn.seq2seq.Seq2Seq.loss`.

    Args:
        pairs: Tokenized pairs.
        vocabulary: Maps tokens to ids (``<unk>`` for unknown ones).
        source_len: Source columns S; see :func:`encode_sources`.
        target_len: Target columns T: the reply's first T tokens, ``<eos>`` if there is room,
            then ``<pad>`` (:meth:`Vocabulary.encode_batch`).

    Returns:
        ``src`` (N, S) and ``tgt`` (N, T), long.
    """
    if not pairs:
        raise ValueError("no pairs to encode")
    src = encode_sources([p.context for p in pairs], vocabulary, source_len)  # (N, S)
    tgt = torch.from_numpy(vocabulary.encode_batch([p.reply for p in pairs], target_len))
    return src, tgt  # (N, S), (N, T)


@dataclass(frozen=True)
class DialogueData:
    """Tokenized dialogue pairs split by conversation, and the training split's vocabulary.

    Attributes:
        train: Pairs of the training conversations.
        validation: Pairs of the validation conversations.
        test: Pairs of the test conversations.
        vocabulary: Built on the training conversations only (:func:`build_dialogue_vocabulary`).
        language: The tokenization.
    """

    train: tuple[TokenizedPair, ...]
    validation: tuple[TokenizedPair, ...]
    test: tuple[TokenizedPair, ...]
    vocabulary: Vocabulary
    language: Language

    @classmethod
    def from_conversations(
        cls,
        conversations: Sequence[Conversation],
        language: Language,
        *,
        seed: int,
        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        context_turns: int = 1,
        min_count: int = 1,
        max_vocab: int | None = None,
    ) -> DialogueData:
        """Split, cut into pairs, tokenize, and build the vocabulary of the training split.

        Args:
            conversations: The conversations.
            language: ``"english"`` (words) or ``"chinese"`` (characters).
            seed: Fixes the split (:func:`split_conversations`).
            fractions: Shares of train, validation and test.
            context_turns: Turns per context (:func:`dialogue_pairs`).
            min_count: See :meth:`Vocabulary.build`.
            max_vocab: Most ids in the vocabulary, special ones included.
        """
        check_language(language)
        splits = split_conversations(conversations, seed=seed, fractions=fractions)
        parts = [
            tuple(tokenize_pairs(dialogue_pairs(split, context_turns=context_turns), language))
            for split in splits
        ]
        if not parts[0]:
            raise DatasetError("the training split holds no dialogue pair")
        vocabulary = build_dialogue_vocabulary(
            splits.train, language, min_count=min_count, max_size=max_vocab
        )
        return cls(parts[0], parts[1], parts[2], vocabulary, language)

    @classmethod
    def load(
        cls,
        source: str | os.PathLike[str] = "english",
        *,
        language: Language | None = None,
        seed: int,
        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        context_turns: int = 1,
        min_count: int = 1,
        max_vocab: int | None = None,
    ) -> DialogueData:
        """:func:`load_conversations` then :meth:`from_conversations`."""
        corpus = load_conversations(source, language=language)
        return cls.from_conversations(
            corpus.conversations,
            corpus.language,
            seed=seed,
            fractions=fractions,
            context_turns=context_turns,
            min_count=min_count,
            max_vocab=max_vocab,
        )

    def encode(self, split: Split, *, source_len: int, target_len: int) -> tuple[Tensor, Tensor]:
        """One split as ``src`` (N, S) and ``tgt`` (N, T); see :func:`encode_pairs`."""
        if split not in ("train", "validation", "test"):
            raise ValueError(f"split must be 'train', 'validation' or 'test', got {split!r}")
        return encode_pairs(
            getattr(self, split), self.vocabulary, source_len=source_len, target_len=target_len
        )


__all__ = [
    "SEP_ID",
    "TURN_SEPARATOR",
    "Conversation",
    "DialogueCorpus",
    "DialogueData",
    "DialoguePair",
    "Splits",
    "TokenizedPair",
    "build_dialogue_vocabulary",
    "dialogue_pairs",
    "encode_pairs",
    "encode_sources",
    "join_turns",
    "load_conversations",
    "split_conversations",
    "tokenize_pairs",
]
