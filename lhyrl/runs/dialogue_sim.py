"""The data, the simulated user and the evaluation of dialogue runs (:mod:`lhyrl.runs.dialogue`).

* **Data**: the conversations of ``corpus`` (chatterbot-corpus's ``english`` or ``chinese``, or
  a JSONL / TSV file), split by conversation into train / validation / test with ``data_seed``
  and cut into (context, reply) pairs of the chat model's context turns, encoded in its
  vocabulary (:class:`DialogueTask`).
* **The starting chat model**: ``init`` (a run directory or a chat-model file); without it a
  new model for ``mle`` (its vocabulary the training split's), and for the others the shipped
  model of the language (``lhyrl/envs/dialogue/weights/<language>_forward.pt``).
* **The simulated user** of ``lhyrl/Dialogue-v0`` (:class:`SimulatedUser`): ``user_model`` and
  ``backward_model``, by default the shipped ones. The env reads and writes its user's
  vocabulary, so the bot must share it: MMI and dialogue RL refuse another one; MLE and REGS
  runs then skip the simulation and say why.
* **Evaluation** (:class:`Evaluator`) on ``eval_split``: per-token NLL of the human replies,
  distinct-1/2, BLEU and length of the greedy replies, and ``eval_episodes`` greedy dialogues
  with the simulated user on openings of the split (Li et al.'s dialogue length, distinct-n
  of the bot's turns, the reward terms, three transcripts). The final report adds beam-search
  scores, sample replies and the same dialogues in self-play (the bot as its own user, Li et
  al.'s simulation proper, scored by the fixed user and backward models).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
from torch import Tensor

from lhyrl.agents.dialogue import DialogueMLE, new_chat_model, simulate
from lhyrl.agents.trainer import resolve_device
from lhyrl.chat import load_chat_model
from lhyrl.config import ConfigError, RunConfig
from lhyrl.data.dialogue import DialogueData, TokenizedPair, encode_pairs
from lhyrl.data.text import LANGUAGES, UNK_ID, Language
from lhyrl.envs.dialogue.user import Role
from lhyrl.envs.dialogue.user import load_chat_model as load_shipped_model
from lhyrl.nn.chat_model import ChatModel, ChatModelError, Decoding
from lhyrl.nn.seq2seq import Seq2SeqConfig
from lhyrl.runs.common import Evaluation

__all__ = [
    "SIMULATION_KEYS",
    "DialogueTask",
    "Evaluator",
    "Pairs",
    "SimulatedUser",
    "close_envs",
    "dialogue_envs",
    "load_task",
    "shipped_name",
    "simulated_user",
]

Pairs = tuple[Tensor, Tensor]
"""``(src, tgt)``: (N, S) contexts and (N, T) replies, long token ids."""

SIMULATION_KEYS = (
    "n_dialogues",
    "dialogue_length",
    "dialogue_turns",
    "agent_turns",
    "end_reasons",
    "distinct_1",
    "distinct_2",
    "reply_length",
    "reward_total",
    "reward_terms",
    "return",
)
"""The measures of :func:`lhyrl.agents.dialogue.simulate` kept in reports."""
SAMPLE_CONTEXTS = 4
"""Contexts whose greedy replies are logged as text."""
REPORT_SAMPLES = 6
"""Contexts whose beam-search replies go into the final report."""
TRANSCRIPTS = 3
"""Simulated dialogues kept in a report."""
UNKNOWN_WARNING = 0.2
"""Share of <unk> among the training replies' tokens above which an init model is doubted."""


def shipped_name(language: str, role: Role = "forward") -> str:
    """How a shipped chat model is named in reports and messages."""
    return f"the shipped {language} {role} model (lhyrl/envs/dialogue/weights/{language}_{role}.pt)"


def _chat_model(path: str | None, role: Role, language: Language, key: str) -> ChatModel:
    """The chat model at ``path`` (run directory or file), or the shipped one of ``role``."""
    try:
        if path is None:
            return load_shipped_model(None, role, language)
        return load_chat_model(path)
    except (FileNotFoundError, ChatModelError) as err:
        raise ConfigError(f"{key}: {err}") from err


# ------------------------------------------------------------------------ the simulated user


class SimulatedUser(NamedTuple):
    """The chat models behind ``lhyrl/Dialogue-v0``: the user (forward) and backward model."""

    user: ChatModel
    backward: ChatModel
    source: str
    """Where the user model came from, for messages and reports."""


