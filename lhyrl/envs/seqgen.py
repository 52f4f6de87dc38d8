"""``lhyrl/SeqGen-v0``: SeqGAN's synthetic task, writing sequences scored by an oracle LSTM."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor, nn

from lhyrl.envs.seqgen_core import (
    SequenceBatch,
    SequenceEnv,
    SequenceReward,
    SequenceVectorEnv,
    token_space,
)
from lhyrl.nn.oracle import SHIPPED_ORACLES, load_oracle, random_oracle
from lhyrl.nn.recurrent import RNNState, SequenceGenerator, map_state


class OracleModel:
    """Scores the next token of B sequences under a generator, one recurrent step per token.

    Every row keeps its recurrent state and its last top-layer output, so a step runs the
    generator once on the rows that advance, never over a whole prefix again. A one-layer
    LSTM (every oracle) is stepped with an ``nn.LSTMCell`` sharing its weights, which costs about
    a third of a call to ``nn.LSTM`` for a single row.

    Args:
        oracle: The scoring model.
        batch: Number of rows B.
        start_token: Fed first to every row (not scored).
    """

    def __init__(self, oracle: SequenceGenerator, batch: int, start_token: int) -> None:
        self.oracle = oracle
        config = oracle.config
        self._cell: nn.LSTMCell | None = None
        if config.cell == "lstm" and config.num_layers == 1:
            rnn = oracle.rnn
            self._cell = nn.LSTMCell(config.embedding_dim, config.hidden_dim)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                setattr(self._cell, name, getattr(rnn, f"{name}_l0"))
        first = torch.full((1,), start_token, dtype=torch.long)
        zero = torch.zeros(config.num_layers, 1, config.hidden_dim)
        start_state: RNNState = (zero, zero) if config.cell == "lstm" else zero
        self._start_hidden, self._start_state = self._recur(first, start_state)  # (1, H)
        self.hidden = self._start_hidden.repeat(batch, 1)  # (B, H)
        self.state: RNNState = map_state(self._start_state, lambda s: s.repeat(1, batch, 1))

    @torch.no_grad()
    def _recur(self, tokens: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        """One recurrent step: tokens (R,), state (L, R, H) → top output (R, H), new state."""
        x = self.oracle.embedding(tokens)  # (R, E)
        if self._cell is not None:
            assert isinstance(state, tuple)
            h, c = self._cell(x, (state[0][0], state[1][0]))  # (R, H)
            return h, (h.unsqueeze(0), c.unsqueeze(0))
        out, state = self.oracle.rnn(x.unsqueeze(1), state)  # (R, 1, H)
        return out[:, 0], state

    def _set_rows(self, rows: Tensor, hidden: Tensor, state: RNNState) -> None:
        self.hidden[rows] = hidden
        if isinstance(self.state, tuple):
            assert isinstance(state, tuple)
            self.state[0][:, rows] = state[0]
            self.state[1][:, rows] = state[1]
        else:
            assert isinstance(state, Tensor)
            self.state[:, rows] = state

    def reset(self, rows: np.ndarray) -> None:
        """Give ``rows`` the state after the start token."""
        index = torch.from_numpy(np.asarray(rows, np.int64))
        self._set_rows(index, self._start_hidden, self._start_state)

    @torch.no_grad()
    def log_prob(self, tokens: np.ndarray) -> np.ndarray:
        """(B,) log-probability of each row's next token."""
        logits = self.oracle.out(self.hidden)  # (B, V)
        chosen = logits.gather(1, torch.from_numpy(tokens).unsqueeze(1)).squeeze(1)  # (B,)
        return (chosen - logits.logsumexp(1)).double().numpy()

    def advance(self, tokens: np.ndarray, rows: np.ndarray) -> None:
        """Feed ``tokens[rows]`` to ``rows``: one batched recurrent step."""
        if len(rows) == 0:
            return
        inputs = torch.from_numpy(np.ascontiguousarray(tokens[rows]))  # (R,)
        if len(rows) == len(self.hidden):  # every row: no gather, no scatter
            self.hidden, self.state = self._recur(inputs, self.state)
            return
        index = torch.from_numpy(np.asarray(rows, np.int64))
        state = map_state(self.state, lambda s: s[:, index])  # (L, R, H)
        self._set_rows(index, *self._recur(inputs, state))


