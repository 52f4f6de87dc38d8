from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from lhyrl.data import as_policy_fn, collect_episodes, episode_returns, random_policy

N_ENVS = 4


def make_vec(env_id: str, mode: AutoresetMode = AutoresetMode.NEXT_STEP) -> gym.vector.VectorEnv:
    return gym.make_vec(
        env_id,
        num_envs=N_ENVS,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": mode},
    )


def expected_vector_episodes(single_runs, *, n_episodes: int, mode: AutoresetMode):
    """The episodes a vector env must yield, in finishing order, given each sub-env's run.

    Sub-env i replays the single-env run seeded with seed + i. With NEXT_STEP every reset
    costs one extra vector step; with SAME_STEP it costs none.
    """
    finishes = []
    for i, run in enumerate(single_runs):
        t = 0
        for k, ep in enumerate(run):
            t += len(ep) + (1 if mode == AutoresetMode.NEXT_STEP and k > 0 else 0)
            finishes.append((t, i, ep))
    finishes.sort(key=lambda f: (f[0], f[1]))
    last_time = finishes[n_episodes - 1][0]
    # Every sub-env's known episodes must outlast the wanted ones, or the reference is short.
    assert all(sum(len(ep) for ep in run) > last_time for run in single_runs)
    return [ep for _, _, ep in finishes[:n_episodes]]


def test_single_env_cartpole_matches_manual_rollout(lean_policy, manual_rollout, episodes_equal):
    env = gym.make("CartPole-v1")
    episodes = collect_episodes(env, lean_policy, n_episodes=3, seed=7, progress=False)
    expected = manual_rollout("CartPole-v1", lean_policy, seed=7, n_episodes=3)
    assert [len(ep) for ep in episodes] == [len(ep) for ep in expected]
    assert all(episodes_equal(a, b) for a, b in zip(episodes, expected, strict=True))
    assert all(ep.terminated and not ep.truncated for ep in episodes)


def test_single_env_pendulum_matches_manual_rollout(damping_policy, manual_rollout, episodes_equal):
    env = gym.make("Pendulum-v1", max_episode_steps=60)
    episodes = collect_episodes(env, damping_policy, n_episodes=2, seed=3, progress=False)
    expected = manual_rollout(
        "Pendulum-v1", damping_policy, seed=3, n_episodes=2, max_episode_steps=60
    )
    assert all(episodes_equal(a, b) for a, b in zip(episodes, expected, strict=True))
    assert [len(ep) for ep in episodes] == [60, 60]
    assert all(ep.truncated and not ep.terminated for ep in episodes)
    np.testing.assert_allclose(
        episode_returns(episodes), [ep.episode_return for ep in expected], rtol=0, atol=0
    )


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_cartpole_episodes_equal_single_env_runs_seeded_seed_plus_i(
    mode, lean_policy, manual_rollout, episodes_equal
):
    seed, n_episodes = 10, 10
    single_runs = [
        manual_rollout("CartPole-v1", lean_policy, seed=seed + i, n_episodes=8)
        for i in range(N_ENVS)
    ]
    expected = expected_vector_episodes(single_runs, n_episodes=n_episodes, mode=mode)

    episodes = collect_episodes(
        make_vec("CartPole-v1", mode), lean_policy, n_episodes=n_episodes, seed=seed, progress=False
    )

    # Exact equality means no reset step was recorded and every obs[0] is a reset observation.
    assert len(episodes) == n_episodes
    assert [len(ep) for ep in episodes] == [len(ep) for ep in expected]
    assert all(episodes_equal(a, b) for a, b in zip(episodes, expected, strict=True))
    assert all(np.all(np.abs(ep.obs[0]) <= 0.05) for ep in episodes)  # CartPole's reset range


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_pendulum_episodes_equal_single_env_runs_seeded_seed_plus_i(
    mode, damping_policy, manual_rollout, episodes_equal
):
    # Pendulum episodes all last 200 steps, so the sub-envs finish together, then reset together.
    seed = 5
    single_runs = [
        manual_rollout("Pendulum-v1", damping_policy, seed=seed + i, n_episodes=2)
        for i in range(N_ENVS)
    ]
    episodes = collect_episodes(
        make_vec("Pendulum-v1", mode), damping_policy, n_episodes=6, seed=seed, progress=False
    )
    expected = [run[0] for run in single_runs] + [single_runs[0][1], single_runs[1][1]]
    assert sum(len(ep) for ep in episodes) == 6 * 200
    assert all(episodes_equal(a, b) for a, b in zip(episodes, expected, strict=True))
    assert all(ep.acts.dtype == np.float32 and ep.acts.shape == (200, 1) for ep in episodes)


def test_vector_env_with_autoreset_disabled_is_refused(lean_policy):
    env = make_vec("CartPole-v1", AutoresetMode.DISABLED)
    with pytest.raises(ValueError, match="DISABLED"):
        collect_episodes(env, lean_policy, n_episodes=1, seed=0, progress=False)


def test_policy_returning_wrong_shape_raises_value_error_naming_both_shapes():
    env = gym.make("Pendulum-v1")

    def flat_policy(obs: np.ndarray) -> np.ndarray:
        return np.zeros(len(obs))  # (B,) where (B, 1) is due

    with pytest.raises(ValueError, match=r"shape \(1,\); expected \(1, 1\)"):
        collect_episodes(env, flat_policy, n_episodes=1, seed=0, progress=False)