def simulated_user(config: RunConfig, chat_model: ChatModel) -> SimulatedUser:
    """Load ``user_model`` and ``backward_model``; check they read ``chat_model``'s vocabulary.

    Raises:
        ConfigError: If a model is missing or unreadable, or a vocabulary differs.
    """
    section = config.dialogue
    language = chat_model.language
    source = section.user_model or shipped_name(language)
    user = _chat_model(section.user_model, "forward", language, "user_model")
    if user.vocabulary != chat_model.vocabulary or user.language != chat_model.language:
        raise ConfigError(
            f"the model's vocabulary ({len(chat_model.vocabulary)} {chat_model.language} "
            f"tokens) is not that of lhyrl/Dialogue-v0's simulated user ({len(user.vocabulary)} "
            f"{user.language} tokens, {source}), and the env reads and writes the user's "
            "vocabulary. Start from a model trained on the user's vocabulary (for the shipped "
            "user: the chatterbot corpus with min_count 1 and data_seed 0), or pass "
            "--user-model and --backward-model trained on the model's vocabulary"
        )
    backward = _chat_model(section.backward_model, "backward", user.language, "backward_model")
    if backward.vocabulary != user.vocabulary:
        raise ConfigError(
            "the backward_model's vocabulary is not the user model's; pass a reply -> context "
            "model trained on the same vocabulary"
        )
    device = next(chat_model.model.parameters()).device
    user.model.to(device)
    backward.model.to(device)
    return SimulatedUser(user, backward, source)


def dialogue_envs(
    config: RunConfig,
    users: SimulatedUser,
    chat_model: ChatModel,
    n: int,
    split: str,
    *,
    max_turns: int,
    self_play: bool = False,
) -> list[gym.Env[Any, Any]]:
    """``n`` envs of ``config.env`` on openings of ``split``, sharing the user models.

    With ``self_play`` the env's user is ``chat_model`` itself, and ``users.user`` only scores
    the reward (its forward model), as in Li et al.'s simulation.

    Raises:
        ValueError: If the env refuses the settings (e.g. a split without openings).
    """
    section = config.dialogue
    weights = (
        section.ease_of_answering_weight,
        section.information_flow_weight,
        section.semantic_coherence_weight,
    )
    corpus = None if section.corpus in LANGUAGES else section.corpus
    return [
        gym.make(
            config.env,
            user_model=chat_model if self_play else users.user,
            backward_model=users.backward,
            forward_model=users.user if self_play else None,
            split=split,
            max_turns=max_turns,
            max_reply_len=chat_model.target_len,
            reward_weights=weights,
            corpus=corpus,
            data_seed=section.data_seed,
        )
        for _ in range(n)
    ]


def close_envs(envs: Sequence[gym.Env[Any, Any]]) -> None:
    """Close every env of ``envs``."""
    for env in envs:
        env.close()


# ------------------------------------------------------------------------------ the data


@dataclass
class DialogueTask:
    """What a dialogue run trains and is scored on, made from its config; nothing written."""

    chat_model: ChatModel
    """The model the run trains (new, or ``init``'s), on the run's device."""
    source: str | None
    """Where the model came from (``None``: a new model)."""
    data: DialogueData
    """The split pairs (and, for a new model, its vocabulary)."""
    splits: dict[str, Pairs | None]
    """``train``, ``validation`` and ``test`` pairs in the model's vocabulary (``None``: none)."""
    users: SimulatedUser | None
    """The simulated user, if it reads the model's vocabulary."""
    users_note: str | None = None
    """Why there is no simulated user."""

    @property
    def train(self) -> Pairs:
        """The training pairs (:func:`load_task` refuses a run without any)."""
        pairs = self.splits["train"]
        assert pairs is not None
        return pairs

    def counts(self) -> dict[str, Any]:
        """What the run trained on, for ``eval.json``."""
        return {
            "language": self.data.language,
            "pairs": {
                "train": len(self.data.train),
                "validation": len(self.data.validation),
                "test": len(self.data.test),
            },
            "vocabulary": len(self.chat_model.vocabulary),
        }


