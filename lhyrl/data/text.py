"""Text for sequence generation: tokenizers, a vocabulary, corpora, and a bigram language model.

- :func:`tokenize` splits English into lower-cased words and punctuation marks, and Chinese
  into characters (runs of Latin letters or digits stay one token); :func:`detokenize` joins
  tokens back (with spaces for English, without for Chinese).
- :class:`Vocabulary` maps tokens to ids. Ids 0-3 are the special tokens ``<pad>``, ``<bos>``,
  ``<eos>`` and ``<unk>``; corpus tokens follow, most frequent first (ties in code-point
  order), so the same corpus always gives the same ids.
- :func:`load_chatterbot_corpus` reads the utterances of the ``chatterbot-corpus`` package's
  YAML files (``yaml.safe_load``; nothing is unpickled); :func:`load_text_file` reads a text
  file of one sentence per line. :class:`TextCorpus` holds tokenized sentences and their
  vocabulary.
- :class:`BigramModel` is a smoothed bigram model of a corpus, which scores a next token
  given the previous one.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import yaml

from lhyrl.files import atomic_write_text

Language = Literal["english", "chinese"]
"""How text is split: English into words, Chinese into characters."""
LANGUAGES: tuple[Language, ...] = get_args(Language)

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)
"""The special tokens, which always have ids 0, 1, 2 and 3."""
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3

_ENGLISH = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\w\s]|_")
_CHINESE = re.compile(r"[A-Za-z0-9]+|\S")
_LATIN = re.compile(r"[A-Za-z0-9]+")


def check_language(language: str) -> None:
    """Raise ``ValueError`` unless ``language`` is one of :data:`LANGUAGES`."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")


def tokenize(text: str, language: Language = "english") -> list[str]:
    """Split a sentence into tokens.

    English is lower-cased and split into words (with an apostrophe suffix such as ``'s``
    kept on the word) and single punctuation marks. Chinese is split into characters, except
    that a run of Latin letters or digits stays one token. White space only separates.

    Args:
        text: One sentence.
        language: ``"english"`` or ``"chinese"``.

    Returns:
        The tokens, in order.
    """
    check_language(language)
    if language == "english":
        return _ENGLISH.findall(text.lower())
    return _CHINESE.findall(text)


def detokenize(tokens: Iterable[str], language: Language = "english") -> str:
    """Join tokens into text: with spaces for English; for Chinese, only between Latin words."""
    check_language(language)
    if language == "english":
        return " ".join(tokens)
    text = ""
    for token in tokens:
        if text and _LATIN.fullmatch(token) and _LATIN.fullmatch(text[-1]):
            text += " "  # keep Latin words apart: "用 Python 写" stays readable
        text += token
    return text


