"""Third-person views: frames of a MuJoCo scene as each domain sees it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import lhyrl  # noqa: F401  (registers the ids)
from lhyrl.envs.third_person import VIEWS, DomainFrames, DomainView

ENV_IDS = list(VIEWS)


def frames_of(env_id: str, domain: str, actions: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    env = DomainFrames(gym.make(env_id), domain, size=32)
    _, info = env.reset(seed=seed)
    frames = [info["frame"]]
    for action in actions:
        *_, info = env.step(action)
        frames.append(info["frame"])
    env.close()
    return frames


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("domain", ["first-person", "third-person"])
def test_wrapped_envs_pass_both_env_checkers(env_id: str, domain: str) -> None:
    env = DomainFrames(gym.make(env_id), domain)
    check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=False)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_frames_show_the_state_and_differ_between_domains(env_id: str) -> None:
    space = gym.make(env_id).action_space
    actions = np.stack([np.full(space.shape, 0.5, dtype=space.dtype)] * 6)
    first = frames_of(env_id, "first-person", actions)
    again = frames_of(env_id, "first-person", actions)
    third = frames_of(env_id, "third-person", actions)
    assert first[0].shape == (32, 32, 3) and first[0].dtype == np.uint8
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))  # same seed
    assert not np.array_equal(first[0], first[-1])  # the scene moved, and the frame shows it
    for a, b in zip(first, third, strict=True):  # the same states, seen differently
        assert (np.abs(a.astype(int) - b.astype(int)).max(-1) > 30).mean() > 0.05


def test_third_person_recolours_the_bodies() -> None:
    def red_pixels(domain: str) -> int:
        env = DomainFrames(gym.make("InvertedPendulum-v5"), domain)
        _, info = env.reset(seed=0)
        env.close()
        r, g, b = info["frame"].astype(int).transpose(2, 0, 1)
        return int(((r > 60) & (r > 2 * g) & (r > 2 * b)).sum())

    env = DomainFrames(gym.make("InvertedPendulum-v5"), "third-person")
    pole = env.unwrapped.model.geom("cpole").id
    assert np.allclose(env.unwrapped.model.geom_rgba[pole], (0.95, 0.25, 0.2, 1.0))
    env.close()
    # the third person's pole is red; nothing is red in the first person's colours
    assert red_pixels("third-person") >= 5 and red_pixels("first-person") == 0


def test_errors_name_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="needs a MuJoCo env"):
        DomainFrames(gym.make("CartPole-v1"), DomainView())
    with pytest.raises(ValueError, match="domain must be one of"):
        DomainFrames(gym.make("InvertedPendulum-v5"), "bird's-eye")
    with pytest.raises(ValueError, match="no geom named 'wheel'"):
        DomainFrames(
            gym.make("InvertedPendulum-v5"), DomainView(geom_colours=(("wheel", (1, 0, 0, 1)),))
        )
    with pytest.raises(ValueError, match="no third-person views"):
        DomainFrames(gym.make("Hopper-v5"), "third-person")
