"""DAgger: let the learner drive, have the expert label the states it reaches, retrain, repeat.

Round ``r`` runs a mixture of expert and learner (per step and per sub-env, the expert's action
is executed with probability ``beta(r)``, the learner's otherwise) for a number of complete
episodes, records the expert's action for every state visited, adds these labelled states to
the dataset and retrains the BC learner on the whole aggregate. The learner is a :class:`BC`
agent that DAgger *holds* (``dagger.bc``); DAgger adds the rounds, not another loss.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.logger import Logger

from lhyrl.agents.base import ImitationAgent
from lhyrl.agents.bc import BC
from lhyrl.agents.checkpoint import atomic_write
from lhyrl.agents.trainer import Checkpoints
from lhyrl.data import Demonstrations, Episode, PolicyLike, Transitions, as_policy_fn
from lhyrl.data.types import EpisodeBuffer

__all__ = ["DAgger", "LinearBetaSchedule"]


class ConstantBeta:
    """``beta(r) = beta`` in every round: each step mixes expert and learner at a fixed rate.

    Args:
        beta: The probability of executing the expert's action, in [0, 1].
    """

    def __init__(self, beta: float) -> None:
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
        self.beta = float(beta)

    def __call__(self, round_num: int) -> float:
        """The probability of executing the expert's action (the same in every round)."""
        return self.beta

    def __repr__(self) -> str:
        return f"ConstantBeta({self.beta})"


class LinearBetaSchedule:
    """``beta(r) = max(0, 1 - r / rampdown_rounds)``: expert-only first, learner-only later.

    Args:
        rampdown_rounds: The round from which on the learner alone acts.
    """

    def __init__(self, rampdown_rounds: int) -> None:
        if rampdown_rounds < 1:
            raise ValueError(f"rampdown_rounds must be at least 1, got {rampdown_rounds}")
        self.rampdown_rounds = int(rampdown_rounds)

    def __call__(self, round_num: int) -> float:
        """The probability of executing the expert's action in round ``round_num`` (from 0)."""
        return min(1.0, max(0.0, 1.0 - round_num / self.rampdown_rounds))

    def __repr__(self) -> str:
        return f"LinearBetaSchedule(rampdown_rounds={self.rampdown_rounds})"


