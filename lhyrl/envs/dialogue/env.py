"""``lhyrl/Dialogue-v0``: talk with a simulated user, rewarded as in Li et al. (2016, 2017)."""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor, nn

from lhyrl.data.dialogue import TURN_SEPARATOR, DialogueData
from lhyrl.data.text import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    Language,
    check_language,
    tokenize,
)
from lhyrl.envs.dialogue.user import load_chat_model
from lhyrl.nn.chat_model import ChatModel, Decoding
from lhyrl.rewards.dialogue import (
    DULL_REPLIES,
    DialogueReward,
    DialogueRewardWeights,
    encode_dull_replies,
)

Turn = tuple[int, ...]
"""A turn's token ids, without ``<eos>``."""
EndReason = Literal["dull", "repeat", "max_turns"]
Speaker = Literal["user", "agent"]

SPLITS = ("train", "validation", "test")
DECODINGS: tuple[Decoding, ...] = ("greedy", "sample", "beam")
_PUNCTUATION = re.compile(r"[^\w\s]")


class DialogueDiscriminator(Protocol):
    """What ``discriminator=`` needs: e.g. :class:`lhyrl.nn.dialogue.HierarchicalDiscriminator`.

    If it is a :class:`torch.nn.Module` it is called in evaluation mode (its mode is restored
    afterwards); it is always called without gradients.
    """

    def prob_human(self, dialogue: Tensor) -> Tensor:
        """(B,) probability that each dialogue (B, N, L) long is human-made."""
        ...


@functools.lru_cache(maxsize=8)
def _chatterbot_openings(language: Language, seed: int, split: str) -> tuple[tuple[str, ...], ...]:
    return _openings(language, language, seed, split)


def _openings(
    source: str | os.PathLike[str], language: Language, seed: int, split: str
) -> tuple[tuple[str, ...], ...]:
    """The distinct turns that a reply answers in a split, as tokens, in corpus order."""
    data = DialogueData.load(source, language=language, seed=seed, context_turns=1)
    return tuple(dict.fromkeys(pair.context for pair in getattr(data, split)))


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _reward_weights(value: Any) -> DialogueRewardWeights:
    if isinstance(value, DialogueRewardWeights):
        value = (value.ease_of_answering, value.information_flow, value.semantic_coherence)
    try:
        weights = tuple(float(w) for w in value)
    except (TypeError, ValueError):
        weights = ()
    if len(weights) != 3 or not all(math.isfinite(w) for w in weights):
        raise ValueError(
            "reward_weights must be three finite numbers (ease of answering, information flow, "
            f"semantic coherence), got {value!r}"
        )
    return DialogueRewardWeights(*weights)


