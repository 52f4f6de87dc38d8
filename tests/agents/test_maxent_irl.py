import csv

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.logger import Logger, configure

import lhyrl  # noqa: F401  (registers the ids)
from lhyrl.agents import BC, MaxEntIRL
from lhyrl.data import Demonstrations, Episode, collect_episodes, episode_returns
from lhyrl.experts import make_expert
from lhyrl.rewards import (
    expected_value_difference,
    greedy_policy,
    optimal_policy,
    policy_evaluation,
    policy_iteration,
    policy_value,
    soft_policy_iteration,
    soft_value_iteration,
    state_visitation_frequencies,
    value_iteration,
)

ENV_ID = "lhyrl/GridWorld-v0"


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def gridworld():
    env = gym.make(ENV_ID)
    mdp = env.unwrapped
    episodes = collect_episodes(env, make_expert(env), n_episodes=60, seed=0, progress=False)
    demos = Demonstrations(episodes, env.observation_space, env.action_space, env_id=ENV_ID)
    args = (mdp.transition_matrix, mdp.true_reward)
    p0, gamma = mdp.initial_state_distribution, mdp.gamma
    best = policy_value(*args, optimal_policy(*args, gamma=gamma), p0, gamma=gamma)
    uniform = policy_value(*args, np.full((100, 5), 0.2), p0, gamma=gamma)
    rng = np.random.default_rng(0)
    random_evd = np.mean(
        [expected_value_difference(*args, rng.normal(size=100), p0, gamma=gamma) for _ in range(10)]
    )
    return {"env": env, "demos": demos, "value_gap": best - uniform, "random_evd": random_evd}


def evd(env: gym.Env, reward: np.ndarray) -> float:
    mdp = env.unwrapped
    return expected_value_difference(
        mdp.transition_matrix,
        mdp.true_reward,
        reward,
        mdp.initial_state_distribution,
        gamma=mdp.gamma,
    )


# --- MaxEnt IRL recovers the objectworld reward ---------------------------------------------


@pytest.mark.parametrize(("kind", "n_iterations"), [("linear", 100), ("deep", 150)])
def test_maxent_irl_recovers_a_reward_with_near_zero_evd(gridworld, kind, n_iterations):
    env = gridworld["env"]
    agent = MaxEntIRL.from_env(env, reward=kind, seed=0)
    untrained = evd(env, agent.reward())
    agent.train(gridworld["demos"], n_iterations=n_iterations)
    trained = evd(env, agent.reward())
    # Measured (seed 0): EVD linear 0.79, deep 0.20; untrained linear 90.2, deep 94.7; value
    # gap optimal - uniform policy 90.1; mean EVD of 10 N(0, 1) rewards 92.0.
    assert trained < 0.05 * gridworld["value_gap"]
    assert trained < 0.05 * gridworld["random_evd"] and trained < 0.05 * untrained
    returns = episode_returns(collect_episodes(env, agent, n_episodes=10, seed=1, progress=False))
    assert returns.mean() > 35  # the recovered reward's policy acts like the expert


def test_training_is_deterministic_given_the_seed(gridworld):
    rewards = []
    for _ in range(2):
        agent = MaxEntIRL.from_env(gridworld["env"], reward="deep", seed=3)
        agent.train(gridworld["demos"].episodes, n_iterations=5)
        rewards.append(agent.reward())
    np.testing.assert_array_equal(*rewards)
    other = MaxEntIRL.from_env(gridworld["env"], reward="deep", seed=4)
    assert not np.array_equal(other.reward(), rewards[0])


def test_training_logs_loss_and_a_shrinking_feature_gap(gridworld, tmp_path):
    agent = MaxEntIRL.from_env(gridworld["env"], logger=configure(str(tmp_path), ["csv"]))
    agent.train(gridworld["demos"], n_iterations=30, log_every=10)
    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and agent.num_updates == 30
    gaps = [float(row["train/feature_gap"]) for row in rows]
    losses = [float(row["train/loss"]) for row in rows]
    assert gaps[-1] < gaps[0] and losses[-1] < losses[0] < np.log(5) + 1e-6


# --- the gradient on a hand-checked MDP -------------------------------------------------------