class DAgger(ImitationAgent):
    """Dataset Aggregation (Ross et al., 2011) around a :class:`BC` learner.

    ``learn(total)`` counts rounds, each of ``episodes_per_round`` episodes followed by
    ``bc_epochs`` epochs of BC on the aggregate.

    The episodes DAgger records hold the *expert's* labels as ``acts`` (not the actions that
    were executed) and the mixed policy's rewards. ``save`` writes the learner's BC file
    (load it with ``BC.load``); checkpoints hold everything needed to resume the rounds.

    Args:
        env: A Gymnasium env or vector env (autoreset ``NEXT_STEP`` or ``SAME_STEP``) with the
            learner's spaces.
        expert: The expert (see ``lhyrl.data.PolicyLike``). It is always called on the current
            observations before the env steps, so an expert that reads the env's internal
            state sees the state the observation came from.
        bc: The learner; DAgger replaces its data with the aggregate every round and shares
            its policy, optimizer and logger.
        beta_schedule: Round -> probability of executing the expert's action; default
            ``LinearBetaSchedule(rampdown_rounds=10)``.
        initial_demonstrations: Expert episodes the aggregate starts from; `train` first fits
            the learner to them (unless it resumes a run that has done so).
        warm_start: Retrain from the current weights each round (default); if False, from the
            initial weights and a fresh optimizer.
        episodes_per_round: Episodes of the mixed policy per round in :meth:`learn`.
        bc_epochs: BC epochs over the aggregate after each round in :meth:`learn`.
        seed: Seeds the mixing coin flips and the env resets of each round.
        logger: An SB3 logger, shared with ``bc``; ``None`` keeps ``bc``'s logger.

    Raises:
        ValueError: If the env's spaces differ from the learner's.
        DatasetMismatchError: If ``initial_demonstrations`` are for other spaces.
    """

    learn_unit = "rounds"

    def __init__(
        self,
        *,
        env: gym.Env[Any, Any] | gym.vector.VectorEnv[Any, Any, Any],
        expert: PolicyLike,
        bc: BC,
        beta_schedule: Callable[[int], float] | None = None,
        initial_demonstrations: Demonstrations | None = None,
        warm_start: bool = True,
        episodes_per_round: int = 2,
        bc_epochs: int = 60,
        seed: int = 0,
        logger: Logger | None = None,
    ) -> None:
        if episodes_per_round < 1 or bc_epochs < 1:
            raise ValueError(
                f"episodes_per_round and bc_epochs must be at least 1, got {episodes_per_round} "
                f"and {bc_epochs}"
            )
        super().__init__(
            observation_space=bc.observation_space,
            action_space=bc.action_space,
            policy=bc.policy,
            learning_rate=bc.learning_rate,
            seed=seed,
            device=bc.device,
            logger=logger if logger is not None else bc.logger,
        )
        bc.logger = self.logger
        self.bc = bc
        self.env = env
        self.expert = expert
        self._expert_fn = as_policy_fn(expert, deterministic=True)
        self.beta_schedule = beta_schedule or LinearBetaSchedule(rampdown_rounds=10)
        self.warm_start = warm_start
        self.episodes_per_round = int(episodes_per_round)
        self.bc_epochs = int(bc_epochs)
        self.initial_demonstrations = initial_demonstrations
        self._is_vector = isinstance(env, gym.vector.VectorEnv)
        if self._is_vector:
            assert isinstance(env, gym.vector.VectorEnv)
            env_obs_space, env_act_space = env.single_observation_space, env.single_action_space
            self._autoreset = _autoreset_mode(env)
        else:
            env_obs_space, env_act_space = env.observation_space, env.action_space
            self._autoreset = AutoresetMode.NEXT_STEP  # unused: a single env is reset by hand
        if env_obs_space != bc.observation_space or env_act_space != bc.action_space:
            raise ValueError(
                "the env's spaces differ from the learner's:\n"
                f"  observation space: env {env_obs_space}, learner {bc.observation_space}\n"
                f"  action space:      env {env_act_space}, learner {bc.action_space}"
            )
        self._initial_transitions: Transitions | None = None
        if initial_demonstrations is not None:
            initial_demonstrations.check_compatible((env_obs_space, env_act_space))
            self._initial_transitions = initial_demonstrations.transitions()
        self.episodes: list[Episode] = []
        """The episodes recorded in DAgger rounds (acts are the expert's labels)."""
        self._round_sizes: list[int] = []  # episodes recorded in each round, in order
        self._rounds_on_disk: dict[str, int] = {}  # checkpoint dir -> rounds saved there
        self._initial_policy_state = copy.deepcopy(bc.policy.state_dict())
        self._initial_optimizer_state = copy.deepcopy(bc.policy.optimizer.state_dict())

    # --- counts -------------------------------------------------------------------------

    @property
    def n_initial_episodes(self) -> int:
        """Episodes in the initial demonstrations (0 without)."""
        return (
            0 if self.initial_demonstrations is None else len(self.initial_demonstrations.episodes)
        )

    @property
    def expert_episodes(self) -> int:
        """Episodes in which the expert labelled states: demonstrations plus DAgger rounds."""
        return self.n_initial_episodes + len(self.episodes)

    @property
    def expert_labels(self) -> int:
        """Steps the expert labelled: demonstration steps plus DAgger-round steps."""
        initial = 0 if self._initial_transitions is None else len(self._initial_transitions)
        return initial + sum(len(ep) for ep in self.episodes)

    @property
    def round(self) -> int:
        """Rounds completed so far (over all ``train`` calls)."""
        return len(self._round_sizes)

    def dataset(self) -> Transitions:
        """The aggregate: initial demonstrations plus every DAgger-labelled step."""
        parts = [] if self._initial_transitions is None else [self._initial_transitions]
        if self.episodes:
            parts.append(Transitions.from_episodes(self.episodes))
        if not parts:
            raise RuntimeError("the dataset is empty: no demonstrations and no rounds yet")
        return Transitions.concatenate(parts)

    # --- acting and training ------------------------------------------------------------

    def predict(self, obs: np.ndarray, *, deterministic: bool = True) -> np.ndarray:
        """The learner's actions (see :meth:`ImitationAgent.predict`)."""
        return self.bc.predict(obs, deterministic=deterministic)

    def train(
        self,
        *,
        n_rounds: int,
        episodes_per_round: int,
        bc_epochs: int | None = None,
        bc_batches: int | None = None,
        log_every: int = 100,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
    ) -> None:
        """Run DAgger rounds until ``n_rounds`` rounds have been completed in all.

        ``n_rounds`` counts every round so far, over earlier ``train`` calls and (after
        :meth:`resume`) the interrupted run, so ``train(n_rounds=k)`` for k = 1, 2, ... adds one
        round at a time, and the same call finishes an interrupted run.

        Args:
            n_rounds: Total rounds.
            episodes_per_round: Complete episodes of the mixed policy per round.
            bc_epochs: BC epochs over the aggregate after each round; exactly one of
                ``bc_epochs``/``bc_batches``.
            bc_batches: BC gradient steps after each round.
            log_every: Passed to ``BC.train``.
            checkpoint_dir: If given, a checkpoint (with the recorded episodes as ``.npz``
                files) is written there every ``checkpoint_every`` rounds and at the end.
            checkpoint_every: Rounds between checkpoints.

        Raises:
            ValueError: If a budget is invalid.
        """
        if (bc_epochs is None) == (bc_batches is None):
            raise ValueError("give exactly one of bc_epochs and bc_batches")
        if n_rounds < 0 or episodes_per_round < 1 or checkpoint_every < 1:
            raise ValueError(
                "need n_rounds >= 0, episodes_per_round >= 1 and checkpoint_every >= 1"
            )
        progress = self._begin_progress(round=self.round)
        if progress["round"] == 0 and self._initial_transitions is not None:
            # Round 0's learner starts from the demonstrations, as BC would.
            self.bc.set_demonstrations(self._initial_transitions)
            self.bc.train(n_epochs=bc_epochs, n_batches=bc_batches, log_every=log_every)
            self.num_updates = self.bc.num_updates
        while progress["round"] < n_rounds:
            round_num = progress["round"]
            beta = float(self.beta_schedule(round_num))
            new_episodes = self._collect(beta=beta, n_episodes=episodes_per_round)
            self.episodes.extend(new_episodes)
            self._round_sizes.append(len(new_episodes))
            self.bc.set_demonstrations(self.dataset())
            if not self.warm_start:
                self.policy.load_state_dict(self._initial_policy_state)
                self.policy.optimizer.load_state_dict(self._initial_optimizer_state)
            self.bc.train(n_epochs=bc_epochs, n_batches=bc_batches, log_every=log_every)
            self.num_updates = self.bc.num_updates
            progress["round"] += 1

            self.logger.record("train/round", progress["round"])
            self.logger.record("rollout/beta", beta)
            self.logger.record(
                "rollout/return", float(np.mean([ep.episode_return for ep in new_episodes]))
            )
            self.logger.record("rollout/expert_episodes", self.expert_episodes)
            self.logger.record("rollout/expert_labels", self.expert_labels)
            self.logger.record("rollout/dataset_size", self.bc.n_samples)
            self.logger.dump(step=self.num_updates)
            if checkpoint_dir is not None and (
                progress["round"] % checkpoint_every == 0 or progress["round"] == n_rounds
            ):
                self.save_checkpoint(checkpoint_dir)
            self._unit_done(progress["round"])

    def _learn(self, total: int, checkpoints: Checkpoints) -> None:
        self.train(
            n_rounds=total,
            episodes_per_round=self.episodes_per_round,
            bc_epochs=self.bc_epochs,
            **checkpoints,
        )

    def _learn_progress(self) -> int:
        return self.round

    def _collect(self, *, beta: float, n_episodes: int) -> list[Episode]:
        """Run the mixed policy for ``n_episodes`` complete episodes, recording expert labels."""
        env = self.env
        n_envs = env.num_envs if isinstance(env, gym.vector.VectorEnv) else 1
        act_shape = self.action_space.shape
        assert act_shape is not None
        obs, _ = env.reset(seed=int(self.np_rng.integers(2**31 - 1)))
        obs = np.asarray(obs) if self._is_vector else np.asarray(obs)[None]  # (n_envs, *obs)
        recordings: list[EpisodeBuffer | None] = [None] * n_envs
        started = 0
        for i in range(min(n_envs, n_episodes)):
            recordings[i] = EpisodeBuffer(obs[i])
            started += 1
        # NEXT_STEP: the step after a sub-env's episode ends only resets it; skip that step.
        resetting = np.zeros(n_envs, dtype=bool)
        wants_new = np.zeros(n_envs, dtype=bool)
        finished: list[Episode] = []
        while len(finished) < n_episodes:
            labels = np.asarray(self._expert_fn(obs)).reshape(n_envs, *act_shape)  # before stepping
            learner = np.asarray(self.bc.predict(obs, deterministic=True)).reshape(
                n_envs, *act_shape
            )
            use_expert = self.np_rng.random(n_envs) < beta  # (n_envs,)
            actions = learner.copy()
            actions[use_expert] = labels[use_expert]
            step = env.step(actions if self._is_vector else actions[0])
            infos = step[4]
            next_obs = np.asarray(step[0]).reshape(n_envs, *np.shape(obs)[1:])
            rewards = np.asarray(step[1], dtype=np.float64).reshape(n_envs)
            terms = np.asarray(step[2], dtype=bool).reshape(n_envs)
            truncs = np.asarray(step[3], dtype=bool).reshape(n_envs)
            for i in range(n_envs):
                if resetting[i]:
                    resetting[i] = False
                    if wants_new[i]:
                        wants_new[i] = False
                        recordings[i] = EpisodeBuffer(next_obs[i])
                    continue
                recording = recordings[i]
                if recording is None:
                    continue  # an idle sub-env: enough episodes have been started
                done = bool(terms[i] or truncs[i])
                final_obs = next_obs[i]
                if done and self._is_vector and self._autoreset == AutoresetMode.SAME_STEP:
                    final_obs = infos["final_obs"][i]
                recording.add(labels[i], float(rewards[i]), final_obs)
                if not done:
                    continue
                finished.append(
                    recording.finish(terminated=bool(terms[i]), truncated=bool(truncs[i]))
                )
                recordings[i] = None
                more = started < n_episodes
                started += int(more)
                if not self._is_vector:
                    if more:
                        reset_obs, _ = env.reset()
                        next_obs = np.asarray(reset_obs)[None]
                        recordings[i] = EpisodeBuffer(next_obs[0])
                elif self._autoreset == AutoresetMode.SAME_STEP:
                    if more:
                        recordings[i] = EpisodeBuffer(next_obs[i])
                else:
                    resetting[i] = True
                    wants_new[i] = more
            obs = next_obs
        return finished

    # --- files --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the learner as a BC agent file (load it with ``BC.load``)."""
        return self.bc.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, device: str | torch.device = "auto") -> DAgger:
        """Not available: a DAgger needs an env and an expert, which no file holds.

        Raises:
            TypeError: Always; load the learner with ``BC.load`` and pass it as ``bc=``.
        """
        raise TypeError(
            "DAgger.save writes the learner's BC file: load it with BC.load(path) and pass it "
            "as DAgger(bc=..., env=..., expert=...); to continue a run, use DAgger.resume"
        )

    def _checkpoint_extra(self, directory: Path) -> dict[str, Any]:
        # Each round's episodes go to their own .npz, written once per directory: rounds that
        # the directory's checkpoint already covers are kept, later ones are (re)written.
        # checkpoint.pt, written after this returns, says how many rounds count, so files
        # left by an interrupted save are harmless.
        per_round = self._episodes_by_round()
        key = str(directory.resolve())
        for round_num in range(self._rounds_on_disk.get(key, 0), len(per_round)):
            _write_episodes(directory / _round_file(round_num), per_round[round_num])
        self._rounds_on_disk[key] = len(per_round)
        return {
            "bc_rng": self.bc._rng_state(),
            "episodes_per_round": [len(eps) for eps in per_round],
            "n_initial_episodes": self.n_initial_episodes,
        }

    def _restore_checkpoint_extra(self, extra: Mapping[str, Any], directory: Path) -> None:
        if int(extra["n_initial_episodes"]) != self.n_initial_episodes:
            raise ValueError(
                f"the checkpoint in {directory} was written with "
                f"{int(extra['n_initial_episodes'])} initial demonstration episodes, this DAgger "
                f"has {self.n_initial_episodes}; pass the same initial_demonstrations"
            )
        self.bc._restore_rng_state(extra["bc_rng"])
        self.episodes = []
        self._round_sizes = [int(n) for n in extra["episodes_per_round"]]
        for round_num, count in enumerate(self._round_sizes):
            episodes = _read_episodes(directory / _round_file(round_num))
            if len(episodes) != count:
                raise ValueError(
                    f"{directory}: round {round_num} should hold {count} episodes, the file "
                    f"holds {len(episodes)}"
                )
            self.episodes.extend(episodes)
        self._rounds_on_disk[str(directory.resolve())] = len(self._round_sizes)
        if self.episodes or self._initial_transitions is not None:
            self.bc.set_demonstrations(self.dataset())

    def _episodes_by_round(self) -> list[list[Episode]]:
        out, start = [], 0
        for size in self._round_sizes:
            out.append(self.episodes[start : start + size])
            start += size
        return out


