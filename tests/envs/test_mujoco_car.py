import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import lhyrl
from lhyrl.envs.mujoco_car import Course, MujocoCarEnv
from lhyrl.experts import EXPERTS, MujocoCarExpert, make_expert

ENV_ID = "lhyrl/MujocoCar-v0"


def test_make_works_after_importing_lhyrl():
    assert lhyrl.envs.ENV_IDS.count(ENV_ID) == 1
    env = gym.make(ENV_ID)
    assert isinstance(env.unwrapped, MujocoCarEnv)
    assert env.spec is not None and env.spec.max_episode_steps == 500
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    assert env.observation_space.shape == (16,) and env.observation_space.dtype == np.float32
    assert env.metadata["render_fps"] == 20


def test_passes_gymnasium_and_sb3_check_env():
    check_env(gym.make(ENV_ID).unwrapped, skip_render_check=True)
    sb3_check_env(gym.make(ENV_ID), warn=True)


def rollout(seed: int, steps: int = 50) -> list[np.ndarray]:
    env = gym.make(ENV_ID)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, _, _ = env.step(env.action_space.sample())
        trace += [obs, np.array([reward, terminated])]
        if terminated:
            trace.append(env.reset()[0])
    return trace


def test_same_seed_gives_the_same_trajectory_and_another_seed_another():
    first, second, other = rollout(3), rollout(3), rollout(4)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_reset_draws_a_new_course_from_the_seed():
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    course = env.course.points.copy()
    env.reset(seed=1)
    assert not np.allclose(course, env.course.points)
    env.reset(seed=0)
    np.testing.assert_array_equal(course, env.course.points)


def test_course_projection_recovers_offset_and_arc_length():
    course = Course.random(np.random.default_rng(5), radius=8.0, wobble=0.3, half_width=1.0)
    assert np.abs(course.curvature).max() <= 0.3 + 1e-9
    for s in np.linspace(0.0, course.length, 7, endpoint=False):
        heading = course.heading_at(s)
        left = np.array([-np.sin(heading), np.cos(heading)])
        proj = course.project(course.point_at(s) + 0.5 * left)
        assert proj.offset == pytest.approx(0.5, abs=0.02)
        assert course.wrap_delta(proj.s - s) == pytest.approx(0.0, abs=0.05)


def test_out_of_range_actions_are_clipped():
    env = gym.make(ENV_ID).unwrapped
    results = []
    for action in ([0.3, 1.0], [0.3, 1.7]):
        env.reset(seed=0)
        results.append(env.step(np.array(action, dtype=np.float32))[0])
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.zeros(3, dtype=np.float32), r"shape \(2,\)"),
        (np.zeros((1, 2), dtype=np.float32), r"got shape \(1, 2\)"),
        (np.array([np.nan, 0.0], dtype=np.float32), "finite"),
        (np.array(["a", "b"]), "dtype"),
    ],
)
def test_bad_action_gets_a_clear_error(action, message):
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)


def test_stepping_before_reset_is_refused_not_answered_with_a_terminated_step():
    env = gym.make(ENV_ID).unwrapped
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step(np.zeros(2, dtype=np.float32))
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert not terminated and not info["off_track"]


def test_bad_arguments_get_a_clear_error():
    with pytest.raises(ValueError, match="render_mode"):
        MujocoCarEnv(render_mode="human")
    with pytest.raises(ValueError, match="camera"):
        MujocoCarEnv(camera="driver")
    with pytest.raises(TypeError):
        gym.make(ENV_ID, lanes=3)


def test_reward_terms_add_up_and_full_lock_runs_off_the_track():
    env = gym.make(ENV_ID)
    env.reset(seed=2)
    progress = 0.0
    for _ in range(200):
        _, reward, terminated, truncated, info = env.step(np.array([1.0, 1.0], np.float32))
        terms = info["reward_progress"] + info["reward_lateral"] + info["reward_off_track"]
        assert reward == pytest.approx(terms)
        progress += info["reward_progress"]
        if terminated:
            break
    assert terminated and info["off_track"] and not info["flipped"] and not truncated
    assert info["reward_off_track"] == -10.0 and abs(info["offset"]) > 1.0
    assert info["distance"] == pytest.approx(progress)


@pytest.mark.parametrize("camera", ["chase", "overview"])
def test_rgb_array_render_shows_a_picture(camera):
    env = gym.make(ENV_ID, render_mode="rgb_array", camera=camera, width=160, height=120)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 10  # not a blank picture
    env.close()


def test_render_without_render_mode_warns_and_returns_none():
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def episode(env: gym.Env, policy, seed: int) -> tuple[float, float, bool]:
    """Return, largest |offset| (m) and whether the episode terminated."""
    obs, _ = env.reset(seed=seed)
    total, worst, done = 0.0, 0.0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += reward
        worst = max(worst, abs(info["offset"]))
        done = terminated or truncated
    return total, worst, terminated


def test_expert_laps_the_course_far_better_than_random():
    env = gym.make(ENV_ID)
    expert = make_expert(env)
    assert isinstance(expert, MujocoCarExpert) and EXPERTS[ENV_ID] is MujocoCarExpert
    env.action_space.seed(0)
    expert_runs = [episode(env, lambda o: expert(o[None])[0], 100 + s) for s in range(5)]
    random_runs = [episode(env, lambda o: env.action_space.sample(), 100 + s) for s in range(5)]
    for total, worst, terminated in expert_runs:
        assert not terminated and worst < 0.6  # never near the edge (1 m)
        assert total > 70  # about 1.5 laps of a 50 m course in 25 s
    assert np.mean([r[0] for r in random_runs]) < 10


def test_expert_labels_a_vector_env_batch_from_observations():
    venv = gym.make_vec(ENV_ID, num_envs=3)
    expert = MujocoCarExpert(venv)
    obs, _ = venv.reset(seed=0)
    actions = expert(obs)
    assert actions.shape == (3, 2) and actions.dtype == np.float32
    assert venv.action_space.contains(actions)
    for _ in range(40):
        obs, _, terminated, _, _ = venv.step(expert(obs))
        assert not terminated.any()
    with pytest.raises(ValueError, match=r"\(B, 16\)"):
        expert(obs[0])
    with pytest.raises(ValueError, match="MujocoCar"):
        MujocoCarExpert(gym.make("lhyrl/GridWorld-v0"))
