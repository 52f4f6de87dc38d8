"""Demonstrations: episode types, rollout collection, and dataset files (Minari and ``.npz``)."""

from lhyrl.data.dataset import (
    DatasetError,
    DatasetMismatchError,
    Demonstrations,
    load_demonstrations,
    save_demonstrations,
)
from lhyrl.data.npz import load_npz, save_npz
from lhyrl.data.rollout import (
    PolicyLike,
    as_policy_fn,
    collect_episodes,
    episode_returns,
    random_policy,
)
from lhyrl.data.types import Episode, Transitions

__all__ = [
    "DatasetError",
    "DatasetMismatchError",
    "Demonstrations",
    "Episode",
    "PolicyLike",
    "Transitions",
    "as_policy_fn",
    "collect_episodes",
    "episode_returns",
    "load_demonstrations",
    "load_npz",
    "random_policy",
    "save_demonstrations",
    "save_npz",
]