def _language(config: RunConfig, init: ChatModel | None) -> Language:
    """The run's language: ``language``, the chatterbot corpus's, or the init model's."""
    section = config.dialogue
    chatterbot = section.corpus if section.corpus in LANGUAGES else None
    if init is not None:
        if section.language not in (None, init.language):
            raise ConfigError(
                f"language {section.language}, but the init model is a {init.language} model; "
                "leave language out or pass a model of that language"
            )
        if chatterbot not in (None, init.language):
            raise ConfigError(
                f"corpus {chatterbot} is chatterbot-corpus's {chatterbot} conversations, but the "
                f"init model is a {init.language} model; pass --corpus {init.language} (or a "
                "file of conversations)"
            )
        return init.language
    if chatterbot is not None and section.language not in (None, chatterbot):
        raise ConfigError(
            f"language {section.language}, but corpus {chatterbot} is chatterbot-corpus's "
            f"{chatterbot} conversations; for its {section.language} ones pass --corpus "
            f"{section.language}"
        )
    language: Language = section.language or chatterbot or "english"
    return language


def _encode(pairs: Sequence[TokenizedPair], chat_model: ChatModel) -> Pairs | None:
    if not pairs:
        return None
    return encode_pairs(
        pairs,
        chat_model.vocabulary,
        source_len=chat_model.source_len,
        target_len=chat_model.target_len,
    )


def _unknown_share(tgt: Tensor) -> float:
    """The share of ``<unk>`` among the reply tokens (ids from ``<unk>`` on)."""
    tokens = tgt >= UNK_ID
    return float((tgt == UNK_ID).sum()) / max(int(tokens.sum()), 1)


def load_task(
    config: RunConfig, *, model: ChatModel | None = None, source: str | None = None
) -> DialogueTask:
    """The data, the starting model and the simulated user of a dialogue run; writes nothing.

    Args:
        config: The run's config.
        model: The model to use instead of the run's starting one (``lhyrl eval``: the run's
            ``model.pt``); its vocabulary encodes the pairs, and a simulated user of another
            vocabulary is then only noted.
        source: Where ``model`` came from.

    Raises:
        ConfigError: For a missing or unreadable init, user or backward model, a language
            that is not the init model's, a simulated user of another vocabulary (training
            mmi or dialogue-rl), or an empty training split.
        ValueError, FileNotFoundError: For an unreadable corpus or a bad device.
    """
    section = config.dialogue
    device = resolve_device(config.device)
    training = model is None
    strict = training and config.algo in ("mmi", "dialogue-rl")
    if model is None and section.init is not None:
        model = _chat_model(section.init, "forward", "english", "init")
        source = section.init
    language = _language(config, model)
    if model is None and config.algo != "mle":
        model = _chat_model(None, "forward", language, "init")
        source = shipped_name(language)
    data = DialogueData.load(
        section.corpus,
        language=language,
        seed=section.data_seed,
        context_turns=model.context_turns if model is not None else section.context_turns,
        min_count=section.min_count,
    )
    if section.max_pairs is not None:
        n = section.max_pairs
        data = DialogueData(
            data.train[:n], data.validation[:n], data.test[:n], data.vocabulary, data.language
        )
    if model is None:
        model = new_chat_model(
            config=Seq2SeqConfig(
                vocab_size=len(data.vocabulary),
                embedding_dim=section.embedding_dim,
                hidden_dim=section.hidden_dim,
                attention=section.attention,
                dropout=section.dropout,
            ),
            vocabulary=data.vocabulary,
            language=data.language,
            source_len=section.source_len,
            target_len=section.target_len,
            context_turns=section.context_turns,
            seed=config.seed,
        )
    model.model.to(device)
    splits = {name: _encode(getattr(data, name), model) for name in ("train", "validation", "test")}
    train = splits["train"]
    if train is None:
        raise ConfigError("the training split holds no dialogue pair")
    if training and source is not None and _unknown_share(train[1]) > UNKNOWN_WARNING:
        warnings.warn(
            f"{_unknown_share(train[1]):.0%} of the training replies' tokens are <unk> in the "
            f"vocabulary of {source}; is it a model of this corpus?",
            stacklevel=2,
        )
    try:
        users, note = simulated_user(config, model), None
    except ConfigError as err:
        if strict:  # their training talks with, or is scored by, the simulated user
            raise
        users, note = None, f"skipped: {err}"
    return DialogueTask(model, source, data, splits, users, note)


# ------------------------------------------------------------------------------ evaluation


def score_pairs(
    chat_model: ChatModel, pairs: Pairs, *, decoding: Decoding = "greedy"
) -> dict[str, float]:
    """NLL of the human replies; distinct-1/2, BLEU and length of the model's replies."""
    return DialogueMLE(chat_model=chat_model).evaluate(*pairs, decoding=decoding, log=False)


def sample_texts(
    chat_model: ChatModel, src: Tensor, n: int, *, decoding: Decoding
) -> list[tuple[str, str]]:
    """``(context, reply)`` texts of the model's replies to the first ``n`` contexts."""
    return DialogueMLE(chat_model=chat_model).sample_texts(src, n, decoding=decoding)


