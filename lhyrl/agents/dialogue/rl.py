"""Li et al. (2016), "Deep Reinforcement Learning for Dialogue Generation": policy gradient.

The chat model, initialised by maximum likelihood, talks with a simulated user in an env with
the spaces of ``lhyrl/Dialogue-v0`` (observation ``{"context": (K, L), "reply": (L,)}`` int64
token ids, action ``Discrete(V)`` the next token; the turn ends on ``<eos>`` or after L
tokens and is rewarded then). :class:`DialoguePG` holds ``n`` dialogues at once, one per env,
in lockstep: at the start of every agent turn the replies of all running dialogues are
sampled in one batched call, then written into their envs token by token. Each agent turn
``t`` of a dialogue gets the reward-to-go ``G_t = sum_{j >= t} gamma^(j - t) r_j`` over the
agent's turns, and the loss is REINFORCE with a baseline::

    -(G_t - b) * sum_i log pi(y_i | y_<i, x_t)   (the turn's tokens, <eos> included)

the log-probabilities recomputed with teacher forcing on the sampled tokens. Optionally a
teacher-forced MLE term on human (context, reply) pairs keeps the language fluent, and an
entropy bonus keeps the policy from collapsing.

:func:`simulate` lets any chat model (MLE, RL, adversarial) hold dialogues with the same envs
and reports Li et al.'s measures: the length of the dialogue before a dull or repeated turn,
distinct-1/2 of the agent's replies, and the mean reward terms.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.logger import Logger
from torch import Tensor, nn

from lhyrl.agents.checkpoint import check_checkpoint_every
from lhyrl.agents.dialogue.base import _TEXT_ONLY, DialogueTrainer
from lhyrl.agents.trainer import Checkpoints
from lhyrl.data.dialogue import TURN_SEPARATOR
from lhyrl.data.text import EOS_ID, PAD_ID, UNK_ID
from lhyrl.metrics.sequences import distinct_n
from lhyrl.nn.chat_model import ChatModel, Decoding

__all__ = [
    "DialoguePG",
    "DialogueRecord",
    "EnvSource",
    "check_dialogue_spaces",
    "evaluation_mode",
    "run_dialogues",
    "simulate",
    "sources_from_contexts",
    "summarize",
    "transcript_text",
]

EnvSource = gym.Env[Any, Any] | Callable[[], gym.Env[Any, Any]]
"""An env, or a function without arguments that makes one."""
ReplyFn = Callable[[Tensor, int], Tensor]
"""Replies (A, T) long in target form to sources (A, S), at most the given number of tokens."""
Baseline = Literal["turn", "mean", "greedy"]


@contextlib.contextmanager
def evaluation_mode(module: nn.Module) -> Iterator[None]:
    """Run a block with ``module`` in evaluation mode and without gradients; restore its mode."""
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(training)


def check_dialogue_spaces(env: gym.Env[Any, Any], vocab_size: int) -> tuple[int, int]:
    """Check that an env has the spaces of ``lhyrl/Dialogue-v0`` for a model of ``vocab_size``.

    Args:
        env: The env.
        vocab_size: Token ids V the chat model writes.

    Returns:
        ``(K, L)``: context turns and tokens per turn.

    Raises:
        ValueError: If the observation space is not a ``Dict`` with a ``"context"`` (K, L) and
            a ``"reply"`` (L,) int64 ``Box``, or the action space is not ``Discrete(V)``.
    """
    obs, act = env.observation_space, env.action_space
    expected = (
        'a Dict with "context": Box (K, L) int64 and "reply": Box (L,) int64 '
        "(the spaces of lhyrl/Dialogue-v0)"
    )
    if not isinstance(obs, spaces.Dict) or not {"context", "reply"} <= set(obs.spaces):
        raise ValueError(f"the env's observation space must be {expected}, got {obs}")
    shapes: dict[str, tuple[int, ...]] = {}
    for name, dims in (("context", 2), ("reply", 1)):
        box = obs.spaces[name]
        if not isinstance(box, spaces.Box) or box.dtype != np.int64 or len(box.shape) != dims:
            raise ValueError(f'the env\'s observation "{name}" must be as in {expected}, got {box}')
        shapes[name] = box.shape
    (k, length), (reply_length,) = shapes["context"], shapes["reply"]
    if length != reply_length:
        raise ValueError(
            f'"context" rows ({length} tokens) and "reply" ({reply_length} tokens) '
            f"must have the same length L; {expected}"
        )
    if not isinstance(act, spaces.Discrete) or int(act.n) != vocab_size or int(act.start) != 0:
        raise ValueError(
            f"the env's action space must be Discrete({vocab_size}), one action per token of "
            f"the chat model's vocabulary, got {act}"
        )
    return int(k), int(length)


def sources_from_contexts(contexts: np.ndarray | Tensor, chat_model: ChatModel) -> Tensor:
    """The chat model's sources for observed contexts, built as the model was trained.

    Each context row is a turn: its tokens up to the first ``<eos>`` or ``<pad>``. Of the
    rows with a token, the last ``chat_model.context_turns`` are joined by the turn separator
    and the last ``source_len`` tokens kept; a context without any token reads ``<unk>``
    (as :meth:`ChatModel.encode_contexts` and ``lhyrl/Dialogue-v0``'s user do).

    Args:
        contexts: (B, K, L) int token ids, the most recent turn last.
        chat_model: Fixes ``context_turns``, ``source_len`` and the separator id.

    Returns:
        (B, S) long sources on the model's device, padded with ``<pad>``.
    """
    rows = np.asarray(contexts.cpu() if isinstance(contexts, Tensor) else contexts)
    if rows.ndim != 3:
        raise ValueError(f"contexts must be (B, K, L) token ids, got shape {rows.shape}")
    sep = chat_model.vocabulary.stoi.get(TURN_SEPARATOR)
    if sep is None and chat_model.context_turns > 1:
        raise ValueError(f"the chat model's vocabulary has no turn separator {TURN_SEPARATOR!r}")
    length = chat_model.source_len
    out = torch.full((len(rows), length), PAD_ID, dtype=torch.long)  # (B, S)
    for b, context in enumerate(rows.tolist()):
        turns = []
        for row in context:
            end = next((i for i, t in enumerate(row) if t in (EOS_ID, PAD_ID)), len(row))
            if end:
                turns.append(row[:end])
        kept = turns[-chat_model.context_turns :]
        ids = [t for turn in kept for t in (sep, *turn)][1:] or [UNK_ID]
        ids = ids[-length:]
        out[b, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out.to(next(chat_model.model.parameters()).device)


@dataclass
class DialogueRecord:
    """One dialogue held with an env, seen from the agent's side.

    Attributes:
        sources: Per agent turn, the (S,) long source the reply answered.
        replies: Per agent turn, the (T_t,) long tokens written, ``<eos>`` last if written.
        rewards: Per agent turn, the sum of the rewards of the turn's steps.
        baseline_rewards: Per agent turn, the reward the baseline reply would have earned
            instead (``run_dialogues(baseline_fn=...)``; empty without one).
        terms: Per agent turn, the numeric ``info`` entries of the step that ended it (the
            reward terms, e.g. ``ease_of_answering`` and ``reward_total``).
        transcript: ``(speaker, text)`` turns: the user's (read from the context) and the
            agent's.
        end_reason: ``info["end_reason"]`` of the last step, if the env gives one.
        dialogue_turns: ``info["dialogue_turns"]`` of the last step, if the env gives it,
            else ``2 * agent turns`` (the opening, the agent's turns and the answers between).
    """

    sources: list[Tensor] = field(default_factory=list)
    replies: list[Tensor] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    baseline_rewards: list[float] = field(default_factory=list)
    terms: list[dict[str, float]] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    end_reason: str | None = None
    dialogue_turns: int = 0

    @property
    def agent_turns(self) -> int:
        """How many turns the agent wrote."""
        return len(self.replies)

    @property
    def length(self) -> int:
        """Turns before the dialogue ended: a final dull or repeated turn does not count."""
        return self.dialogue_turns - (self.end_reason in ("dull", "repeat"))


def _numeric_terms(info: dict[str, Any]) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in info.items()
        if key != "dialogue_turns"
        and isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
    }


def _last_turn_text(context: np.ndarray, chat_model: ChatModel) -> str:
    return chat_model.decode_text([int(t) for t in context[-1]])


def run_dialogues(
    chat_model: ChatModel,
    envs: Sequence[gym.Env[Any, Any]],
    seeds: Sequence[int],
    reply_fn: ReplyFn,
    baseline_fn: ReplyFn | None = None,
) -> list[DialogueRecord]:
    """Hold one dialogue with each env, all in lockstep, until every one has ended.

    At the start of each agent turn the sources of all running dialogues are built
    (:func:`sources_from_contexts`) and their replies drawn in one call of ``reply_fn``; each
    reply (up to and including its ``<eos>``) is then written into its env one token a step.
    With ``baseline_fn``, the baseline replies to the same sources are drawn first and
    scored by each env's ``score_reply`` (see ``lhyrl/Dialogue-v0``) without being written.

    Args:
        chat_model: Builds the sources and decodes text.
        envs: Envs with the spaces of ``lhyrl/Dialogue-v0`` (checked by the caller).
        seeds: ``reset`` seed of each env.
        reply_fn: ``(src (A, S), max_len) -> (A, T)`` replies in target form.
        baseline_fn: Like ``reply_fn``, the replies whose rewards go to
            :attr:`DialogueRecord.baseline_rewards` (e.g. greedy ones: self-critical training).

    Returns:
        One record per env.

    Raises:
        ValueError: If ``baseline_fn`` is given and an env has no ``score_reply``.
        RuntimeError: If an env does not end the agent's turn after its ``<eos>`` or its L-th
            token.
    """
    if len(seeds) != len(envs):
        raise ValueError(f"{len(envs)} envs need {len(envs)} seeds, got {len(seeds)}")
    observations = [env.reset(seed=int(seed))[0] for env, seed in zip(envs, seeds, strict=True)]
    records = [DialogueRecord() for _ in envs]
    for record, obs in zip(records, observations, strict=True):
        record.transcript.append(("user", _last_turn_text(obs["context"], chat_model)))
    active = list(range(len(envs)))
    while active:
        max_len = int(observations[active[0]]["reply"].shape[0])
        contexts = np.stack([observations[i]["context"] for i in active])  # (A, K, L)
        src = sources_from_contexts(contexts, chat_model)  # (A, S)
        if baseline_fn is not None:
            baseline_replies = baseline_fn(src, max_len).cpu()  # (A, T)
            for row, i in enumerate(active):
                terms = _score_reply(envs[i], baseline_replies[row].tolist())
                records[i].baseline_rewards.append(float(terms["reward_total"]))
        replies = reply_fn(src, max_len).cpu()  # (A, T)
        still = []
        for row, i in enumerate(active):
            record, env = records[i], envs[i]
            tokens = replies[row].tolist()
            end = tokens.index(EOS_ID) + 1 if EOS_ID in tokens else len(tokens)
            written = [t for t in tokens[:end] if t != PAD_ID]
            if not written:
                raise ValueError(f"reply_fn gave dialogue {i} an empty reply; a reply has a token")
            reward, ended, info = 0.0, False, dict[str, Any]()
            for j, token in enumerate(written):
                obs, r, terminated, truncated, info = env.step(np.int64(token))
                reward += float(r)
                ended = bool(terminated or truncated)
                turn_over = ended or not np.any(obs["reply"] != PAD_ID)
                if turn_over != (j == len(written) - 1) and not ended:
                    raise RuntimeError(
                        f"env {i} {'ended' if turn_over else 'did not end'} the agent's turn "
                        f"after token {j + 1} of {len(written)}; a turn must end on <eos> or "
                        "after L tokens"
                    )
                if ended:
                    written = written[: j + 1]
                    break
            observations[i] = obs
            record.sources.append(src[row].cpu())
            record.replies.append(torch.tensor(written, dtype=torch.long))
            record.rewards.append(reward)
            record.terms.append(_numeric_terms(info))
            record.transcript.append(("agent", chat_model.decode_text(written)))
            if ended:
                if info.get("user_text"):
                    record.transcript.append(("user", str(info["user_text"])))
                reason = info.get("end_reason")
                record.end_reason = None if reason is None else str(reason)
                record.dialogue_turns = int(info.get("dialogue_turns", 2 * record.agent_turns))
            else:
                record.transcript.append(("user", _last_turn_text(obs["context"], chat_model)))
                still.append(i)
        active = still
    return records


def _reply_scorer(env: gym.Env[Any, Any]) -> Callable[[list[int]], dict[str, float]]:
    """``env.unwrapped.score_reply``, which a baseline reply needs; a clear error without one."""
    score = getattr(env.unwrapped, "score_reply", None)
    if not callable(score):
        raise ValueError(
            f"{type(env.unwrapped).__name__} has no score_reply(tokens), which a baseline "
            "reply (baseline='greedy') needs; lhyrl/Dialogue-v0 has one"
        )
    return score


def _score_reply(env: gym.Env[Any, Any], tokens: list[int]) -> dict[str, float]:
    """``env.unwrapped.score_reply`` of a reply in target form (padding dropped)."""
    return _reply_scorer(env)([t for t in tokens if t != PAD_ID])


def _returns(rewards: Sequence[float], gamma: float) -> list[float]:
    """Reward-to-go over the agent's turns: ``G_t = r_t + gamma * G_{t+1}``."""
    out, running = [0.0] * len(rewards), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def _pad_rows(rows: Sequence[Tensor]) -> Tensor:
    """Stack 1-d long tensors into (N, max length), padding with ``<pad>``."""
    width = max(1, max(len(r) for r in rows))
    out = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    for n, row in enumerate(rows):
        out[n, : len(row)] = row
    return out


def _make_envs(envs: Sequence[EnvSource]) -> tuple[list[gym.Env[Any, Any]], bool]:
    """The envs, made from functions where given; also whether they were made here."""
    if isinstance(envs, gym.Env) or not isinstance(envs, Sequence) or not envs:
        raise ValueError("envs must be a non-empty list of envs or of functions that make one")
    made = [e if isinstance(e, gym.Env) else e() for e in envs]
    for env in made:
        if not isinstance(env, gym.Env):
            raise ValueError(f"an env function returned {type(env).__name__}, not a gymnasium.Env")
    return made, not all(isinstance(e, gym.Env) for e in envs)


def _common_spaces(envs: Sequence[gym.Env[Any, Any]], vocab_size: int) -> tuple[int, int]:
    """:func:`check_dialogue_spaces` of every env; their ``(K, L)``, which must agree."""
    shapes = {check_dialogue_spaces(env, vocab_size) for env in envs}
    if len(shapes) > 1:
        raise ValueError(f"the envs' spaces differ: (K, L) = {sorted(shapes)}")
    return shapes.pop()


def _decoder(
    chat_model: ChatModel,
    decoding: Decoding,
    *,
    temperature: float,
    beam_size: int,
    generator: torch.Generator,
) -> ReplyFn:
    def reply(src: Tensor, max_len: int) -> Tensor:
        return chat_model.generate(
            src,
            decoding=decoding,
            beam_size=beam_size,
            temperature=temperature,
            generator=generator,
            max_len=max_len,
        ).tokens

    return reply


def simulate(
    chat_model: ChatModel,
    envs: Sequence[EnvSource],
    n_dialogues: int,
    *,
    decoding: Decoding = "greedy",
    temperature: float = 1.0,
    beam_size: int = 4,
    seed: int = 0,
) -> dict[str, Any]:
    """Let a chat model hold ``n_dialogues`` dialogues with simulated users; score them.

    The dialogues run ``len(envs)`` at a time (:func:`run_dialogues`); env ``reset`` seeds
    and sampled replies come from one :class:`torch.Generator` seeded with ``seed``, so the
    result is a function of the model, the envs and ``seed``.

    Args:
        chat_model: The agent.
        envs: Envs with the spaces of ``lhyrl/Dialogue-v0``, or functions that make them
            (made here and closed at the end).
        n_dialogues: Dialogues to hold.
        decoding: How the agent replies: ``"greedy"``, ``"sample"`` or ``"beam"``.
        temperature: Of ``"sample"``.
        beam_size: Of ``"beam"``.
        seed: Seeds the env resets and the sampling.

    Returns:
        ``n_dialogues``; ``dialogue_length``, the mean number of turns before a dull or
        repeated turn ended the dialogue (the opening included; Li et al.'s measure);
        ``dialogue_turns``, the env's mean count of turns; ``agent_turns``; ``end_reasons``
        (counts); ``distinct_1`` and ``distinct_2`` of the agent's replies (tokens before
        ``<eos>``); ``reply_length``; ``reward_total``, the mean reward of an agent turn;
        ``reward_terms``, the mean of each numeric ``info`` term of turn-ending steps;
        ``return``, the mean undiscounted sum of a dialogue's rewards; ``transcripts``, each
        dialogue's ``(speaker, text)`` turns.
    """
    if n_dialogues < 1:
        raise ValueError(f"n_dialogues must be at least 1, got {n_dialogues}")
    if decoding not in ("greedy", "sample", "beam"):
        raise ValueError(f"decoding must be 'greedy', 'sample' or 'beam', got {decoding!r}")
    made, owned = _make_envs(envs)
    try:
        _common_spaces(made, chat_model.model.config.target_vocabulary)
        device = next(chat_model.model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(int(seed))
        reply = _decoder(
            chat_model, decoding, temperature=temperature, beam_size=beam_size, generator=generator
        )
        records: list[DialogueRecord] = []
        while len(records) < n_dialogues:
            n = min(len(made), n_dialogues - len(records))
            seeds = torch.randint(0, 2**31 - 1, (n,), generator=generator, device=device)
            records += run_dialogues(chat_model, made[:n], seeds.tolist(), reply)
    finally:
        if owned:
            for env in made:
                env.close()
    return summarize(records)


def summarize(records: Sequence[DialogueRecord]) -> dict[str, Any]:
    """The measures of :func:`simulate` for given dialogue records."""
    replies = [
        [t for t in r.tolist() if t not in (EOS_ID, PAD_ID)] for d in records for r in d.replies
    ]
    terms: dict[str, list[float]] = {}
    for d in records:
        for turn in d.terms:
            for key, value in turn.items():
                terms.setdefault(key, []).append(value)
    rewards = [r for d in records for r in d.rewards]
    return {
        "n_dialogues": len(records),
        "dialogue_length": float(np.mean([d.length for d in records])),
        "dialogue_turns": float(np.mean([d.dialogue_turns for d in records])),
        "agent_turns": float(np.mean([d.agent_turns for d in records])),
        "end_reasons": dict(Counter(str(d.end_reason) for d in records)),
        "distinct_1": distinct_n(replies, 1),
        "distinct_2": distinct_n(replies, 2),
        "reply_length": float(np.mean([len(r) for r in replies])) if replies else 0.0,
        "reward_total": float(np.mean(rewards)) if rewards else 0.0,
        "reward_terms": {key: float(np.mean(values)) for key, values in sorted(terms.items())},
        "return": float(np.mean([sum(d.rewards) for d in records])),
        "transcripts": [list(d.transcript) for d in records],
    }


def transcript_text(record: DialogueRecord) -> str:
    """A dialogue as text, one ``speaker: text`` line a turn."""
    return "\n".join(f"{speaker}: {text}" for speaker, text in record.transcript)


class DialoguePG(DialogueTrainer):
    """Li et al.'s (2016) policy gradient with dialogue-level rewards and a baseline.

    Every iteration resets each env with a seed drawn from :attr:`generator` (so that a
    resumed run replays the same dialogues), holds one dialogue per env in lockstep (replies
    sampled from the chat model at ``temperature``), and takes one gradient step on::

        loss = mean_turns[-(G_t - b_t) * log pi(reply_t | source_t)]
               - entropy_coef * mean_tokens[entropy]
               + mle_weight * MLE(batch of human pairs)

    ``G_t`` is the reward-to-go over the agent's turns, discounted by ``gamma``. The baseline
    ``b_t`` is an exponential moving average (decay ``baseline_decay``) of the mean return of
    past iterations: one per index ``t`` of the agent's turn in its dialogue
    (``baseline="turn"``: later turns have fewer rewards to go) or one for all turns
    (``baseline="mean"``). An index seen for the first time uses the current batch's mean.
    ``baseline="greedy"`` is self-critical (Rennie et al. 2017): ``b_t`` is the reward the
    greedy reply to the same source would have earned in the same state (scored by the
    env's ``score_reply``), so a sampled reply is reinforced only where it beats what the bot
    says at test time; it needs ``gamma=0`` (later turns depend on the sampled reply).
    The sampled replies' log-probabilities are recomputed with teacher forcing, ``<eos>``
    included; with ``temperature != 1`` the samples are off-policy for the gradient.

    Args:
        chat_model: The agent, initialised from an MLE model (trained in place).
        envs: Envs with the spaces of ``lhyrl/Dialogue-v0`` (``Dict(context: Box (K, L),
            reply: Box (L,))`` int64, ``Discrete(V)`` with V the model's vocabulary), or
            functions that make them; one dialogue per env per iteration.
        gamma: Discount over the agent's turns.
        baseline: ``"turn"`` (per turn index), ``"mean"`` (one for all turns) or
            ``"greedy"`` (self-critical; envs with ``score_reply``, ``gamma=0``).
        baseline_decay: Weight of the old value in the baseline's moving average.
        mle_weight: Weight of the teacher-forced MLE term (0: none); its pairs are
            ``train(mle_data=...)``, :attr:`~DialogueTrainer.batch_size` per step.
        entropy_coef: Weight of the mean per-token entropy bonus.
        temperature: Sampling temperature of the replies.
        learning_rate: Adam's learning rate.
        grad_clip: Largest global gradient norm of a step.
        batch_size: Human pairs per MLE term.
        seed: Seeds :attr:`~DialogueTrainer.generator`, the only source of randomness.
        logger: An SB3 logger; ``None`` records nothing.
    """

    learn_unit = "iterations"

    def __init__(
        self,
        *,
        chat_model: ChatModel,
        envs: Sequence[EnvSource],
        gamma: float = 1.0,
        baseline: Baseline = "turn",
        baseline_decay: float = 0.9,
        mle_weight: float = 0.0,
        entropy_coef: float = 0.0,
        temperature: float = 1.0,
        learning_rate: float = 1e-4,
        grad_clip: float = 5.0,
        batch_size: int = 64,
        seed: int = 0,
        logger: Logger | None = None,
    ) -> None:
        super().__init__(
            chat_model=chat_model,
            learning_rate=learning_rate,
            grad_clip=grad_clip,
            batch_size=batch_size,
            seed=seed,
            logger=logger,
        )
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {gamma}")
        if baseline not in ("turn", "mean", "greedy"):
            raise ValueError(f"baseline must be 'turn', 'mean' or 'greedy', got {baseline!r}")
        if baseline == "greedy" and gamma != 0:
            raise ValueError(
                "baseline='greedy' scores one turn's greedy reply, so it needs gamma=0 (a "
                f"later turn's reward depends on the sampled reply); got gamma={gamma}"
            )
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must lie in [0, 1), got {baseline_decay}")
        for name, value in (("mle_weight", mle_weight), ("entropy_coef", entropy_coef)):
            if value < 0:
                raise ValueError(f"{name} must be non-negative, got {value}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.envs, self._owns_envs = _make_envs(envs)
        self.context_shape = _common_spaces(self.envs, self.model.config.target_vocabulary)
        """``(K, L)`` of the envs' contexts."""
        if baseline == "greedy":
            for env in self.envs:
                _reply_scorer(env)  # fails now rather than in the first iteration
        self.gamma = float(gamma)
        self.baseline: Baseline = baseline
        self.baseline_decay = float(baseline_decay)
        self.mle_weight = float(mle_weight)
        self.entropy_coef = float(entropy_coef)
        self.temperature = float(temperature)
        self.num_iterations = 0
        """Iterations (batches of dialogues) so far, over every ``train`` call."""
        self.num_dialogues = 0
        """Dialogues held in training so far."""
        self._baseline_values = torch.zeros(0, dtype=torch.float64)  # (I,) per turn index
        self._baseline_seen = torch.zeros(0, dtype=torch.bool)  # (I,)
        self.last_dialogues: list[DialogueRecord] = []
        """The dialogues of the last training iteration."""

    @property
    def n_envs(self) -> int:
        """Dialogues per iteration."""
        return len(self.envs)

    def close(self) -> None:
        """Close the envs this trainer made from functions."""
        if self._owns_envs:
            for env in self.envs:
                env.close()

    # --- rollouts ------------------------------------------------------------------------

    def collect(self) -> list[DialogueRecord]:
        """One dialogue per env, replies sampled from :attr:`generator`; envs reseeded from it."""
        seeds = torch.randint(
            0, 2**31 - 1, (self.n_envs,), generator=self.generator, device=self.device
        )
        reply = _decoder(
            self.chat_model,
            "sample",
            temperature=self.temperature,
            beam_size=1,
            generator=self.generator,
        )
        greedy = None
        if self.baseline == "greedy":
            greedy = _decoder(
                self.chat_model, "greedy", temperature=1.0, beam_size=1, generator=self.generator
            )
        return run_dialogues(self.chat_model, self.envs, seeds.tolist(), reply, greedy)

    def simulate(
        self,
        n_dialogues: int,
        *,
        decoding: Decoding = "greedy",
        temperature: float = 1.0,
        seed: int = 0,
    ) -> dict[str, Any]:
        """:func:`simulate` the current model with this trainer's envs (no training RNG used)."""
        return simulate(
            self.chat_model,
            self.envs,
            n_dialogues,
            decoding=decoding,
            temperature=temperature,
            seed=seed,
        )

    def _baselines(self, turn_index: Tensor, returns: Tensor) -> Tensor:
        """Baseline (M,) of each turn; then updates the moving averages with ``returns`` (M,)."""
        index = turn_index if self.baseline == "turn" else torch.zeros_like(turn_index)
        known = len(self._baseline_values)
        size = max(known, int(index.max()) + 1)
        values = torch.zeros(size, dtype=torch.float64)  # (I,) one per turn index
        values[:known] = self._baseline_values
        seen = torch.zeros(size, dtype=torch.bool)  # (I,)
        seen[:known] = self._baseline_seen
        sums = torch.zeros_like(values).index_add_(0, index, returns)  # (I,)
        counts = torch.zeros_like(values).index_add_(0, index, torch.ones_like(returns))  # (I,)
        present = counts > 0
        means = sums / counts.clamp(min=1)  # (I,)
        values = torch.where(present & ~seen, means, values)  # first sight: the batch's mean
        used = values[index]  # (M,)
        decay = self.baseline_decay
        self._baseline_values = torch.where(
            present & seen, decay * values + (1 - decay) * means, values
        )
        self._baseline_seen = seen | present
        return used

    # --- training ------------------------------------------------------------------------

    def train_iteration(self, mle_data: tuple[Tensor, Tensor] | None = None) -> dict[str, Any]:
        """Collect one batch of dialogues and take one gradient step.

        Args:
            mle_data: Human ``(src, tgt)`` pairs of the MLE term (needed if ``mle_weight``).

        Returns:
            The measures :meth:`train` logs (``rollout/*``, ``train/*``); the dialogues are
            kept in :attr:`last_dialogues`.
        """
        records = self.collect()
        turn_index = torch.tensor([t for d in records for t in range(d.agent_turns)])  # (M,)
        returns = torch.tensor(
            [g for d in records for g in _returns(d.rewards, self.gamma)], dtype=torch.float64
        )  # (M,)
        if self.baseline == "greedy":
            baselines = torch.tensor(
                [b for d in records for b in d.baseline_rewards], dtype=torch.float64
            )  # (M,)
        else:
            baselines = self._baselines(turn_index, returns)  # (M,)
        advantages = (returns - baselines).to(self.device, torch.float32)  # (M,)
        src = torch.stack([s for d in records for s in d.sources]).to(self.device)  # (M, S)
        replies = _pad_rows([r for d in records for r in d.replies]).to(self.device)  # (M, T)
        mle_batch = None
        if self.mle_weight > 0:
            if mle_data is None:
                raise ValueError("mle_weight > 0 needs train(mle_data=(src, tgt))")
            index = torch.randint(
                0,
                len(mle_data[0]),
                (self.batch_size,),
                generator=self.generator,
                device=self.device,
            )
            mle_batch = (mle_data[0][index], mle_data[1][index])
        with self.training_mode():
            logits = self.model(src, self.model.decoder_inputs(replies))  # (M, T, V)
            log_probs = logits.log_softmax(-1)  # (M, T, V)
            real = replies != PAD_ID  # (M, T)
            token_lp = log_probs.gather(-1, replies[..., None]).squeeze(-1)  # (M, T)
            token_lp = token_lp.masked_fill(~real, 0.0)
            pg_loss = -(advantages * token_lp.sum(1)).mean()
            finite = log_probs.masked_fill(log_probs.isinf(), 0.0)  # pad, bos: p = 0
            entropy = -(log_probs.exp() * finite).sum(-1)  # (M, T)
            entropy = entropy.masked_fill(~real, 0.0).sum() / real.sum().clamp(min=1)
            loss = pg_loss - self.entropy_coef * entropy
            mle_loss = None
            if mle_batch is not None:
                mle_loss = self.model.loss(*mle_batch)
                loss = loss + self.mle_weight * mle_loss
        value = self.step(loss)
        self.num_iterations += 1
        self.num_dialogues += len(records)
        stats = summarize(records)
        out: dict[str, Any] = {
            "rollout/reward_total": stats["reward_total"],
            **{f"rollout/{k}": v for k, v in stats["reward_terms"].items() if k != "reward_total"},
            "rollout/return": stats["return"],
            "rollout/dialogue_turns": stats["dialogue_turns"],
            "rollout/dialogue_length": stats["dialogue_length"],
            "rollout/agent_turns": stats["agent_turns"],
            "rollout/reply_length": stats["reply_length"],
            "train/loss": value,
            "train/pg_loss": float(pg_loss.detach()),
            "train/entropy": float(entropy.detach()),
            "train/baseline": float(baselines.mean()),
            "train/advantage_std": float(advantages.std()) if len(advantages) > 1 else 0.0,
            "train/iteration": self.num_iterations,
            "train/dialogues": self.num_dialogues,
        }
        if mle_loss is not None:
            out["train/mle_loss"] = float(mle_loss.detach())
        self.last_dialogues = records
        return out

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(
            total,
            mle_data=self._learn_train,
            **self._learn_schedule(checkpoints),
        )

    def train(
        self,
        iterations: int,
        *,
        mle_data: tuple[Tensor, Tensor] | None = None,
        validation: tuple[Tensor, Tensor] | None = None,
        eval_every: int = 0,
        eval_dialogues: int = 0,
        sample_every: int = 10,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 10,
    ) -> None:
        """Run ``iterations`` iterations of :meth:`train_iteration`, ``n_envs`` dialogues each.

        Logs every iteration ``rollout/reward_total`` (mean reward of an agent turn), the mean
        of every other reward term of ``info`` as ``rollout/<term>``, ``rollout/return``,
        ``rollout/dialogue_turns``, ``rollout/dialogue_length``, ``train/loss``,
        ``train/pg_loss``, ``train/entropy``, ``train/baseline`` (and ``train/mle_loss``);
        every ``sample_every`` iterations the first dialogue as text (``samples/dialogues``);
        every ``eval_every`` iterations :meth:`~DialogueTrainer.evaluate` of ``validation``
        (``eval/nll``, ...) and, with ``eval_dialogues``, greedy :meth:`simulate` measures
        (``eval/dialogue_length``, ``eval/reward_total``, ``eval/distinct_1``, ...). After
        :meth:`~DialogueTrainer.resume`, ``iterations`` counts the whole run.

        Args:
            iterations: Iterations to run.
            mle_data: Human ``(src, tgt)`` pairs of the MLE term (needed if ``mle_weight``).
            validation: Held-out ``(src, tgt)`` pairs for ``eval/*``.
            eval_every: Iterations between evaluations (0: never).
            eval_dialogues: Greedy dialogues simulated at each evaluation (0: none).
            sample_every: Iterations between text samples (0: never).
            checkpoint_dir: If given, a checkpoint goes there every ``checkpoint_every``
                iterations and at the end.
            checkpoint_every: Iterations between checkpoints.
        """
        if iterations < 0:
            raise ValueError(f"iterations must be non-negative, got {iterations}")
        for name, value in (
            ("eval_every", eval_every),
            ("eval_dialogues", eval_dialogues),
            ("sample_every", sample_every),
        ):
            if value < 0:
                raise ValueError(f"{name} must be non-negative, got {value}")
        check_checkpoint_every(checkpoint_every)
        if self.mle_weight > 0 and mle_data is None:
            raise ValueError("mle_weight > 0 needs train(mle_data=(src, tgt))")
        if mle_data is not None:
            mle_data = self._check_pairs(*mle_data, "mle_data")
        if validation is not None:
            validation = self._check_pairs(*validation, "validation")
        for iteration in self._iterations(iterations, checkpoint_dir, checkpoint_every):
            stats = self.train_iteration(mle_data)
            for key, value in stats.items():
                self.logger.record(key, value)
            if sample_every and iteration % sample_every == 0:
                text = transcript_text(self.last_dialogues[0])
                self.logger.record("samples/dialogues", text, exclude=_TEXT_ONLY)
            if eval_every and iteration % eval_every == 0:
                self._evaluate_dialogues(validation, eval_dialogues)

    def _evaluate_dialogues(
        self, validation: tuple[Tensor, Tensor] | None, eval_dialogues: int
    ) -> None:
        if eval_dialogues:
            result = self.simulate(eval_dialogues, decoding="greedy", seed=self.seed)
            for key in ("dialogue_length", "distinct_1", "distinct_2", "reward_total", "return"):
                self.logger.record(f"eval/{key}", result[key])
        if validation is not None:
            for key, value in self.evaluate(*validation, log=False).items():
                self.logger.record(f"eval/{key}", value)

    # --- files ---------------------------------------------------------------------------

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            **super()._hyperparameters(),
            "n_envs": self.n_envs,
            "context_shape": list(self.context_shape),
            "gamma": self.gamma,
            "baseline": self.baseline,
            "baseline_decay": self.baseline_decay,
            "mle_weight": self.mle_weight,
            "entropy_coef": self.entropy_coef,
            "temperature": self.temperature,
        }

    def _extra_state(self) -> dict[str, Any]:
        return {
            "baseline_values": self._baseline_values.clone(),
            "baseline_seen": self._baseline_seen.clone(),
            "num_iterations": self.num_iterations,
            "num_dialogues": self.num_dialogues,
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        expected = {"baseline_values", "baseline_seen", "num_iterations", "num_dialogues"}
        if set(state) != expected:
            raise ValueError(
                f"the checkpoint's extra state holds {sorted(state)}, a DialoguePG's "
                f"{sorted(expected)}"
            )
        self._baseline_values = state["baseline_values"].to(torch.float64)
        self._baseline_seen = state["baseline_seen"].to(torch.bool)
        self.num_iterations = int(state["num_iterations"])
        self.num_dialogues = int(state["num_dialogues"])