def _autoreset_mode(env: gym.vector.VectorEnv[Any, Any, Any]) -> AutoresetMode:
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    mode = AutoresetMode(mode.value if isinstance(mode, AutoresetMode) else mode)
    if mode == AutoresetMode.DISABLED:
        raise ValueError(
            "DAgger needs a vector env that resets its sub-envs itself; this one has "
            "autoreset_mode=DISABLED (use NEXT_STEP, the default, or SAME_STEP)"
        )
    return mode


def _round_file(round_num: int) -> str:
    return f"dagger_round_{round_num:04d}.npz"


def _write_episodes(path: Path, episodes: list[Episode]) -> None:
    arrays = {
        "obs": np.concatenate([ep.obs for ep in episodes]),  # (sum(T + 1), *obs_shape)
        "acts": np.concatenate([ep.acts for ep in episodes]),  # (sum(T), *act_shape)
        "rewards": np.concatenate([ep.rewards for ep in episodes]),  # (sum(T),)
        "lengths": np.array([len(ep) for ep in episodes], dtype=np.int64),
        "terminated": np.array([ep.terminated for ep in episodes], dtype=bool),
        "truncated": np.array([ep.truncated for ep in episodes], dtype=bool),
    }

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]

    atomic_write(path, write)


def _read_episodes(path: Path) -> list[Episode]:
    if not path.is_file():
        raise ValueError(f"the checkpoint's episode file {path} is missing")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {
                k: npz[k] for k in ("obs", "acts", "rewards", "lengths", "terminated", "truncated")
            }
    except Exception as err:
        raise ValueError(f"{path} is not a readable DAgger episode file: {err}") from err
    episodes, o, a = [], 0, 0
    for i, length in enumerate(arrays["lengths"].tolist()):
        episodes.append(
            Episode(
                obs=arrays["obs"][o : o + length + 1],
                acts=arrays["acts"][a : a + length],
                rewards=arrays["rewards"][a : a + length],
                terminated=bool(arrays["terminated"][i]),
                truncated=bool(arrays["truncated"][i]),
            )
        )
        o, a = o + length + 1, a + length
    return episodes