def test_vector_policy_returning_one_action_for_all_envs_is_refused():
    with pytest.raises(ValueError, match=r"expected \(4,\)"):
        collect_episodes(
            make_vec("CartPole-v1"), lambda obs: np.zeros(1), n_episodes=1, seed=0, progress=False
        )


def test_actions_are_cast_to_the_action_space_dtype(lean_policy):
    env = gym.make("CartPole-v1")
    float_policy = lambda obs: lean_policy(obs).astype(np.float64)  # noqa: E731
    (episode,) = collect_episodes(env, float_policy, n_episodes=1, seed=0, progress=False)
    assert episode.acts.dtype == np.int64
    assert episode.acts.shape == (len(episode),)


def test_sb3_model_and_its_policy_act_through_predict():
    from stable_baselines3 import PPO

    env = gym.make("CartPole-v1")
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, seed=0, device="cpu")
    obs = np.stack([env.observation_space.sample() for _ in range(5)])
    for policy in (model, model.policy):
        actions = as_policy_fn(policy)(obs)
        assert actions.shape == (5,)
        np.testing.assert_array_equal(actions, model.predict(obs, deterministic=True)[0])
    episodes = collect_episodes(env, model, n_episodes=2, seed=0, progress=False)
    assert len(episodes) == 2


def test_as_policy_fn_returns_a_callable_unchanged_and_refuses_other_objects(lean_policy):
    assert as_policy_fn(lean_policy) is lean_policy
    with pytest.raises(TypeError, match="policy must be"):
        as_policy_fn("PPO")  # type: ignore[arg-type]


def test_random_policy_is_seeded_batched_and_leaves_the_space_alone():
    space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    space.seed(123)
    before = space.sample()
    space.seed(123)
    obs = np.zeros((3, 4))
    first = random_policy(space, seed=0)(obs)
    assert first.shape == (3, 2) and first.dtype == np.float32
    np.testing.assert_array_equal(first, random_policy(space, seed=0)(obs))
    assert not np.array_equal(first, random_policy(space, seed=1)(obs))
    np.testing.assert_array_equal(space.sample(), before)


def test_random_policy_collects_discrete_actions():
    env = gym.make("CartPole-v1")
    policy = random_policy(env.action_space, seed=0)
    episodes = collect_episodes(env, policy, n_episodes=2, seed=0, progress=False)
    assert all(set(np.unique(ep.acts)) <= {0, 1} for ep in episodes)


def test_n_episodes_below_one_is_refused(lean_policy):
    with pytest.raises(ValueError, match="at least 1"):
        collect_episodes(gym.make("CartPole-v1"), lean_policy, n_episodes=0, progress=False)


def test_progress_bar_shows_only_when_asked(lean_policy, capsys):
    env = gym.make("CartPole-v1")
    collect_episodes(env, lean_policy, n_episodes=1, seed=0, progress=False)
    assert capsys.readouterr().err == ""
    collect_episodes(env, lean_policy, n_episodes=1, seed=0, progress=True)
    assert "episode" in capsys.readouterr().err


def test_episode_returns_sums_rewards_per_episode(lean_policy):
    episodes = collect_episodes(
        gym.make("CartPole-v1"), lean_policy, n_episodes=2, seed=0, progress=False
    )
    returns = episode_returns(episodes)
    assert returns.dtype == np.float64
    np.testing.assert_array_equal(returns, [float(len(ep)) for ep in episodes])  # reward 1/step


def test_something_other_than_a_gymnasium_env_is_refused(lean_policy):
    with pytest.raises(TypeError, match="gymnasium Env or VectorEnv"):
        collect_episodes(object(), lean_policy, n_episodes=1, progress=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("vector", [False, True])
def test_disturbance_executes_noisy_actions_but_records_the_policys_labels(damping_policy, vector):
    env = make_vec("Pendulum-v1") if vector else gym.make("Pendulum-v1")
    clean = collect_episodes(env, damping_policy, n_episodes=2, seed=3, progress=False)
    noisy = collect_episodes(
        env, damping_policy, n_episodes=2, seed=3, progress=False, disturbance=0.3
    )
    for ep in noisy:
        # every recorded action is what the policy said in the state it was in
        np.testing.assert_allclose(ep.acts, damping_policy(ep.obs[:-1]), rtol=1e-6)
    assert not np.allclose(clean[0].obs, noisy[0].obs)  # the noise changed the states visited


def test_discrete_disturbance_replaces_actions_with_random_ones(lean_policy):
    env = gym.make("CartPole-v1")
    clean = collect_episodes(env, lean_policy, n_episodes=3, seed=0, progress=False)
    noisy = collect_episodes(
        env, lean_policy, n_episodes=3, seed=0, progress=False, disturbance=0.5
    )
    for ep in noisy:
        np.testing.assert_array_equal(ep.acts, lean_policy(ep.obs[:-1]))
    assert any(
        len(a) != len(b) or not np.array_equal(a.obs, b.obs)
        for a, b in zip(clean, noisy, strict=True)
    )


@pytest.mark.parametrize(
    ("env_id", "value", "message"),
    [("Pendulum-v1", -0.1, "non-negative"), ("CartPole-v1", 1.5, "probability")],
)
def test_bad_disturbance_is_refused(env_id, value, message, lean_policy):
    with pytest.raises(ValueError, match=message):
        collect_episodes(
            gym.make(env_id), lean_policy, n_episodes=1, progress=False, disturbance=value
        )