ORACLE_NAMES = ("random", *SHIPPED_ORACLES)
"""The names ``lhyrl/SeqGen-v0``'s ``oracle`` takes: a seeded random LSTM, or a shipped oracle
(``"seqgan"``, the SeqGAN paper's)."""


def make_oracle(
    oracle: str | os.PathLike[str] | SequenceGenerator,
    *,
    vocab_size: int | None,
    embedding_dim: int,
    hidden_dim: int,
    seed: int,
) -> SequenceGenerator:
    """The oracle of ``lhyrl/SeqGen-v0``: a random LSTM, a shipped one, a file's, or one given.

    Args:
        oracle: ``"random"``, the name of a shipped oracle (``"seqgan"``), the path of an
            ``.npz`` oracle file, or a :class:`SequenceGenerator`.
        vocab_size: The random oracle's vocabulary (5000 if ``None``); any other oracle's
            vocabulary must equal it unless it is ``None``.
        embedding_dim: The random oracle's embedding size.
        hidden_dim: The random oracle's state size.
        seed: Seeds the random oracle.

    Returns:
        The oracle, in eval mode.

    Raises:
        FileNotFoundError: If ``oracle`` is neither a name of :data:`ORACLE_NAMES` nor a file;
            the message lists the names.
        ValueError: If an oracle file is malformed (from :func:`~lhyrl.nn.oracle.load_oracle`,
            naming the key and the expected shape), or if ``vocab_size`` disagrees with it.
    """
    if isinstance(oracle, SequenceGenerator):
        model = oracle.eval()
    elif oracle == "random":
        return random_oracle(vocab_size or 5000, embedding_dim, hidden_dim, seed=seed)
    elif oracle in SHIPPED_ORACLES or os.path.isfile(oracle):
        model = load_oracle(oracle)
    else:
        names = ", ".join(repr(name) for name in ORACLE_NAMES)
        raise FileNotFoundError(
            f"oracle must be one of the names {names} or the path of an .npz file; "
            f"{os.fspath(oracle)!r} is neither"
        )
    if vocab_size is not None and vocab_size != model.config.vocab_size:
        raise ValueError(
            f"vocab_size={vocab_size} disagrees with the oracle's {model.config.vocab_size} tokens"
        )
    return model


