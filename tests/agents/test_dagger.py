from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from agent_experts import cartpole_expert
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from stable_baselines3.common.logger import configure

from lhyrl.agents import BC, CHECKPOINT_FILE, DAgger, LinearBetaSchedule
from lhyrl.data import Demonstrations


class StateExpert:
    """An expert bound to the envs: it acts on their internal state, not on the observation.

    It checks that it is asked at the state the observation came from, i.e. before stepping.
    """

    def __init__(self, envs: list[gym.Env], controller=cartpole_expert) -> None:
        self.envs = envs
        self.controller = controller
        self.calls = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        states = np.stack([np.asarray(env.unwrapped.state, np.float32) for env in self.envs])
        np.testing.assert_allclose(states, obs, rtol=0, atol=1e-6)
        self.calls += 1
        return self.controller(states)


def _bc(env_spaces, **kwargs) -> BC:
    obs_space, act_space = env_spaces
    return BC(
        observation_space=obs_space,
        action_space=act_space,
        batch_size=64,
        learning_rate=1e-3,
        **kwargs,
    )


CARTPOLE_SPACES = (gym.make("CartPole-v1").observation_space, gym.make("CartPole-v1").action_space)


def test_linear_beta_schedule_ramps_from_one_to_zero() -> None:
    beta = LinearBetaSchedule(rampdown_rounds=4)
    assert [beta(r) for r in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]


def test_dagger_reaches_expert_return_on_cartpole_and_counts_expert_episodes(tmp_path) -> None:
    env = gym.make("CartPole-v1")
    logger = configure(str(tmp_path), ["csv"])
    dagger = DAgger(
        env=env,
        expert=cartpole_expert,
        bc=_bc(CARTPOLE_SPACES),
        beta_schedule=LinearBetaSchedule(rampdown_rounds=2),
        seed=0,
        logger=logger,
    )
    dagger.train(n_rounds=4, episodes_per_round=2, bc_epochs=4)

    assert dagger.expert_episodes == 8
    assert dagger.expert_labels == sum(len(ep) for ep in dagger.episodes)
    assert dagger.bc.n_samples == dagger.expert_labels
    result = dagger.evaluate(env, n_episodes=5, seed=100)
    assert result.mean_return >= 475  # the expert scores 500
    logger.close()

    header, *rows = (tmp_path / "progress.csv").read_text().splitlines()
    columns = header.split(",")
    for key in (
        "rollout/beta",
        "rollout/return",
        "train/round",
        "rollout/expert_episodes",
        "rollout/dataset_size",
        "train/loss",
    ):
        assert key in columns
    rounds = [r.split(",")[columns.index("train/round")] for r in rows]
    assert [float(r) for r in rounds if r] == [1, 2, 3, 4]


def test_dagger_counts_initial_demonstrations_as_expert_episodes(cartpole_demos) -> None:
    dagger = DAgger(
        env=gym.make("CartPole-v1"),
        expert=cartpole_expert,
        bc=_bc(CARTPOLE_SPACES),
        beta_schedule=lambda r: 0.0,
        initial_demonstrations=cartpole_demos,
    )
    dagger.train(n_rounds=1, episodes_per_round=3, bc_batches=5)
    assert dagger.expert_episodes == cartpole_demos.n_episodes + 3
    assert dagger.expert_labels == cartpole_demos.n_steps + sum(len(e) for e in dagger.episodes)
    assert dagger.bc.n_samples == dagger.expert_labels


def test_dagger_asks_a_state_based_expert_before_stepping_a_single_env() -> None:
    env = gym.make("CartPole-v1")
    expert = StateExpert([env])
    dagger = DAgger(
        env=env, expert=expert, bc=_bc(CARTPOLE_SPACES), beta_schedule=lambda r: 0.5, seed=1
    )
    dagger.train(n_rounds=2, episodes_per_round=3, bc_batches=5)
    assert len(dagger.episodes) == 6
    assert expert.calls == dagger.expert_labels
    for ep in dagger.episodes:
        assert ep.terminated or ep.truncated
        np.testing.assert_array_equal(ep.acts, cartpole_expert(ep.obs[:-1]))


