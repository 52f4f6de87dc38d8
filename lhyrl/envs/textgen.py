"""``lhyrl/TextGen-v0``: write a sentence of a real corpus token by token."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from lhyrl.data.text import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    BigramModel,
    Language,
    TextCorpus,
    detokenize,
)
from lhyrl.envs.seqgen_core import (
    SequenceBatch,
    SequenceEnv,
    SequenceReward,
    SequenceVectorEnv,
    per_sequence,
    token_space,
)
from lhyrl.metrics.sequences import bleu


class BigramScorer:
    """Scores the next token of B sequences under a :class:`~lhyrl.data.text.BigramModel`.

    A row's state is its last token (``<bos>`` at the start).
    """

    def __init__(self, bigram: BigramModel, batch: int) -> None:
        self.bigram = bigram
        self.previous = np.full(batch, BOS_ID, dtype=np.int64)  # (B,)

    def reset(self, rows: np.ndarray) -> None:
        """Put ``rows`` back after ``<bos>``."""
        self.previous[rows] = BOS_ID

    def log_prob(self, tokens: np.ndarray) -> np.ndarray:
        """(B,) ``log p(token | previous token)``."""
        return self.bigram.log_prob(self.previous, tokens)

    def advance(self, tokens: np.ndarray, rows: np.ndarray) -> None:
        """Make ``tokens[rows]`` the previous tokens of ``rows``."""
        self.previous[rows] = tokens[rows]


def bleu_reward(references: Iterable[Sequence[int]], n: int = 4) -> SequenceReward:
    """A ``reward_fn``: sentence BLEU-n of each finished sentence against ``references``.

    The sentence is scored without its final ``<eos>`` (``lhyrl.metrics.sequences.bleu``,
    smoothed); against the whole English chatterbot-corpus (about 1,900 references) one
    sentence takes about 70 ms. For example::

        corpus = TextCorpus.load("english")
        references = [corpus.vocabulary.encode(s) for s in corpus.sentences]
        env = gym.make("lhyrl/TextGen-v0", corpus=corpus, reward_fn=bleu_reward(references))

    Args:
        references: Sentences as ids, without ``<bos>``/``<eos>``.
        n: Highest n-gram order.
    """
    refs = [list(map(int, r)) for r in references]
    if not refs:
        raise ValueError("bleu_reward needs at least one reference sentence")

    def score(tokens: np.ndarray) -> float:
        ids = tokens[:-1] if len(tokens) and tokens[-1] == EOS_ID else tokens
        return bleu([ids.tolist()], refs, n)

    return per_sequence(score)


class TextGenEnv(SequenceEnv):
    """Write a sentence token by token, scored by a bigram model of a corpus (``lhyrl/TextGen-v0``).

    ## Description

    Text generation as an RL environment, the interface of `lhyrl/SeqGen-v0` over real text.
    The corpus (by default the English utterances of chatterbot-corpus, BSD-3) is tokenized
    (words for English, characters for Chinese; `lhyrl.data.text.tokenize`) and its
    vocabulary built (`lhyrl.data.text.Vocabulary`: ids 0-3 are `<pad>`, `<bos>`, `<eos>`,
    `<unk>`, then the corpus tokens, most frequent first). The agent writes a sentence until
    it writes `<eos>` or reaches `max_length` tokens. `env.unwrapped.corpus` holds the
    tokenized sentences and the vocabulary; `env.unwrapped.decode(tokens)` gives text.

    ## Action Space

    `Discrete(V)`, V the vocabulary size: the id of the next token. `<pad>` (0) and `<bos>`
    (1) cannot occur inside a sentence: either action is written (and scored) as `<unk>` (3).
    Anything but one integer in `0 .. V - 1` (a float, a bool, a string, `None`, an array)
    raises `ValueError`.

    ## Observation Space

    `MultiDiscrete([V] * max_length + [max_length + 1])`, int64, of `max_length + 1` entries:

    | Num        | Observation                                                    | Values     |
    |------------|----------------------------------------------------------------|------------|
    | 0 .. T - 1 | token id at that position; `<pad>` (0) if not written yet      | 0 .. V - 1 |
    | T          | position: the number of tokens written so far                  | 0 .. T     |

    Stable-Baselines3 one-hot encodes this space (V * T + T + 1 inputs, about 67,000 for the
    English default); a large vocabulary wants an embedding feature extractor.

    ## Rewards

    By default, `log p(x_t | x_{t-1})` on step t under a smoothed bigram model of the corpus
    (`lhyrl.data.text.BigramModel`: the corpus bigram frequency interpolated with weight
    `bigram_weight` with an add-one unigram model, the first token conditioned on `<bos>`),
    so a return is the sentence's log-likelihood under the corpus model, `<eos>` included
    when it was written. A `reward_fn` replaces it with a reward on the last step computed on
    the finished sentence (BLEU against the corpus, a discriminator's probability), a
    `step_reward_fn` with a reward on every step computed on the prefix; given both, they add
    up. Both take `(tokens, lengths)` arrays (see `lhyrl.envs.seqgen_core.SequenceReward`);
    the tokens include the final `<eos>`. `lhyrl.envs.textgen.bleu_reward(references)` makes
    a `reward_fn` of BLEU against the corpus. `info["log_prob"]` always holds the bigram
    log-probability of the step's token.

    ## Starting State

    The empty sentence: every token slot holds `<pad>`, the position is 0.

    ## Episode End

    Terminated when the agent writes `<eos>` or the sentence reaches `max_length` tokens
    (without `<eos>`; the position in the observation makes this part of the state, so no
    time limit is registered). Never truncated.

    ## Arguments

    `gym.make("lhyrl/TextGen-v0", corpus="english", language=None, max_length=20,
    min_count=1, max_vocab=None, bigram_weight=0.9, reward_fn=None, step_reward_fn=None,
    render_mode=None)`. `corpus` is `"english"` or `"chinese"` (chatterbot-corpus), the path
    of a UTF-8 text file of one sentence per line (tokenized as `language`, English by
    default), or a `lhyrl.data.text.TextCorpus`. `min_count` and `max_vocab` bound the
    vocabulary (rarer tokens become `<unk>`). An empty corpus raises `ValueError`.
    `render_mode="ansi"` renders the sentence so far as text. The native vector env is
    `gym.make_vec("lhyrl/TextGen-v0", num_envs=B, vectorization_mode="vector_entry_point")`.

    ## Version History

    - v0: initial version.
    """

    def __init__(
        self,
        corpus: str | os.PathLike[str] | TextCorpus = "english",
        language: Language | None = None,
        max_length: int = 20,
        *,
        min_count: int = 1,
        max_vocab: int | None = None,
        bigram_weight: float = 0.9,
        reward_fn: SequenceReward | None = None,
        step_reward_fn: SequenceReward | None = None,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(corpus, TextCorpus):
            if language not in (None, corpus.language):
                raise ValueError(f"the corpus is {corpus.language}, not {language!r}")
            self.corpus = corpus
        else:
            self.corpus = TextCorpus.load(
                corpus, language, min_count=min_count, max_vocab=max_vocab
            )
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {max_length}")
        self.vocabulary = self.corpus.vocabulary
        self.vocab_size = len(self.vocabulary)
        self.max_length = max_length
        self.bigram = BigramModel(
            (self.vocabulary.encode(s) for s in self.corpus.sentences),
            self.vocab_size,
            bigram_weight,
        )
        self.reward_fn = reward_fn
        self.step_reward_fn = step_reward_fn
        self.action_space = spaces.Discrete(self.vocab_size)
        self.observation_space = token_space(self.vocab_size, max_length, PAD_ID)
        super().__init__(render_mode)

    def _make_batch(self, batch: int) -> SequenceBatch:
        return SequenceBatch(
            batch,
            self.max_length,
            BigramScorer(self.bigram, batch),
            pad_id=PAD_ID,
            eos_id=EOS_ID,
            replace={PAD_ID: UNK_ID, BOS_ID: UNK_ID},
            reward_fn=self.reward_fn,
            step_reward_fn=self.step_reward_fn,
        )

    def decode(self, tokens: np.ndarray) -> str:
        """The text of token ids (up to the first ``<eos>``)."""
        return detokenize(self.vocabulary.decode(tokens), self.corpus.language)


class TextGenVectorEnv(SequenceVectorEnv):
    """``num_envs`` copies of ``lhyrl/TextGen-v0`` sharing one corpus, stepped together.

    Sub-envs end at different steps (at `<eos>`) and restart on their next step. See
    :class:`~lhyrl.envs.seqgen_core.SequenceVectorEnv` for autoreset.

    Args:
        num_envs: Number of sentences B.
        **kwargs: The arguments of :class:`TextGenEnv`.
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        kwargs.pop("max_episode_steps", None)
        env = TextGenEnv(**kwargs)
        super().__init__(num_envs, env)
        self.corpus = env.corpus
        self.vocabulary = env.vocabulary
        self.decode = env.decode
