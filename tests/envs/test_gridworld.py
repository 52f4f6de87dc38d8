import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import lhyrl  # noqa: F401  (registers the ids)
from lhyrl.data import collect_episodes, episode_returns, random_policy
from lhyrl.envs.gridworld import ACTIONS, GridWorldEnv
from lhyrl.experts import GridWorldExpert, make_expert
from lhyrl.rewards import greedy_policy, value_iteration

ENV_ID = "lhyrl/GridWorld-v0"


def test_passes_gymnasium_and_sb3_check_env(recwarn):
    check_env(gym.make(ENV_ID).unwrapped)
    sb3_check_env(gym.make(ENV_ID), warn=True)
    assert not [w for w in recwarn if "lhyrl" in str(w.filename) or "check" in str(w.message)]


def test_same_seed_gives_same_trajectory():
    def rollout(seed: int) -> np.ndarray:
        env = gym.make(ENV_ID)
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        trace = [obs]
        for _ in range(120):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace += [obs, reward]
            if terminated or truncated:
                trace.append(env.reset()[0])
        return np.array(trace, dtype=np.float64)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.array_equal(rollout(3), rollout(4))


def test_layout_is_fixed_by_layout_seed_and_not_by_reset():
    a, b = GridWorldEnv(), GridWorldEnv()
    a.reset(seed=1)
    b.reset(seed=2)
    for name in ("transition_matrix", "feature_matrix", "true_reward", "object_cells"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    other = GridWorldEnv(layout_seed=1)
    assert not np.array_equal(other.object_cells, a.object_cells)
    assert np.any(other.true_reward > 0)  # layouts are redrawn until some cell pays +1


def test_mdp_arrays_have_the_documented_shapes_and_meaning():
    env = gym.make(ENV_ID)
    mdp = env.unwrapped
    n_states = 10 * 10
    assert mdp.transition_matrix.shape == (n_states, len(ACTIONS), n_states)
    assert mdp.transition_matrix.dtype == np.float64
    np.testing.assert_allclose(mdp.transition_matrix.sum(axis=2), 1.0, atol=1e-12)
    assert mdp.feature_matrix.shape == (n_states, 2 * 10)
    np.testing.assert_allclose(mdp.initial_state_distribution, 1 / n_states)
    assert mdp.horizon == 50 and mdp.gamma == 0.99
    assert gym.make(ENV_ID, horizon=20).unwrapped.horizon == 20
    # Feature c * M + (d - 1) says "the nearest object of colour c is within distance d".
    dist = mdp.nearest_distance
    for colour in range(2):
        for d in (1, 3, 7):
            np.testing.assert_array_equal(
                mdp.feature_matrix[:, colour * 10 + d - 1], (dist[:, colour] <= d).astype(float)
            )
    # Objectworld's rule; it is not linear in the features (a linear fit leaves residuals).
    near_0, near_1 = dist[:, 0] <= 3, dist[:, 1] <= 2
    expected = np.where(near_0 & near_1, 1.0, np.where(near_0, -1.0, 0.0))
    np.testing.assert_array_equal(mdp.true_reward, expected)
    assert {-1.0, 0.0, 1.0} <= set(mdp.true_reward.tolist())
    design = np.c_[mdp.feature_matrix, np.ones(n_states)]
    residual = mdp.true_reward - design @ np.linalg.lstsq(design, mdp.true_reward)[0]
    assert np.abs(residual).max() > 0.1


def test_sampled_steps_follow_the_transition_matrix():
    env = gym.make(ENV_ID).unwrapped
    corner, middle = 0, 4 * 10 + 5
    for state, action in [(corner, 1), (middle, 4), (middle, 0)]:
        counts = np.zeros(100)
        env.reset(seed=0, options={"state": state})
        for _ in range(3000):
            env.reset(options={"state": state})
            counts[env.step(action)[0]] += 1
        np.testing.assert_allclose(counts / 3000, env.transition_matrix[state, action], atol=0.03)
    # Up from the top-left corner stays put unless blown right or down.
    np.testing.assert_allclose(env.transition_matrix[corner, 1, [0, 1, 10]], [0.88, 0.06, 0.06])


@pytest.mark.parametrize("env", [gym.make(ENV_ID), GridWorldEnv()], ids=["make", "bare"])
def test_reward_is_that_of_the_cell_arrived_in_and_episodes_last_50_steps(env):
    obs, info = env.reset(seed=5)
    assert obs == info["row"] * 10 + info["col"]
    for step in range(1, 51):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert reward == env.unwrapped.true_reward[obs] and not terminated
        assert truncated == (step == 50)


def test_rgb_array_render_shows_grid_objects_and_agent():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0, options={"state": 99})
    frame = env.render()
    assert frame.shape == (240, 240, 3) and frame.dtype == np.uint8
    assert np.all(frame[-12, -12] == 0)  # the agent, a black square in the last cell
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) >= 6  # tints, lines, objects, agent


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 1}, "size must be"),
        ({"n_colours": 1}, "n_colours must be"),
        ({"n_objects": 101}, "n_objects must be"),
        ({"wind": 1.5}, "wind must be"),
        ({"max_distance": 0}, "max_distance must be"),
        ({"gamma": 1.0}, "gamma must be"),
        ({"render_mode": "human"}, "render_mode must be"),
        ({"horizon": 0}, "horizon must be"),
        ({"size": 30, "n_objects": 2, "n_colours": 1000}, "no layout"),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GridWorldEnv(**kwargs)