def two_state_mdp() -> np.ndarray:
    """Action 0 stays, action 1 switches to the other state; deterministic."""
    p = np.zeros((2, 2, 2))
    p[0, 0, 0] = p[1, 0, 1] = p[0, 1, 1] = p[1, 1, 0] = 1.0
    return p


def test_gradient_follows_the_visitation_gap_on_a_two_state_mdp():
    # The expert goes from state 0 to state 1 and stays: mu_D = [0, 2]. Under a zero reward
    # the soft policy is uniform, so each step lands in either state with probability 1/2:
    # E[mu] = [1, 1]. The log-likelihood gradient is mu_D - E[mu] = [-1, +1], and Adam's
    # first step moves each weight by learning_rate in the direction of its gradient.
    p = two_state_mdp()
    uniform = np.full((2, 2), 0.5)
    visits = state_visitation_frequencies(p, uniform, np.array([1.0, 0.0]), horizon=2)
    np.testing.assert_allclose(visits, [1.0, 1.0])
    expert = Episode(
        obs=np.array([0, 1, 1]),
        acts=np.array([1, 0]),
        rewards=np.zeros(2, dtype=np.float32),
        terminated=False,
        truncated=True,
    )
    agent = MaxEntIRL(
        transition_matrix=p,
        feature_matrix=np.eye(2),
        gamma=0.9,
        initial_state_distribution=np.array([1.0, 0.0]),
        learning_rate=0.1,
        l2_weight=0.0,
    )
    with torch.no_grad():
        agent.reward_net.theta.zero_()
    agent.train([expert], n_iterations=1)
    np.testing.assert_allclose(agent.reward(), [-0.1, 0.1], atol=1e-6)
    agent.train([expert], n_iterations=50)
    assert agent.reward()[1] - agent.reward()[0] > 1.0
    np.testing.assert_array_equal(agent.policy(), [1, 0])  # go to state 1, then stay


# --- the planners ------------------------------------------------------------------------


def test_planners_agree_with_each_other_and_with_policy_evaluation(gridworld):
    mdp = gridworld["env"].unwrapped
    p, gamma = mdp.transition_matrix, mdp.gamma
    reward = np.random.default_rng(1).normal(size=100)
    values, q = value_iteration(p, reward, gamma=gamma)
    pi_values, pi_q = policy_iteration(p, reward, gamma=gamma)
    np.testing.assert_allclose(values, pi_values, atol=1e-6)
    np.testing.assert_array_equal(greedy_policy(q), greedy_policy(pi_q))
    best = optimal_policy(p, reward, gamma=gamma)
    np.testing.assert_allclose(policy_evaluation(p, reward, best, gamma=gamma), values, atol=1e-6)
    soft_values, soft_pi = soft_value_iteration(p, reward, gamma=gamma)
    soft_values_pi, soft_pi_pi = soft_policy_iteration(p, reward, gamma=gamma)
    np.testing.assert_allclose(soft_values, soft_values_pi, atol=1e-5)
    np.testing.assert_allclose(soft_pi, soft_pi_pi, atol=1e-8)
    assert np.all(soft_values >= values)  # log-sum-exp >= max
    visits = state_visitation_frequencies(
        p, soft_pi, mdp.initial_state_distribution, horizon=7, survival=np.linspace(1, 0.4, 7)
    )
    assert visits.sum() == pytest.approx(np.linspace(1, 0.4, 7).sum())


def test_evd_is_zero_for_the_true_reward_and_its_positive_rescalings(gridworld):
    env = gridworld["env"]
    true_reward = env.unwrapped.true_reward
    assert evd(env, true_reward) == pytest.approx(0.0, abs=1e-6)
    assert evd(env, 3.0 * true_reward + 2.0) == pytest.approx(0.0, abs=1e-6)
    assert evd(env, -true_reward) > 0.5 * gridworld["value_gap"]


# --- files and errors ----------------------------------------------------------------------