class SeqGenEnv(SequenceEnv):
    """Write a sequence of T tokens, one per step, scored by an oracle LSTM (``lhyrl/SeqGen-v0``).

    ## Description

    The synthetic task of SeqGAN (Yu et al., AAAI 2017) as an RL environment. A fixed
    "oracle" LSTM defines a distribution over sequences of `length` tokens from a vocabulary
    of `vocab_size`; the agent writes a sequence token by token. By default the reward is the
    oracle's log-probability of each token, so an episode's return is the oracle
    log-likelihood of the sequence, and minus its mean over tokens is the paper's NLL-oracle.
    The oracle starts from a zero state with token `start_token` (0) fed as its first input;
    token 0 is an ordinary token (no EOS, no padding).

    ## Action Space

    `Discrete(vocab_size)`: the next token. Anything but one integer in `0 .. vocab_size - 1`
    (a float, a bool, a string, `None`, an array) raises `ValueError`.

    ## Observation Space

    `MultiDiscrete([vocab_size + 1] * length + [length + 1])`, int64, of `length + 1` entries:

    | Num        | Observation                                                       | Values |
    |------------|-------------------------------------------------------------------|--------|
    | 0 .. T - 1 | token at that position; `vocab_size` (padding) if not written yet | 0 .. V |
    | T          | position: the number of tokens written so far                     | 0 .. T |

    Stable-Baselines3 one-hot encodes this space: (V + 1) * T + T + 1 inputs (100,041 with the
    defaults), fine for a small vocabulary; a large one wants an embedding feature extractor.

    ## Rewards

    By default, `log p_oracle(x_t | x_<t)` on step t (always negative). A `reward_fn`
    replaces it with a reward on the last step only, computed on the finished sequence (a
    discriminator's probability, BLEU); a `step_reward_fn` replaces it with a reward on every
    step computed on the prefix; given both, they add up. Both take `(tokens, lengths)` arrays
    (see `lhyrl.envs.seqgen_core.SequenceReward`; `per_sequence` adapts a function of one
    sequence). `info["log_prob"]` always holds the oracle log-probability of the step's token.

    ## Starting State

    The empty sequence: every token slot holds the padding id `vocab_size`, the position is 0.

    ## Episode End

    Terminated after `length` tokens (the sequence is complete; the position in the
    observation makes this part of the state, so no time limit is registered). Never
    truncated.

    ## Arguments

    `gym.make("lhyrl/SeqGen-v0", vocab_size=None, length=20, oracle="random", oracle_seed=0,
    embedding_dim=32, hidden_dim=32, start_token=0, reward_fn=None, step_reward_fn=None,
    render_mode=None)`. `oracle` is `"random"` (an LSTM with N(0, 1) parameters drawn from
    `oracle_seed`, as the paper made its own, with `vocab_size` tokens, 5000 by default),
    `"seqgan"` (the paper's own oracle, V = 5000, shipped with lhyrl), the path of an `.npz`
    oracle file (`lhyrl.nn.oracle`), or a `SequenceGenerator`; any other string raises
    `FileNotFoundError` naming the accepted names. The defaults follow the paper: V = 5000,
    T = 20, embedding and hidden size 32. `render_mode="ansi"` renders the tokens so far. The
    native vector env, which steps B sequences in one batched oracle call, is
    `gym.make_vec("lhyrl/SeqGen-v0", num_envs=B, vectorization_mode="vector_entry_point")`.

    ## Version History

    - v0: initial version.
    """

    def __init__(
        self,
        vocab_size: int | None = None,
        length: int = 20,
        *,
        oracle: str | os.PathLike[str] | SequenceGenerator = "random",
        oracle_seed: int = 0,
        embedding_dim: int = 32,
        hidden_dim: int = 32,
        start_token: int = 0,
        reward_fn: SequenceReward | None = None,
        step_reward_fn: SequenceReward | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.oracle = make_oracle(
            oracle,
            vocab_size=vocab_size,
            embedding_dim=embedding_dim,
            hidden_dim=hidden_dim,
            seed=oracle_seed,
        )
        self.vocab_size = self.oracle.config.vocab_size
        if not 0 <= start_token < self.vocab_size:
            raise ValueError(f"start_token must lie in 0 .. {self.vocab_size - 1}: {start_token}")
        if length < 1:
            raise ValueError(f"length must be at least 1, got {length}")
        self.length = length
        self.start_token = start_token
        self.pad_id = self.vocab_size
        self.reward_fn = reward_fn
        self.step_reward_fn = step_reward_fn
        self.action_space = spaces.Discrete(self.vocab_size)
        self.observation_space = token_space(self.vocab_size, length, self.pad_id)
        super().__init__(render_mode)

    def _make_batch(self, batch: int) -> SequenceBatch:
        return SequenceBatch(
            batch,
            self.length,
            OracleModel(self.oracle, batch, self.start_token),
            pad_id=self.pad_id,
            reward_fn=self.reward_fn,
            step_reward_fn=self.step_reward_fn,
        )


class SeqGenVectorEnv(SequenceVectorEnv):
    """``num_envs`` copies of ``lhyrl/SeqGen-v0`` sharing one oracle, stepped in one call.

    Every sub-env follows the single env exactly: the oracle runs once per step on the rows
    that advance (B rows, or none on a step that restarts them). See
    :class:`~lhyrl.envs.seqgen_core.SequenceVectorEnv` for autoreset; rewards, observations
    and ``info["log_prob"]`` (with its ``_log_prob`` mask) are arrays over the sub-envs.

    Args:
        num_envs: Number of sequences B.
        **kwargs: The arguments of :class:`SeqGenEnv`.
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        kwargs.pop("max_episode_steps", None)
        env = SeqGenEnv(**kwargs)
        super().__init__(num_envs, env)
        self.oracle = env.oracle
        self.vocab_size, self.length, self.pad_id = env.vocab_size, env.length, env.pad_id