class Vocabulary:
    """A fixed mapping between tokens and ids; ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>`` are 0-3.

    Args:
        tokens: The ordinary tokens, in id order (ids start at 4); duplicates and special
            tokens are not allowed.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos: list[str] = [*SPECIAL_TOKENS, *tokens]
        self.stoi: dict[str, int] = {token: i for i, token in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            counts = Counter(self.itos)
            repeated = sorted(t for t, n in counts.items() if n > 1)
            raise ValueError(
                f"vocabulary tokens must be unique (special ones included): {repeated}"
            )

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        *,
        min_count: int = 1,
        max_size: int | None = None,
    ) -> Vocabulary:
        """Build a vocabulary from tokenized sentences, deterministically.

        Args:
            sentences: Tokenized sentences.
            min_count: Tokens seen fewer times are left out (they encode to ``<unk>``).
            max_size: At most this many ids in all (special tokens included); the most
                frequent tokens are kept.

        Returns:
            Tokens ordered by decreasing count, ties by code point, after the special ones.
        """
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}")
        if max_size is not None and max_size < len(SPECIAL_TOKENS):
            raise ValueError(f"max_size must be at least {len(SPECIAL_TOKENS)}, got {max_size}")
        counts = Counter(token for sentence in sentences for token in sentence)
        for special in SPECIAL_TOKENS:
            counts.pop(special, None)
        ranked = sorted(
            (t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIAL_TOKENS)]
        return cls(ranked)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    __hash__ = None  # type: ignore[assignment]

    def encode(self, tokens: Iterable[str], *, bos: bool = False, eos: bool = False) -> list[int]:
        """Ids of ``tokens`` (``<unk>`` for unknown ones), optionally framed by BOS and EOS."""
        ids = [self.stoi.get(token, UNK_ID) for token in tokens]
        return [BOS_ID] * bos + ids + [EOS_ID] * eos

    def decode(self, ids: Iterable[int], *, strip_special: bool = True) -> list[str]:
        """Tokens of ``ids``, stopping at the first ``<eos>`` and dropping ``<pad>``/``<bos>``.

        With ``strip_special=False`` every id is decoded as it is.
        """
        tokens = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"id {i} is outside the vocabulary (size {len(self.itos)})")
            if strip_special:
                if i == EOS_ID:
                    break
                if i in (PAD_ID, BOS_ID):
                    continue
            tokens.append(self.itos[i])
        return tokens

    def encode_batch(self, sentences: Sequence[Sequence[str]], length: int) -> np.ndarray:
        """Encode tokenized sentences into a padded array.

        Each row holds the sentence's first ``length`` token ids, then ``<eos>`` if there is
        room, then ``<pad>``: the form of a finished ``lhyrl/TextGen-v0`` episode.

        Returns:
            (N, length) int64 ids.
        """
        out = np.full((len(sentences), length), PAD_ID, dtype=np.int64)
        for row, sentence in zip(out, sentences, strict=True):
            ids = self.encode(sentence[:length], eos=len(sentence) < length)
            row[: len(ids)] = ids
        return out

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the vocabulary as a JSON list of tokens (UTF-8), atomically."""
        return atomic_write_text(path, json.dumps(self.itos, ensure_ascii=False, indent=0))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocabulary:
        """Read a vocabulary written by :meth:`save`."""
        itos = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(itos, list) or tuple(itos[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(
                f"{path}: not a vocabulary file (a JSON list starting {SPECIAL_TOKENS})"
            )
        return cls(itos[len(SPECIAL_TOKENS) :])


def chatterbot_files(language: str) -> Iterator[tuple[str, str]]:
    """``(name, text)`` of the YAML files of a chatterbot-corpus language, in name order.

    Raises:
        ModuleNotFoundError: If chatterbot-corpus is not installed.
        ValueError: If the corpus has no such language.
    """
    try:
        data = resources.files("chatterbot_corpus") / "data" / language
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "the default corpus needs the chatterbot-corpus package: pip install chatterbot-corpus"
        ) from error
    if not data.is_dir():
        raise ValueError(f"chatterbot-corpus has no language {language!r}")
    for file in sorted(
        (f for f in data.iterdir() if f.name.endswith(".yml")), key=lambda f: f.name
    ):
        yield file.name, file.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=8)
def _chatterbot_utterances(language: str) -> tuple[str, ...]:
    utterances: list[str] = []
    for _, text in chatterbot_files(language):
        content = yaml.safe_load(text) or {}
        for conversation in content.get("conversations", []):
            if not isinstance(conversation, list):  # a stray string is not a conversation
                continue
            utterances.extend(str(u).strip() for u in conversation if str(u).strip())
    return tuple(dict.fromkeys(utterances))  # unique, in order of first appearance


def load_chatterbot_corpus(language: Language = "english") -> list[str]:
    """The distinct utterances of chatterbot-corpus (BSD-3) in one language.

    Every utterance of every conversation of every YAML file of the language (files in name
    order), with repeats dropped (the corpus repeats a prompt once per answer).

    Args:
        language: ``"english"`` (about 1,900 utterances) or ``"chinese"`` (about 880).
    """
    check_language(language)
    return list(_chatterbot_utterances(language))


