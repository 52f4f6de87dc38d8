"""Demonstrations: episode types, rollout collection, and dataset files (Minari and ``.npz``)."""

from lhyrl.data.dataset import (
    DatasetError,
    DatasetMismatchError,
    Demonstrations,
    check_demonstrations_path,
    load_demonstrations,
    save_demonstrations,
)
from lhyrl.data.dialogue import (
    TURN_SEPARATOR,
    DialogueCorpus,
    DialogueData,
    DialoguePair,
    TokenizedPair,
    dialogue_pairs,
    load_conversations,
    split_conversations,
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
    "TURN_SEPARATOR",
    "DatasetError",
    "DatasetMismatchError",
    "Demonstrations",
    "DialogueCorpus",
    "DialogueData",
    "DialoguePair",
    "Episode",
    "PolicyLike",
    "TokenizedPair",
    "Transitions",
    "as_policy_fn",
    "check_demonstrations_path",
    "collect_episodes",
    "dialogue_pairs",
    "episode_returns",
    "load_conversations",
    "load_demonstrations",
    "load_npz",
    "random_policy",
    "save_demonstrations",
    "save_npz",
    "split_conversations",
]