class Evaluator:
    """Evaluations of a chat model on ``eval_split``: its pairs, and simulated dialogues.

    The simulation's envs are made at the first evaluation and kept (every evaluation
    reseeds them from ``seed``, so each scores the same openings); :meth:`close` closes them.

    Args:
        config: The run's config.
        task: The run's data and simulated user.
        episodes: Simulated dialogues per evaluation.
        seed: Seeds the simulated dialogues (and the discriminator's samples).
    """

    def __init__(self, config: RunConfig, task: DialogueTask, *, episodes: int, seed: int) -> None:
        self.config = config
        self.task = task
        self.episodes = episodes
        self.seed = seed
        self.split: str = config.dialogue.eval_split
        self.pairs = task.splits[self.split]
        self._envs: list[gym.Env[Any, Any]] | None = None
        self._note = task.users_note

    def _simulate(
        self, chat_model: ChatModel, *, self_play: bool = False
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Greedy dialogues with the simulated user (or self-play), or why there are none."""
        users = self.task.users
        if users is None:
            return None, self._note
        section = self.config.dialogue
        n = min(section.eval_envs, self.episodes)
        try:
            if self_play:
                envs = dialogue_envs(
                    self.config,
                    users,
                    chat_model,
                    n,
                    self.split,
                    max_turns=section.max_turns,
                    self_play=True,
                )
            else:
                if self._envs is None:
                    self._envs = dialogue_envs(
                        self.config, users, chat_model, n, self.split, max_turns=section.max_turns
                    )
                envs = self._envs
        except ValueError as err:
            self._note = f"skipped: {err}"
            return None, self._note
        try:
            result = simulate(chat_model, envs, self.episodes, decoding="greedy", seed=self.seed)
        finally:
            if self_play:
                close_envs(envs)
        out = {key: result[key] for key in SIMULATION_KEYS}
        out["transcripts"] = [
            [list(turn) for turn in t] for t in result["transcripts"][:TRANSCRIPTS]
        ]
        return out, None

    def __call__(
        self,
        chat_model: ChatModel,
        discriminator: Callable[[Tensor, Tensor], dict[str, float]] | None = None,
    ) -> Evaluation:
        """Score ``chat_model`` (and, for REGS, its ``discriminator`` measures) on the split."""
        scalars: dict[str, float] = {}
        report: dict[str, Any] = {"eval_split": self.split}
        if self.pairs is not None:
            scores = score_pairs(chat_model, self.pairs)
            scalars.update(scores)
            report[self.split] = scores
            if discriminator is not None:
                measures = discriminator(*self.pairs)
                measures["disc_reward_mean"] = measures.pop("reward_mean")
                scalars.update(measures)
                report["discriminator"] = measures
        else:
            report[self.split] = None
        simulation, note = self._simulate(chat_model)
        if simulation is not None:
            scalars["dialogue_length"] = simulation["dialogue_length"]
            scalars["sim_distinct_1"] = simulation["distinct_1"]
            scalars["sim_distinct_2"] = simulation["distinct_2"]
            scalars["reward_total"] = simulation["reward_total"]
            scalars["return"] = simulation["return"]
        report["simulation"], report["simulation_note"] = simulation, note
        return Evaluation(scalars=scalars, report=report)

    def final_report(self, chat_model: ChatModel) -> dict[str, Any]:
        """What only the final evaluation reports: beam search, sample replies, self-play."""
        report: dict[str, Any] = {}
        if self.pairs is not None:
            report[f"{self.split}_beam"] = score_pairs(chat_model, self.pairs, decoding="beam")
            pairs = sample_texts(chat_model, self.pairs[0], REPORT_SAMPLES, decoding="beam")
            report["samples"] = [{"context": c, "reply": r} for c, r in pairs]
        report["self_play"], report["self_play_note"] = self._simulate(chat_model, self_play=True)
        return report

    def samples_text(self, chat_model: ChatModel) -> str:
        """Greedy replies to the first contexts of the split (or of the training pairs), as text."""
        src = (self.pairs or self.task.train)[0]
        pairs = sample_texts(chat_model, src, SAMPLE_CONTEXTS, decoding="greedy")
        return "\n\n".join(f"{context} -> {reply}" for context, reply in pairs)

    def close(self) -> None:
        """Close the simulation's envs."""
        if self._envs is not None:
            close_envs(self._envs)
            self._envs = None
