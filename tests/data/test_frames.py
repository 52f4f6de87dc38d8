"""Demonstrations that carry frames: recorded from DomainFrames, kept through .npz files."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lhyrl  # noqa: F401  (registers the ids)
from lhyrl.data import Demonstrations, collect_episodes, load_demonstrations
from lhyrl.data.dataset import save_demonstrations
from lhyrl.data.npz import save_npz
from lhyrl.data.types import Episode
from lhyrl.envs.third_person import DomainFrames
from lhyrl.runs import collect_demos


def constant_policy(obs: np.ndarray) -> np.ndarray:
    return np.full((len(obs), 1), 0.3, dtype=np.float32)


def test_recorded_frames_are_what_the_domain_shows_at_each_step(tmp_path) -> None:
    env = DomainFrames(gym.make("InvertedPendulum-v5"), "third-person", size=16)
    (episode,) = collect_episodes(
        env, constant_policy, n_episodes=1, seed=3, progress=False, record_frames=True
    )
    assert episode.frames is not None and episode.frames.shape == (len(episode) + 1, 16, 16, 3)
    # replay the same actions: the frames match step by step
    _, info = env.reset(seed=3)
    assert np.array_equal(info["frame"], episode.frames[0])
    for t, action in enumerate(episode.acts):
        *_, info = env.step(action)
        assert np.array_equal(info["frame"], episode.frames[t + 1])
    demos = Demonstrations([episode], env.observation_space, env.action_space)
    path = save_npz(tmp_path / "pendulum.npz", demos)
    (loaded,) = load_demonstrations(path).episodes
    assert loaded.frames is not None and np.array_equal(loaded.frames, episode.frames)


def test_collect_demos_records_the_third_person_and_refuses_what_cannot_hold_frames(
    tmp_path,
) -> None:
    demos = collect_demos(
        env_id="InvertedPendulum-v5",
        episodes=1,
        out=tmp_path / "expert.npz",
        frames="third-person",
        frame_size=16,
        progress=False,
    )
    assert demos.episodes[0].frames is not None
    assert demos.mean_return > 900  # the shipped expert, seen from the third person
    with pytest.raises(ValueError, match=r"go to an \.npz file"):
        collect_demos(
            env_id="InvertedPendulum-v5", episodes=1, out=tmp_path / "dir", frames="third-person"
        )
    with pytest.raises(ValueError, match="no third-person views"):
        collect_demos(env_id="Hopper-v5", episodes=1, out=tmp_path / "h.npz", frames="third-person")
    with pytest.raises(ValueError, match="npz files only"):
        save_demonstrations(tmp_path / "minari", demos)


def test_bad_frames_are_refused_with_what_is_expected(tmp_path) -> None:
    obs = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match=r"frames must be \(3, H, W, C\) uint8"):
        Episode(obs, np.zeros((2, 1)), np.zeros(2), True, False, frames=np.zeros((2, 4, 4, 3)))
    env = gym.make("InvertedPendulum-v5")
    with pytest.raises(ValueError, match="wrap it in"):
        collect_episodes(env, constant_policy, n_episodes=1, progress=False, record_frames=True)
    episode = Episode(
        obs, np.zeros((2, 1), np.float32), np.zeros(2, np.float32), True, False,
        frames=np.zeros((3, 4, 4, 3), np.uint8),
    )  # fmt: skip
    box = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    path = save_npz(tmp_path / "f.npz", Demonstrations([episode], box, env.action_space))
    with np.load(path) as data:
        arrays = dict(data)
    arrays["next_frames"] = arrays["next_frames"][:, :2]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="'next_frames' has shape"):
        load_demonstrations(tmp_path / "bad.npz")
