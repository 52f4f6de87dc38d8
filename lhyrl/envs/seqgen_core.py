"""The machinery shared by ``lhyrl/SeqGen-v0`` and ``lhyrl/TextGen-v0``.

Both environments write a sequence token by token. :class:`SequenceBatch` holds B sequences
under construction as one padded (B, T) array and steps them together; a
:class:`NextTokenModel` (the oracle LSTM, or a corpus bigram model) scores each new token
incrementally, from its own per-row state. :class:`SequenceEnv` is one sequence (B = 1) as a
Gymnasium env, :class:`SequenceVectorEnv` is B of them as a native vector env; both are
configured by a subclass that builds the model and the spaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

SequenceReward = Callable[[np.ndarray, np.ndarray], Any]
"""``reward(tokens, lengths) -> rewards``: tokens (n, T) int64, padded past each row's length;
lengths (n,) int64; rewards (n,) floats (a scalar is broadcast)."""


def per_sequence(fn: Callable[[np.ndarray], float]) -> SequenceReward:
    """Turn a reward of one unpadded sequence, ``fn(tokens (t,)) -> float``, into a batched one.

    For example ``per_sequence(lambda s: float(len(set(s.tolist()))))`` rewards distinct
    tokens. It loops over the rows in Python; a batched reward (a discriminator over the
    whole array) is faster.
    """

    def batched(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return np.array([fn(row[:n]) for row, n in zip(tokens, lengths, strict=True)], float)

    return batched


class NextTokenModel(Protocol):
    """A language model that scores the next token of B sequences from a per-row state."""

    def reset(self, rows: np.ndarray) -> None:
        """Put ``rows`` (int indices) back at the start of a sequence."""

    def log_prob(self, tokens: np.ndarray) -> np.ndarray:
        """(B,) ``log p(tokens[b] | row b's prefix)`` for every row."""

    def advance(self, tokens: np.ndarray, rows: np.ndarray) -> None:
        """Append ``tokens[rows]`` to the prefixes of ``rows`` (int indices)."""


def _call_reward(fn: SequenceReward, tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    values = np.asarray(fn(tokens, lengths), dtype=np.float64)
    try:
        return np.broadcast_to(values, lengths.shape)
    except ValueError:
        raise ValueError(
            f"a reward function must return one value per sequence ({lengths.shape}), got "
            f"shape {values.shape}"
        ) from None


class SequenceBatch:
    """B sequences of at most T tokens, written and scored together.

    Args:
        batch: Number of sequences B.
        length: Maximum length T.
        model: Scores every token; its log-probability is the default reward.
        pad_id: Fills the positions not written yet.
        eos_id: A token that ends its sequence, or ``None`` (sequences always have T tokens).
        replace: Actions written as another token (``{action: token}``).
        reward_fn: Reward on the step a sequence ends, computed on the whole sequence.
        step_reward_fn: Reward on every step, computed on the prefix written so far.
    """

    def __init__(
        self,
        batch: int,
        length: int,
        model: NextTokenModel,
        *,
        pad_id: int,
        eos_id: int | None = None,
        replace: dict[int, int] | None = None,
        reward_fn: SequenceReward | None = None,
        step_reward_fn: SequenceReward | None = None,
    ) -> None:
        if length < 1:
            raise ValueError(f"the sequence length must be at least 1, got {length}")
        self.length = length
        self.model = model
        self.pad_id = pad_id
        self.eos_id = eos_id
        self.replace = replace or {}
        self.reward_fn = reward_fn
        self.step_reward_fn = step_reward_fn
        self.tokens = np.full((batch, length), pad_id, dtype=np.int64)  # (B, T)
        self.lengths = np.zeros(batch, dtype=np.int64)  # (B,)

    def reset(self, rows: np.ndarray) -> None:
        """Empty the sequences of ``rows``."""
        self.tokens[rows] = self.pad_id
        self.lengths[rows] = 0
        self.model.reset(rows)

    def observe(self) -> np.ndarray:
        """(B, T + 1) int64: every row's tokens (padded), then its length."""
        return np.concatenate([self.tokens, self.lengths[:, None]], axis=1)

    def step(
        self, actions: np.ndarray, active: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Append ``actions`` to the ``active`` rows.

        Returns:
            ``(rewards, ended, log_prob)``: rewards (B,) float64, ended (B,) bool, and the
            model's log-probability of each appended token (B,); inactive rows get 0 reward,
            ``ended`` false and log-probability 0.

        Raises:
            ValueError: If a reward function returns the wrong number of values.
        """
        tokens = actions.astype(np.int64)
        for action, token in self.replace.items():
            tokens[tokens == action] = token
        rows = np.flatnonzero(active)
        log_prob = np.where(active, self.model.log_prob(tokens), 0.0)  # (B,)
        self.tokens[rows, self.lengths[rows]] = tokens[rows]
        self.lengths[rows] += 1
        ended = active & (self.lengths >= self.length)
        if self.eos_id is not None:
            ended |= active & (tokens == self.eos_id)
        self.model.advance(tokens, np.flatnonzero(active & ~ended))
        if self.reward_fn is None and self.step_reward_fn is None:
            rewards = log_prob.copy()
        else:
            rewards = np.zeros(len(tokens), dtype=np.float64)
        if self.step_reward_fn is not None and len(rows):
            rewards[rows] += _call_reward(
                self.step_reward_fn, self.tokens[rows], self.lengths[rows]
            )
        done = np.flatnonzero(ended)
        if self.reward_fn is not None and len(done):
            rewards[done] += _call_reward(self.reward_fn, self.tokens[done], self.lengths[done])
        return rewards, ended, log_prob


def _as_token_ids(actions: Any, shape: tuple[int, ...], vocab_size: int) -> np.ndarray | None:
    """``actions`` as int64 token ids of ``shape`` in ``0 .. vocab_size - 1``, or ``None``.

    Only integers count: a float, a bool, a string or ``None`` is no token id, even where
    ``int()`` would take it.
    """
    try:
        tokens = np.asarray(actions)
    except (TypeError, ValueError):  # a ragged nested list
        return None
    if tokens.shape != shape or not np.issubdtype(tokens.dtype, np.integer):
        return None
    if not ((tokens >= 0) & (tokens < vocab_size)).all():
        return None
    return tokens.astype(np.int64)


class SequenceEnv(gym.Env[np.ndarray, np.int64]):
    """One sequence as a Gymnasium env; a subclass sets the spaces and :meth:`_make_batch`."""

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012

    def __init__(self, render_mode: str | None = None) -> None:
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be 'ansi' or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.batch = self._make_batch(1)
        self._ended = True
        self._started = False

    def _make_batch(self, batch: int) -> SequenceBatch:
        raise NotImplementedError

    def decode(self, tokens: np.ndarray) -> str:
        """A readable form of the unpadded tokens of one sequence (for ``render``)."""
        return " ".join(str(t) for t in tokens)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an empty sequence (the env draws nothing at random; ``seed`` is accepted)."""
        super().reset(seed=seed)
        self.batch.reset(np.arange(1))
        self._ended = False
        self._started = True
        return self.batch.observe()[0], {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Append the token ``action``; see the class docstring for rewards and episode end.

        Raises:
            RuntimeError: Before the first ``reset``, or after the sequence has ended.
            ValueError: If ``action`` is not one integer token id of the action space (a
                float, a bool, a string, ``None``, an array or an id out of range).
        """
        if self._ended:
            raise RuntimeError(
                "call reset() before step()"
                if not self._started
                else "the sequence has ended; call reset()"
            )
        space = self.action_space
        assert isinstance(space, spaces.Discrete)
        token = _as_token_ids(action, (), int(space.n))
        if token is None:
            raise ValueError(
                f"action {action!r} is not in {space}: expected one integer token id in "
                f"0 .. {int(space.n) - 1}"
            )
        actions = token.reshape(1)
        rewards, ended, log_prob = self.batch.step(actions, np.ones(1, dtype=bool))
        self._ended = bool(ended[0])
        obs = self.batch.observe()[0]
        return obs, float(rewards[0]), self._ended, False, {"log_prob": float(log_prob[0])}

    def render(self) -> str | None:
        """The sequence so far as text (``ansi``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi'.")
            return None
        return self.decode(self.batch.tokens[0, : self.batch.lengths[0]])


class SequenceVectorEnv(VectorEnv):
    """B sequences stepped in one batched model call; a subclass sets the spaces and the batch.

    Episodes reset automatically in Gymnasium's default ``NEXT_STEP`` mode: the step after a
    sequence ends returns the empty sequence with reward 0 and ignores its action. Nothing is
    random; an int ``seed`` is accepted (sub-env ``i`` would get ``seed + i``).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012  (Gymnasium's attribute)
        "render_modes": [],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(self, num_envs: int, single_env: SequenceEnv) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.num_envs = num_envs
        self.single_observation_space = single_env.observation_space
        self.single_action_space = single_env.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.batch = single_env._make_batch(num_envs)
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        self._started = False

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Empty every sequence."""
        super().reset(seed=seed if isinstance(seed, int) else None)
        self.batch.reset(np.arange(self.num_envs))
        self._needs_reset[:] = False
        self._started = True
        return self.batch.observe(), {}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Append one token to every sequence; sequences that ended last step restart instead.

        Raises:
            RuntimeError: Before the first ``reset``.
            ValueError: If ``actions`` are not ``num_envs`` integer token ids of the action
                space.
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        space = self.single_action_space
        assert isinstance(space, spaces.Discrete)
        tokens = _as_token_ids(actions, (self.num_envs,), int(space.n))
        if tokens is None:
            raise ValueError(
                f"actions must be {self.action_space}: {self.num_envs} integer token ids in "
                f"0 .. {int(space.n) - 1}, got {actions!r}"
            )
        resetting = np.flatnonzero(self._needs_reset)
        if len(resetting):
            self.batch.reset(resetting)
        active = ~self._needs_reset
        rewards, ended, log_prob = self.batch.step(tokens, active)
        self._needs_reset = ended
        truncated = np.zeros(self.num_envs, dtype=bool)
        info = {"log_prob": log_prob, "_log_prob": active.copy()}
        return self.batch.observe(), rewards, ended, truncated, info


def token_space(vocab_size: int, length: int, pad_id: int) -> spaces.MultiDiscrete:
    """The observation space: T token slots (ids and ``pad_id``), then the position 0 .. T."""
    slots = max(vocab_size, pad_id + 1)
    return spaces.MultiDiscrete(np.array([slots] * length + [length + 1], dtype=np.int64))