def push_right(obs: np.ndarray) -> np.ndarray:
    """A poor expert: the pole falls after about ten steps."""
    return np.ones(len(obs), np.int64)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_dagger_records_whole_episodes_from_vector_envs(mode) -> None:
    envs = SyncVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(3)], autoreset_mode=mode)
    expert = StateExpert(list(envs.envs), controller=push_right)
    dagger = DAgger(
        env=envs, expert=expert, bc=_bc(CARTPOLE_SPACES), beta_schedule=lambda r: 1.0, seed=2
    )
    dagger.train(n_rounds=2, episodes_per_round=7, bc_batches=1)
    episodes = dagger.episodes
    assert len(episodes) == 14
    assert dagger.expert_labels == sum(len(ep) for ep in episodes)
    assert len({len(ep) for ep in episodes}) > 1  # sub-envs finish at different steps
    for ep in episodes:
        # Starts at a reset state (every component within +-0.05), ends with the pole down.
        assert np.abs(ep.obs[0]).max() <= 0.05
        assert ep.terminated and not ep.truncated
        assert np.abs(ep.obs[-1][2]) > 0.2
        assert np.abs(ep.obs[:-1, 2]).max() <= 0.21
        assert np.all(ep.acts == 1)
        assert ep.episode_return == len(ep)


def test_dagger_refuses_vector_envs_without_autoreset() -> None:
    envs = SyncVectorEnv([lambda: gym.make("CartPole-v1")], autoreset_mode=AutoresetMode.DISABLED)
    with pytest.raises(ValueError, match="DISABLED"):
        DAgger(env=envs, expert=cartpole_expert, bc=_bc(CARTPOLE_SPACES))


def test_dagger_refuses_an_env_with_other_spaces() -> None:
    with pytest.raises(ValueError, match="spaces differ"):
        DAgger(env=gym.make("Pendulum-v1"), expert=cartpole_expert, bc=_bc(CARTPOLE_SPACES))


def test_dagger_retrains_from_scratch_without_warm_start() -> None:
    bc = _bc(CARTPOLE_SPACES)
    initial = {k: v.clone() for k, v in bc.policy.state_dict().items()}
    dagger = DAgger(
        env=gym.make("CartPole-v1"),
        expert=cartpole_expert,
        bc=bc,
        beta_schedule=lambda r: 1.0,
        warm_start=False,
    )
    dagger.train(n_rounds=1, episodes_per_round=1, bc_batches=0)
    for key, value in bc.policy.state_dict().items():
        torch.testing.assert_close(value, initial[key], rtol=0, atol=0)


def test_resumed_dagger_matches_uninterrupted_dagger(tmp_path) -> None:
    def make() -> DAgger:
        return DAgger(
            env=gym.make("CartPole-v1"),
            expert=cartpole_expert,
            bc=_bc(CARTPOLE_SPACES, seed=4),
            beta_schedule=LinearBetaSchedule(rampdown_rounds=2),
            seed=4,
        )

    straight = make()
    straight.train(n_rounds=3, episodes_per_round=1, bc_batches=15)

    interrupted = make()
    interrupted.train(n_rounds=2, episodes_per_round=1, bc_batches=15, checkpoint_dir=tmp_path)
    assert (tmp_path / CHECKPOINT_FILE).is_file()
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == [
        "dagger_round_0000.npz",
        "dagger_round_0001.npz",
    ]

    # An interrupted save may leave a round file that the checkpoint does not count yet.
    (tmp_path / "dagger_round_0002.npz").write_bytes(b"stale")

    resumed = make()
    resumed.resume(tmp_path)
    assert resumed.expert_episodes == 2
    resumed.train(n_rounds=3, episodes_per_round=1, bc_batches=15, checkpoint_dir=tmp_path)

    assert resumed.expert_episodes == straight.expert_episodes == 3
    assert resumed.expert_labels == straight.expert_labels
    for a, b in zip(resumed.episodes, straight.episodes, strict=True):
        np.testing.assert_array_equal(a.obs, b.obs)
        np.testing.assert_array_equal(a.acts, b.acts)
    for key, value in straight.policy.state_dict().items():
        torch.testing.assert_close(resumed.policy.state_dict()[key], value, rtol=0, atol=0)

    reloaded = make()
    reloaded.resume(tmp_path)  # the stale file was replaced by round 2's episodes
    assert reloaded.expert_labels == straight.expert_labels


def test_dagger_resume_needs_the_same_initial_demonstrations(
    cartpole_demos: Demonstrations, tmp_path
) -> None:
    dagger = DAgger(
        env=gym.make("CartPole-v1"),
        expert=cartpole_expert,
        bc=_bc(CARTPOLE_SPACES),
        initial_demonstrations=cartpole_demos,
        beta_schedule=lambda r: 0.0,
    )
    dagger.train(n_rounds=1, episodes_per_round=1, bc_batches=1, checkpoint_dir=tmp_path)
    other = DAgger(env=gym.make("CartPole-v1"), expert=cartpole_expert, bc=_bc(CARTPOLE_SPACES))
    with pytest.raises(ValueError, match="initial demonstration episodes"):
        other.resume(tmp_path)