class DialogueEnv(gym.Env[dict[str, Any], np.int64]):
    """Hold a conversation with a simulated user, one token at a time (``lhyrl/Dialogue-v0``).

    ## Description

    The simulation of Li et al. (2016), "Deep Reinforcement Learning for Dialogue
    Generation", as a Gymnasium env: the agent talks with a simulated user, a seq2seq
    :class:`~lhyrl.nn.chat_model.ChatModel` (by default the shipped English one, trained on
    chatterbot-corpus). Each episode opens with a user turn drawn from the corpus; the agent
    writes its reply token by token; when the reply is finished the turn is rewarded, the
    user answers (greedy decoding by default), and the agent's next turn starts. A
    conversation ends when a turn is dull or repeats an earlier one. With a `discriminator`
    the reward is instead its probability that the dialogue is human-made, as in Li et al.
    (2017), "Adversarial Learning for Neural Dialogue Generation".

    Tokens are those of the user model's vocabulary (`env.unwrapped.vocabulary`; ids 0-3 are
    `<pad>`, `<bos>`, `<eos>`, `<unk>`, id 4 the turn separator `<sep>` of
    `lhyrl.data.dialogue`). `env.unwrapped.user_model.decode_text(ids)` gives text.

    ## Action Space

    `Discrete(V)`, V the vocabulary size: the next token of the agent's reply. `<eos>` (2)
    ends the reply. `<pad>` (0), `<bos>` (1) and `<sep>` cannot occur inside a turn: any of
    them is written (and scored) as `<unk>` (3), as in `lhyrl/TextGen-v0`. Anything but one
    integer in `0 .. V - 1` (a float, an array, a bool) raises `ValueError`.

    ## Observation Space

    `Dict`, each entry int64 token ids in `0 .. V - 1`, K = `history_turns`, L =
    `max_reply_len`:

    | Key       | Shape    | Observation                                                       |
    |-----------|----------|-------------------------------------------------------------------|
    | `context` | `(K, L)` | the last K finished turns, oldest first, the most recent last row |
    | `reply`   | `(L,)`   | the agent's reply so far, then `<pad>` (0)                        |

    A `context` row holds the turn's first L tokens, `<eos>` (2) if there is room, then
    `<pad>` (0); rows before the first turn are all `<pad>`. Turns alternate between the user
    (the last row, while the agent writes) and the agent. `reply` never holds `<eos>`: the
    step that writes it moves the reply into `context` and empties `reply`.

    ## Rewards

    0 on every step that does not end the agent's turn. On the step that ends it (`<eos>`,
    or the L-th token) the turn is rewarded once:

    - by default, Li et al.'s (2016) reward (`lhyrl.rewards.dialogue.DialogueReward`, the
      user model as forward model): `w1 * r1 + w2 * r2 + w3 * r3` with `reward_weights =
      (w1, w2, w3)`, r1 the ease of answering (the reply does not invite a dull answer),
      r2 the information flow (unlike the agent's own previous turn; 0 at its first turn),
      r3 the semantic coherence (`log p_forward(reply | context) / N_reply + log
      p_backward(user turn | reply) / N_user`). `info` holds `ease_of_answering`,
      `information_flow`, `semantic_coherence` and `reward_total`;
    - with a `discriminator`, its `prob_human` of the whole dialogue so far, the reply
      included, a (1, N, L') long tensor of the N turns, each its tokens, `<eos>`, then
      `<pad>`. `info` holds `prob_human` and `reward_total`.

    `env.unwrapped.score_reply(tokens)` gives the terms a reply would earn at the start of
    the agent's turn without writing it (a self-critical baseline scores the greedy reply so).

    ## Starting State

    The opening user turn: a turn that is answered in a conversation of the corpus split
    `split` (the distinct ones, drawn uniformly with `self.np_random`), or the text
    `reset(options={"opening": "..."})`. `context` holds it in its last row; `reply` is empty.

    ## Episode End

    Terminated when a turn, the agent's or the user's answer, is dull or a repeat; truncated
    after the agent's `max_turns`-th turn (the user does not answer it). A turn is *dull* if
    it has no word (it is empty, or only punctuation) or is a dull reply (by default
    `lhyrl.rewards.dialogue.DULL_REPLIES` of the language, e.g. "i don't know"); it is a
    *repeat* if it equals an earlier turn of either speaker. Turns are compared on token ids,
    trailing punctuation ignored ("i don't know ." is dull). A dull or repeated agent turn is
    still rewarded; the user does not answer it. No time limit is registered: an episode has
    at most `max_turns * max_reply_len` steps.

    `info` holds on every step `dialogue_turns`, the number of turns so far (the opening
    counts; the agent's turn counts once finished). On a step that ends the agent's turn it
    also holds the reward terms, `agent_text` and `user_text` (the user's answer; `""` when
    the episode ended before the user answered); on the last step `end_reason` (`"dull"`,
    `"repeat"` or `"max_turns"`) and `ended_by` (`"agent"` or `"user"`). `reset` gives
    `dialogue_turns` and `user_text`, the opening.

    ## Arguments

    `gym.make("lhyrl/Dialogue-v0", language=None, user_model=None, backward_model=None,
    forward_model=None, split="train",
    history_turns=4, max_reply_len=20, max_turns=8, reward_weights=(0.25, 0.25, 0.5),
    discriminator=None, user_decoding="greedy", dull_replies=None, corpus=None, data_seed=0,
    render_mode=None)`, all keyword arguments:

    - `language`: `"english"` or `"chinese"`, the language of the shipped models that
      `user_model=None` and `backward_model=None` stand for; `None` for English, or for
      the language of a given `user_model` (which it must then match).
    - `user_model`: the simulated user and forward model, a `ChatModel`, the path of a file
      written by `ChatModel.save`, or `None` for the shipped model of `language`
      (`lhyrl/envs/dialogue/weights/{english,chinese}_forward.pt`, trained on the training
      split of chatterbot-corpus, seed 0). Its vocabulary, language and `context_turns`
      are the env's. For another corpus, train and pass your own
      (`lhyrl.data.dialogue.DialogueData`, `ChatModel`).
    - `backward_model`: the reply → context model of r3, with the user model's vocabulary;
      `None` for the shipped one of the user model's language. Not used, and must be `None`,
      with a `discriminator`.
    - `forward_model`: the forward model p_seq2seq of the reward (r1, r2 and r3's first
      term), with the user model's vocabulary; `None` for the user model. In Li et al.'s
      simulation the agent talks with itself while a fixed pretrained seq2seq model scores
      it: to train so, pass the model being trained as `user_model` and the pretrained one
      here (otherwise the agent would raise its own reward by finding its replies likely).
      Must be `None` with a `discriminator`.
    - `split`: `"train"`, `"validation"` or `"test"`: where openings are drawn from.
    - `history_turns` (K), `max_reply_len` (L), `max_turns`: see above.
    - `reward_weights`: `(w1, w2, w3)` or a `DialogueRewardWeights`; unused with a
      `discriminator`.
    - `discriminator`: any object with `prob_human(dialogue (1, N, L') long) -> (1,)` in
      [0, 1], e.g. `lhyrl.nn.dialogue.HierarchicalDiscriminator`.
    - `user_decoding`: `"greedy"`, `"sample"` (from a `torch.Generator` seeded from
      `self.np_random` at every reset) or `"beam"` (4 beams).
    - `dull_replies`: texts of the dull replies; `None` for `DULL_REPLIES[language]`.
    - `corpus`: the conversations openings come from, `None` for the chatterbot-corpus of
      the user model's language, or a JSONL/TSV file (`lhyrl.data.dialogue`).
    - `data_seed`: the seed of the train/validation/test split of the conversations; the
      shipped models were trained on the training split of seed 0.

    Bad values raise `ValueError` (a missing model file `FileNotFoundError`).
    `render_mode="ansi"` renders the dialogue as text, one turn a line; `"human"` prints
    each new turn as it is finished, and the dialogue on `render()`.

    ## Version History

    - v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "human"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        *,
        language: Language | None = None,
        user_model: ChatModel | str | os.PathLike[str] | None = None,
        backward_model: ChatModel | str | os.PathLike[str] | None = None,
        forward_model: ChatModel | str | os.PathLike[str] | None = None,
        split: str = "train",
        history_turns: int = 4,
        max_reply_len: int = 20,
        max_turns: int = 8,
        reward_weights: Sequence[float] | DialogueRewardWeights = (0.25, 0.25, 0.5),
        discriminator: DialogueDiscriminator | None = None,
        user_decoding: Decoding = "greedy",
        dull_replies: Sequence[str] | None = None,
        corpus: str | os.PathLike[str] | None = None,
        data_seed: int = 0,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if user_decoding not in DECODINGS:
            raise ValueError(f"user_decoding must be one of {DECODINGS}, got {user_decoding!r}")
        self.history_turns = _positive_int("history_turns", history_turns)
        self.max_reply_len = _positive_int("max_reply_len", max_reply_len)
        self.max_turns = _positive_int("max_turns", max_turns)
        weights = _reward_weights(reward_weights)
        if isinstance(data_seed, bool) or not isinstance(data_seed, int | np.integer):
            raise ValueError(f"data_seed must be an integer, got {data_seed!r}")
        if discriminator is not None:
            if not callable(getattr(discriminator, "prob_human", None)):
                raise ValueError(
                    "discriminator must have a prob_human(dialogue) method (e.g. "
                    f"lhyrl.nn.dialogue.HierarchicalDiscriminator), got "
                    f"{type(discriminator).__name__}"
                )
            for name, model in (
                ("backward_model", backward_model),
                ("forward_model", forward_model),
            ):
                if model is not None:
                    raise ValueError(
                        f"{name} serves Li et al.'s reward; with a discriminator the reward "
                        "is its prob_human: pass one or the other"
                    )
        self.render_mode = render_mode
        self.split = split
        self.user_decoding: Decoding = user_decoding

        if language is not None:
            check_language(language)
        self.user_model = load_chat_model(user_model, "forward", language or "english")
        if language is not None and self.user_model.language != language:
            raise ValueError(
                f"language={language!r}, but the user model's language is "
                f"{self.user_model.language!r}: leave language out or pass a user model of that "
                "language"
            )
        self.vocabulary = self.user_model.vocabulary
        self.language: Language = self.user_model.language
        self.vocab_size = len(self.vocabulary)
        self._device = next(self.user_model.model.parameters()).device
        self._sep_id = self.vocabulary.stoi.get(TURN_SEPARATOR)
        if self._sep_id is None and self.user_model.context_turns > 1:
            raise ValueError(
                f"the user model reads {self.user_model.context_turns} turns of context but "
                f"its vocabulary has no turn separator {TURN_SEPARATOR!r}"
            )
        self._never_written = {PAD_ID, BOS_ID} | (
            {self._sep_id} if self._sep_id is not None else set()
        )
        self._punctuation = frozenset(
            i for i, token in enumerate(self.vocabulary.itos) if _PUNCTUATION.fullmatch(token)
        )
        if isinstance(dull_replies, str):
            raise ValueError(
                f"dull_replies must be a list of texts, not one text: {dull_replies!r}"
            )
        dull_texts = tuple(DULL_REPLIES[self.language] if dull_replies is None else dull_replies)
        if not dull_texts or not all(
            isinstance(t, str) and tokenize(t, self.language) for t in dull_texts
        ):
            raise ValueError(
                f"dull_replies must be a non-empty list of texts with words, got {dull_replies!r}"
            )
        self._dull = self._dull_turns(dull_texts)

        self.discriminator = discriminator
        self.backward_model: ChatModel | None = None
        self.forward_model: ChatModel | None = None
        self.reward: DialogueReward | None = None
        if discriminator is None:
            self.backward_model = self._reward_model(
                load_chat_model(backward_model, "backward", self.language), "backward"
            )
            self.forward_model = (
                self.user_model
                if forward_model is None
                else self._reward_model(load_chat_model(forward_model, "forward"), "forward")
            )
            self.reward = DialogueReward(
                self.forward_model.model,
                self.backward_model.model,
                encode_dull_replies(self.vocabulary, self.language, dull_texts).to(self._device),
                weights=weights,
            )

        if corpus is None:
            openings = _chatterbot_openings(self.language, int(data_seed), split)
        else:
            openings = _openings(corpus, self.language, int(data_seed), split)
        self._openings = [self._clean(self.vocabulary.encode(tokens)) for tokens in openings]
        if not self._openings:
            raise ValueError(f"the {split} split of the corpus holds no turn to open with")

        high = self.vocab_size - 1
        self.action_space = spaces.Discrete(self.vocab_size)
        self.observation_space = spaces.Dict(
            {
                "context": spaces.Box(
                    0, high, (self.history_turns, self.max_reply_len), dtype=np.int64
                ),
                "reply": spaces.Box(0, high, (self.max_reply_len,), dtype=np.int64),
            }
        )

        self._generator = torch.Generator(device=self._device)
        self._turns: list[Turn] = []
        self._speakers: list[Speaker] = []
        self._context = np.zeros((self.history_turns, self.max_reply_len), dtype=np.int64)
        self._reply = np.zeros(self.max_reply_len, dtype=np.int64)
        self._reply_len = 0
        self._agent_turns = 0
        self._printed = 0
        self._started = False
        self._ended = False

    # --- turns -------------------------------------------------------------------------------

    def _clean(self, ids: Iterable[int]) -> Turn:
        """A turn as written: ``<pad>``, ``<bos>`` and ``<sep>`` become ``<unk>``."""
        return tuple(UNK_ID if i in self._never_written else int(i) for i in ids)

    def _normalized(self, turn: Turn) -> Turn:
        """The turn without its trailing punctuation (how turns are compared)."""
        end = len(turn)
        while end and turn[end - 1] in self._punctuation:
            end -= 1
        return turn[:end]

    def _dull_turns(self, texts: Sequence[str]) -> frozenset[Turn]:
        """The dull replies as normalized turns; those with an unknown token cannot be written."""
        turns = set()
        for text in texts:
            tokens = tokenize(text, self.language)
            if all(token in self.vocabulary.stoi for token in tokens):
                turns.add(self._normalized(tuple(self.vocabulary.encode(tokens))))
        return frozenset(turns)

    def _end_reason(self, turn: Turn) -> EndReason | None:
        """``"dull"`` or ``"repeat"`` if the last turn of the dialogue, ``turn``, ends it."""
        normalized = self._normalized(turn)
        if not normalized or normalized in self._dull:
            return "dull"
        if any(self._normalized(earlier) == normalized for earlier in self._turns[:-1]):
            return "repeat"
        return None

    def _row(self, turn: Turn) -> np.ndarray:
        """(L,) the turn's first L tokens, ``<eos>`` if there is room, then ``<pad>``."""
        row = np.zeros(self.max_reply_len, dtype=np.int64)
        n = min(len(turn), self.max_reply_len)
        row[:n] = turn[:n]
        if len(turn) < self.max_reply_len:
            row[len(turn)] = EOS_ID
        return row

    def _target(self, turn: Turn, *, eos: bool = True) -> Tensor:
        """(1, T) long: the turn in target form (tokens, then ``<eos>``)."""
        return torch.tensor([[*turn, EOS_ID] if eos else list(turn)], device=self._device)

    def _source(self, turns: Sequence[Turn]) -> Tensor:
        """(1, S) long: the user model's source for a reply to ``turns``, as it was trained."""
        kept = [turn for turn in turns if turn][-self.user_model.context_turns :]
        ids = [i for turn in kept for i in (self._sep_id, *turn)][1:] or [UNK_ID]
        return torch.tensor([ids[-self.user_model.source_len :]], device=self._device)

    def _text(self, turn: Turn) -> str:
        return self.user_model.decode_text(turn)

    def _observe(self) -> dict[str, np.ndarray]:
        return {"context": self._context.copy(), "reply": self._reply.copy()}

    def _append(self, turn: Turn, speaker: Speaker) -> None:
        self._turns.append(turn)
        self._speakers.append(speaker)
        self._context = np.roll(self._context, -1, axis=0)
        self._context[-1] = self._row(turn)

    # --- rewards and the user ----------------------------------------------------------------

    def _reward_model(self, model: ChatModel, role: str) -> ChatModel:
        """``model``, checked to share the user model's vocabulary and device."""
        if model.vocabulary != self.vocabulary:
            raise ValueError(
                f"the {role} model's vocabulary differs from the user model's; pass a "
                f"{role}_model trained on the same vocabulary"
            )
        device = next(model.model.parameters()).device
        if device != self._device:
            raise ValueError(
                f"the user model is on {self._device}, the {role} model on {device}: put "
                "both on one device"
            )
        return model

    def _turn_reward(self, reply: Turn, wrote_eos: bool) -> dict[str, float]:
        """The reward terms of the agent's finished reply (not yet in the dialogue)."""
        if self.discriminator is not None:
            return self._discriminator_reward(reply)
        assert self.reward is not None
        terms = self.reward(
            context=self._source(self._turns),
            query=self._target(self._turns[-1]),
            reply=self._target(reply, eos=wrote_eos),
            previous_reply=self._target(self._turns[-2]) if len(self._turns) >= 2 else None,
        )
        info = terms.info()
        info["reward_total"] = info.pop("total")
        return info

    def _discriminator_reward(self, reply: Turn) -> dict[str, float]:
        assert self.discriminator is not None
        turns = [*self._turns, reply]
        dialogue = torch.zeros(
            (1, len(turns), max(len(t) for t in turns) + 1), dtype=torch.long
        )  # (1, N, L')
        for n, turn in enumerate(turns):
            dialogue[0, n, : len(turn) + 1] = torch.tensor([*turn, EOS_ID])
        module = self.discriminator if isinstance(self.discriminator, nn.Module) else None
        training = module.training if module is not None else False
        try:
            if module is not None:
                module.eval()
                dialogue = dialogue.to(next(module.parameters(), dialogue).device)
            with torch.no_grad():
                prob = self.discriminator.prob_human(dialogue)
        finally:
            if module is not None:
                module.train(training)
        value = (
            float(prob.reshape(-1)[0]) if isinstance(prob, Tensor) and prob.numel() == 1 else None
        )
        if value is None or not 0.0 <= value <= 1.0:
            raise ValueError(
                "discriminator.prob_human(dialogue (1, N, L)) must return one probability in "
                f"[0, 1], got {prob!r}"
            )
        return {"prob_human": value, "reward_total": value}

    def score_reply(self, tokens: Sequence[int]) -> dict[str, float]:
        """The reward terms ``tokens`` would earn as the agent's reply now, without writing it.

        The state is left as it was; the env's ``np_random`` is not touched. The reply ends
        at its first ``<eos>`` (without one, it is scored as if ``<eos>`` followed), or at its
        L-th token, as writing it would end it.

        Args:
            tokens: Token ids of a reply, as the actions that would write it.

        Returns:
            The ``info`` reward entries of the step that would end the turn (``reward_total``
            and the terms).

        Raises:
            RuntimeError: Outside an agent's turn that has not started writing (before
                ``reset``, after the end, or with part of a reply written).
        """
        if not self._started or self._ended:
            raise RuntimeError("score_reply needs a running conversation: call reset() first")
        if self._reply_len:
            raise RuntimeError(
                f"score_reply scores whole replies at the start of the agent's turn; "
                f"{self._reply_len} token(s) of this turn are already written"
            )
        ids = [self._check_action(t) for t in tokens]
        if EOS_ID in ids:
            ids = ids[: ids.index(EOS_ID)]
        full = len(ids) >= self.max_reply_len  # writing it ends the turn at the L-th token
        reply = self._clean(ids[: self.max_reply_len])
        return self._turn_reward(reply, wrote_eos=not full)

    def _user_answer(self) -> Turn:
        """The user's answer to the dialogue so far: one decode of the user model."""
        decoded = self.user_model.generate(
            self._source(self._turns), decoding=self.user_decoding, generator=self._generator
        )
        tokens = decoded.tokens[0].tolist()
        end = tokens.index(EOS_ID) if EOS_ID in tokens else len(tokens)
        return self._clean(t for t in tokens[:end] if t != PAD_ID)

    # --- gymnasium -----------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Open a conversation with a user turn from the corpus, or ``options["opening"]``.

        Args:
            seed: Seeds ``self.np_random``, which draws the opening and seeds the user's
                sampling.
            options: ``{"opening": text}`` to open with a given user turn.

        Returns:
            The observation and ``{"dialogue_turns": 1, "user_text": opening}``.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        opening_text = options.pop("opening", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; the only one is 'opening'")
        self._generator.manual_seed(int(self.np_random.integers(2**63 - 1)))
        if opening_text is None:
            opening = self._openings[int(self.np_random.integers(len(self._openings)))]
        else:
            tokens = tokenize(opening_text, self.language) if isinstance(opening_text, str) else []
            if not tokens:
                raise ValueError(
                    f"options['opening'] must be a text with words, got {opening_text!r}"
                )
            opening = self._clean(self.vocabulary.encode(tokens))
        self._turns, self._speakers = [], []
        self._context[:] = PAD_ID
        self._reply[:] = PAD_ID
        self._reply_len = 0
        self._agent_turns = 0
        self._printed = 0
        self._append(opening, "user")
        self._started, self._ended = True, False
        if self.render_mode == "human":
            self._print_new_turns()
        return self._observe(), {"dialogue_turns": 1, "user_text": self._text(opening)}

    def _check_action(self, action: Any) -> int:
        value = np.asarray(action)
        if (
            isinstance(action, bool | np.bool_)
            or value.shape != ()
            or not np.issubdtype(value.dtype, np.integer)
            or not 0 <= int(value) < self.vocab_size
        ):
            raise ValueError(
                f"an action is one integer token id in 0 .. {self.vocab_size - 1} "
                f"({self.action_space}), got {action!r}"
            )
        return int(value)

    def step(
        self, action: np.int64 | int
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Write the token ``action``; see the class docstring for rewards and episode end."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self._ended:
            raise RuntimeError("the conversation has ended; call reset()")
        token = self._clean([self._check_action(action)])[0]
        wrote_eos = token == EOS_ID
        if not wrote_eos:
            self._reply[self._reply_len] = token
            self._reply_len += 1
        if not wrote_eos and self._reply_len < self.max_reply_len:
            return self._observe(), 0.0, False, False, {"dialogue_turns": len(self._turns)}
        return self._end_turn(wrote_eos)

    def _end_turn(
        self, wrote_eos: bool
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Reward the agent's reply, let the user answer, and see whether the dialogue ends."""
        reply: Turn = tuple(int(t) for t in self._reply[: self._reply_len])
        info: dict[str, Any] = self._turn_reward(reply, wrote_eos)
        self._append(reply, "agent")
        self._agent_turns += 1
        self._reply[:] = PAD_ID
        self._reply_len = 0
        info["agent_text"], info["user_text"] = self._text(reply), ""
        end, ended_by = self._end_reason(reply), "agent"
        if end is None and self._agent_turns >= self.max_turns:
            end = "max_turns"
        if end is None:
            answer = self._user_answer()
            self._append(answer, "user")
            info["user_text"] = self._text(answer)
            end, ended_by = self._end_reason(answer), "user"
        info["dialogue_turns"] = len(self._turns)
        if end is not None:
            info["end_reason"], info["ended_by"] = end, ended_by
            self._ended = True
        if self.render_mode == "human":
            self._print_new_turns()
        truncated = end == "max_turns"
        terminated = end is not None and not truncated
        return self._observe(), info["reward_total"], terminated, truncated, info

    # --- rendering -----------------------------------------------------------------------------

    def _lines(self, start: int = 0) -> list[str]:
        return [
            f"{speaker}: {self._text(turn)}"
            for speaker, turn in zip(self._speakers[start:], self._turns[start:], strict=True)
        ]

    def _print_new_turns(self) -> None:
        for line in self._lines(self._printed):
            print(line)
        self._printed = len(self._turns)

    def render(self) -> str | None:
        """The dialogue so far, one turn a line, the agent's unfinished reply last (``ansi``).

        In ``human`` mode the same text is printed and ``None`` returned.
        """
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; pass render_mode='ansi' or 'human'."
            )
            return None
        lines = self._lines()
        if self._reply_len:
            lines.append(f"agent (writing): {self._text(tuple(self._reply[: self._reply_len]))}")
        text = "\n".join(lines)
        if self.render_mode == "human":
            print(text)
            return None
        return text