def load_text_file(path: str | os.PathLike[str]) -> list[str]:
    """Read a UTF-8 text file of one sentence per line; blank lines are skipped.

    Raises:
        ValueError: If the file holds no sentence.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    sentences = [line.strip() for line in lines if line.strip()]
    if not sentences:
        raise ValueError(f"{path}: the corpus is empty (expected one sentence per line)")
    return sentences


@dataclass(frozen=True)
class TextCorpus:
    """Tokenized sentences and the vocabulary built from them.

    Attributes:
        sentences: The sentences as tokens; none is empty.
        vocabulary: Built from ``sentences``.
        language: How the text was tokenized.
    """

    sentences: tuple[tuple[str, ...], ...]
    vocabulary: Vocabulary
    language: Language

    @classmethod
    def from_sentences(
        cls,
        sentences: Iterable[str],
        language: Language = "english",
        *,
        min_count: int = 1,
        max_vocab: int | None = None,
    ) -> TextCorpus:
        """Tokenize sentences and build their vocabulary (see :meth:`Vocabulary.build`).

        Raises:
            ValueError: If no sentence has a token.
        """
        tokenized = tuple(t for t in (tuple(tokenize(s, language)) for s in sentences) if t)
        if not tokenized:
            raise ValueError("the corpus is empty: no sentence has a token")
        vocabulary = Vocabulary.build(tokenized, min_count=min_count, max_size=max_vocab)
        return cls(tokenized, vocabulary, language)

    @classmethod
    def load(
        cls,
        source: str | os.PathLike[str] = "english",
        language: Language | None = None,
        *,
        min_count: int = 1,
        max_vocab: int | None = None,
    ) -> TextCorpus:
        """Load chatterbot-corpus (``"english"``, ``"chinese"``) or a text file.

        Args:
            source: A chatterbot-corpus language, or the path of a text file of one sentence
                per line.
            language: Tokenization of a text file (default ``"english"``); for a
                chatterbot-corpus language it must be ``None`` or the same language.
            min_count: See :meth:`Vocabulary.build`.
            max_vocab: See :meth:`Vocabulary.build`.
        """
        if isinstance(source, str) and source in LANGUAGES:
            if language not in (None, source):
                raise ValueError(f"corpus {source!r} is tokenized as {source}, not {language!r}")
            sentences = load_chatterbot_corpus(source)
            language = source
        else:
            if not Path(source).is_file():
                raise FileNotFoundError(
                    f"corpus {str(source)!r} is neither 'english', 'chinese' nor a text file"
                )
            sentences = load_text_file(source)
        language = language or "english"
        check_language(language)
        return cls.from_sentences(sentences, language, min_count=min_count, max_vocab=max_vocab)

    def encode(self, length: int) -> np.ndarray:
        """Every sentence as (N, length) int64 ids; see :meth:`Vocabulary.encode_batch`."""
        return self.vocabulary.encode_batch(self.sentences, length)


class BigramModel:
    """A bigram language model of a corpus, interpolated with an add-one unigram model.

    ``p(w | v) = λ c(v, w) / c(v) + (1 - λ) p_1(w)`` when the context ``v`` was seen, else
    ``p_1(w)``, where ``c`` counts the bigrams of the sentences framed as ``<bos> ... <eos>``
    and ``p_1(w) = (c(w) + 1) / (N + V)`` over all V ids (``N`` counted tokens, ``<eos>``
    included). Every id has a positive probability and each ``p(· | v)`` sums to 1.

    Args:
        sentences: Sentences as ids (without BOS/EOS), e.g. ``vocabulary.encode(tokens)``.
        vocab_size: Number of ids V.
        weight: The bigram weight λ in [0, 1].
    """

    def __init__(
        self, sentences: Iterable[Sequence[int]], vocab_size: int, weight: float = 0.9
    ) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must lie in [0, 1], got {weight}")
        self.vocab_size = vocab_size
        self.weight = weight
        pairs: list[np.ndarray] = []
        for ids in sentences:
            framed = np.asarray([BOS_ID, *ids, EOS_ID], dtype=np.int64)
            pairs.append(framed[:-1] * vocab_size + framed[1:])
        keys = np.concatenate(pairs) if pairs else np.zeros(0, dtype=np.int64)
        if len(keys) and (keys.min() < 0 or keys.max() >= vocab_size * vocab_size):
            raise ValueError(f"sentence ids must lie in 0 .. {vocab_size - 1}")
        self.keys, self.pair_counts = np.unique(keys, return_counts=True)  # sorted bigram keys
        self.context_counts = np.bincount(keys // vocab_size, minlength=vocab_size)  # (V,)
        token_counts = np.bincount(keys % vocab_size, minlength=vocab_size)  # (V,)
        self.unigram = (token_counts + 1.0) / (token_counts.sum() + vocab_size)  # (V,)

    def log_prob(self, previous: np.ndarray, token: np.ndarray) -> np.ndarray:
        """``log p(token | previous)``, elementwise over arrays of ids of the same shape."""
        previous = np.asarray(previous, dtype=np.int64)
        token = np.asarray(token, dtype=np.int64)
        key = previous * self.vocab_size + token
        index = np.searchsorted(self.keys, key).clip(max=max(len(self.keys) - 1, 0))
        found = self.keys[index] == key if len(self.keys) else np.zeros(key.shape, bool)
        pair = np.where(found, self.pair_counts[index] if len(self.keys) else 0, 0)
        context = self.context_counts[previous]
        bigram = pair / np.maximum(context, 1)
        weight = np.where(context > 0, self.weight, 0.0)
        return np.log(weight * bigram + (1.0 - weight) * self.unigram[token])

    def sentence_log_prob(self, ids: Sequence[int]) -> float:
        """``log p(<bos> ids <eos>)``: the log-probability of a whole sentence."""
        framed = np.asarray([BOS_ID, *ids, EOS_ID], dtype=np.int64)
        return float(self.log_prob(framed[:-1], framed[1:]).sum())