def test_save_and_load_round_trip(gridworld, tmp_path):
    agent = MaxEntIRL.from_env(gridworld["env"], reward="deep", hidden_sizes=(8,), seed=1)
    agent.train(gridworld["demos"], n_iterations=3)
    path = agent.save(tmp_path / "irl.pt")
    loaded = MaxEntIRL.load(path)
    np.testing.assert_array_equal(loaded.reward(), agent.reward())
    np.testing.assert_array_equal(loaded.policy(), agent.policy())
    assert loaded.hidden_sizes == (8,) and loaded.reward_kind == "deep"
    with pytest.raises(ValueError, match="not an lhyrl agent file"):
        BC.load(path)
    (tmp_path / "junk.pt").write_bytes(b"not a file")
    with pytest.raises(ValueError, match="not a readable lhyrl agent file"):
        MaxEntIRL.load(tmp_path / "junk.pt")


def test_demonstrations_that_do_not_fit_the_mdp_get_clear_errors(gridworld):
    agent = MaxEntIRL.from_env(gridworld["env"])
    box_obs = Episode(
        obs=np.zeros((3, 2), dtype=np.float32),
        acts=np.zeros(2, dtype=np.int64),
        rewards=np.zeros(2, dtype=np.float32),
        terminated=False,
        truncated=True,
    )
    box_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    demos = Demonstrations([box_obs], box_space, gym.spaces.Discrete(5))
    with pytest.raises(ValueError, match="Discrete"):
        agent.train(demos, n_iterations=1)
    with pytest.raises(ValueError, match="state indices"):
        agent.train([box_obs], n_iterations=1)
    far = Episode(np.array([0, 100]), np.array([0]), np.zeros(1, np.float32), False, True)
    with pytest.raises(ValueError, match=r"\[0, 100\)"):
        agent.train([far], n_iterations=1)
    with pytest.raises(ValueError, match="at least one"):
        agent.train([], n_iterations=1)


def test_nan_reward_and_bad_arguments_get_clear_errors(gridworld):
    env = gridworld["env"]
    agent = MaxEntIRL.from_env(env)
    with torch.no_grad():
        agent.reward_net.theta[0] = float("nan")
    with pytest.raises(FloatingPointError, match="NaN"):
        agent.train(gridworld["demos"], n_iterations=1)
    with pytest.raises(TypeError, match="transition_matrix"):
        MaxEntIRL.from_env(gym.make("CartPole-v1"))
    mdp = env.unwrapped
    base = {"transition_matrix": mdp.transition_matrix, "feature_matrix": mdp.feature_matrix}
    with pytest.raises(ValueError, match="reward must be one of"):
        MaxEntIRL(**base, reward="quadratic")
    with pytest.raises(ValueError, match="gamma"):
        MaxEntIRL(**base, gamma=1.0)
    with pytest.raises(ValueError, match="feature_matrix must have shape"):
        MaxEntIRL(transition_matrix=mdp.transition_matrix, feature_matrix=np.ones((5, 2)))
    with pytest.raises(ValueError, match="sums to"):
        MaxEntIRL(**{**base, "transition_matrix": 0.5 * mdp.transition_matrix})


class _CrashAt(Logger):
    """A logger that raises at a given step, as a killed process would stop there."""

    def __init__(self, step: int) -> None:
        super().__init__(folder=None, output_formats=[])
        self.crash_step = step

    def dump(self, step: int = 0) -> None:
        if step == self.crash_step:
            raise KeyboardInterrupt
        super().dump(step)


def test_interrupted_training_resumes_to_the_same_reward(gridworld, tmp_path):
    env, demos = gridworld["env"], gridworld["demos"].episodes
    straight = MaxEntIRL.from_env(env, reward="deep", seed=5)
    straight.train(demos, n_iterations=12)

    crashing = MaxEntIRL.from_env(env, reward="deep", seed=5, logger=_CrashAt(8))
    with pytest.raises(KeyboardInterrupt):
        crashing.train(demos, n_iterations=12, checkpoint_dir=tmp_path, checkpoint_every=5)
    resumed = MaxEntIRL.from_env(env, reward="deep", seed=99)
    resumed.resume(tmp_path)
    assert resumed.num_updates == 5
    resumed.train(demos, n_iterations=12)
    assert resumed.num_updates == 12
    np.testing.assert_allclose(resumed.reward(), straight.reward(), rtol=1e-10)
