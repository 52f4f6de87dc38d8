"""Demonstration data types: an :class:`Episode` and flat :class:`Transitions`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Episode:
    """One episode of interaction.

    Attributes:
        obs: Observations, ``(T + 1, *obs_shape)``: the reset observation, then one per step.
        acts: Actions taken, ``(T, *act_shape)``.
        rewards: Rewards received, ``(T,)`` float32.
        terminated: Whether the episode ended in a terminal state (crash, goal, ...).
        truncated: Whether the episode was cut off (time limit) without a terminal state.
        frames: Optional pictures of the scene, one per observation, ``(T + 1, H, W, C)``
            uint8 (e.g. ``info["frame"]`` of :class:`lhyrl.envs.third_person.DomainFrames`).
    """

    obs: np.ndarray
    acts: np.ndarray
    rewards: np.ndarray
    terminated: bool
    truncated: bool
    frames: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.acts)
        if len(self.obs) != n + 1 or len(self.rewards) != n:
            raise ValueError(
                f"an episode needs len(obs) == len(acts) + 1 == len(rewards) + 1; got "
                f"{len(self.obs)} observations, {n} actions and {len(self.rewards)} rewards"
            )
        if self.frames is not None and (
            len(self.frames) != n + 1 or self.frames.ndim != 4 or self.frames.dtype != np.uint8
        ):
            raise ValueError(
                f"an episode's frames must be ({n + 1}, H, W, C) uint8, one per observation; "
                f"got {self.frames.shape} {self.frames.dtype}"
            )

    def __len__(self) -> int:
        return len(self.acts)

    @property
    def episode_return(self) -> float:
        """The undiscounted sum of rewards."""
        return float(np.sum(self.rewards))


class EpisodeBuffer:
    """An episode being recorded, one step at a time; :meth:`finish` makes the Episode."""

    def __init__(self, first_obs: Any, first_frame: np.ndarray | None = None) -> None:
        self.obs: list[np.ndarray] = [np.array(first_obs, copy=True)]
        self.acts: list[np.ndarray] = []
        self.rewards: list[float] = []
        self.frames: list[np.ndarray] | None = None if first_frame is None else [first_frame]

    def add(
        self, act: Any, reward: float, next_obs: Any, next_frame: np.ndarray | None = None
    ) -> None:
        """Record one step: the action (or label), its reward and the observation after it.

        ``next_frame`` is the picture after the step, given when the buffer records frames.
        """
        self.acts.append(np.array(act, copy=True))
        self.rewards.append(float(reward))
        self.obs.append(np.array(next_obs, copy=True))
        if self.frames is not None:
            if next_frame is None:
                raise ValueError("this episode records frames: every step needs its frame")
            self.frames.append(np.array(next_frame, copy=True))

    def finish(self, *, terminated: bool, truncated: bool) -> Episode:
        """The recorded episode."""
        return Episode(
            obs=np.stack(self.obs),
            acts=np.stack(self.acts),
            rewards=np.asarray(self.rewards, dtype=np.float32),
            terminated=terminated,
            truncated=truncated,
            frames=None if self.frames is None else np.stack(self.frames),
        )


@dataclass(frozen=True)
class Transitions:
    """A flat batch of transitions ``(obs, act, next_obs, done)``, as BC and GAIL consume them.

    Attributes:
        obs: ``(N, *obs_shape)``.
        acts: ``(N, *act_shape)``.
        next_obs: ``(N, *obs_shape)``.
        dones: ``(N,)`` bool: the episode ended (terminated or truncated) after this transition.
    """

    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    dones: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.obs)
        if not (len(self.acts) == len(self.next_obs) == len(self.dones) == n):
            raise ValueError(
                "transitions need obs, acts, next_obs and dones of one length; got "
                f"{len(self.obs)}, {len(self.acts)}, {len(self.next_obs)}, {len(self.dones)}"
            )

    def __len__(self) -> int:
        return len(self.obs)

    @classmethod
    def from_episodes(cls, episodes: Sequence[Episode]) -> Transitions:
        """Flatten episodes into transitions; ``dones`` marks the last step of each episode."""
        if not episodes:
            raise ValueError("cannot build transitions from an empty list of episodes")
        dones = []
        for ep in episodes:
            done = np.zeros(len(ep), dtype=bool)
            done[-1] = True
            dones.append(done)
        return cls(
            obs=np.concatenate([ep.obs[:-1] for ep in episodes]),
            acts=np.concatenate([ep.acts for ep in episodes]),
            next_obs=np.concatenate([ep.obs[1:] for ep in episodes]),
            dones=np.concatenate(dones),
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Transitions]) -> Transitions:
        """Join several batches of transitions into one."""
        if not parts:
            raise ValueError("cannot concatenate an empty list of transitions")
        return cls(
            obs=np.concatenate([p.obs for p in parts]),
            acts=np.concatenate([p.acts for p in parts]),
            next_obs=np.concatenate([p.next_obs for p in parts]),
            dones=np.concatenate([p.dones for p in parts]),
        )