@pytest.mark.parametrize(
    ("action", "message"),
    [(5, r"\[0, 5\)"), (-1, r"\[0, 5\)"), (1.5, "integer"), (np.array([1, 2]), "shape")],
)
def test_bad_actions_and_reset_options_get_clear_errors(action, message):
    env = GridWorldEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    with pytest.raises(ValueError, match="state index"):
        env.reset(options={"state": 100})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"start": 3})


# --- the expert ----------------------------------------------------------------------------


def test_expert_is_value_iterations_greedy_policy():
    env = gym.make(ENV_ID)
    mdp = env.unwrapped
    expert = make_expert(env)
    assert isinstance(expert, GridWorldExpert)
    _, q = value_iteration(mdp.transition_matrix, mdp.true_reward, gamma=mdp.gamma)
    np.testing.assert_array_equal(expert.policy, greedy_policy(q))
    states = np.arange(100)
    np.testing.assert_array_equal(expert(states), expert.policy)


def test_expert_beats_random_by_a_wide_margin():
    env = gym.make(ENV_ID)
    expert_return = episode_returns(
        collect_episodes(env, make_expert(env), n_episodes=30, seed=0, progress=False)
    ).mean()
    random_return = episode_returns(
        collect_episodes(
            env, random_policy(env.action_space, seed=0), n_episodes=30, seed=0, progress=False
        )
    ).mean()
    assert expert_return > 35 and random_return < 10  # out of at most 50


def test_expert_acts_in_a_vector_env():
    venv = gym.make_vec(ENV_ID, num_envs=3)
    expert = make_expert(venv)
    np.testing.assert_array_equal(expert.policy, GridWorldExpert(gym.make(ENV_ID)).policy)
    episodes = collect_episodes(venv, expert, n_episodes=6, seed=0, progress=False)
    assert all(len(ep) == 50 for ep in episodes)
    assert episode_returns(episodes).mean() > 35


def test_expert_rejects_other_envs_and_bad_observations():
    with pytest.raises(TypeError, match="transition_matrix"):
        GridWorldExpert(gym.make("CartPole-v1"))
    expert = GridWorldExpert(gym.make(ENV_ID))
    with pytest.raises(ValueError, match="state indices"):
        expert(np.array([100]))
    with pytest.raises(ValueError, match="state indices"):
        expert(np.array([0.5]))
