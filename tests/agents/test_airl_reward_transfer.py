"""AIRL's recovered reward trains a fresh PPO agent on GridWorld-v0 (no early termination)."""

from __future__ import annotations

import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from lhyrl.agents import AIRL
from lhyrl.data import Demonstrations, collect_episodes, random_policy
from lhyrl.experts import make_expert
from lhyrl.metrics import evaluate_policy
from lhyrl.rewards import LearnedRewardWrapper

ENV_ID = "lhyrl/GridWorld-v0"
GEN_KWARGS = {"n_steps": 256, "batch_size": 64, "learning_rate": 1e-3, "ent_coef": 0.01}


def test_ppo_on_airl_recovered_reward_beats_random() -> None:
    env = gym.make(ENV_ID)
    episodes = collect_episodes(env, make_expert(env), n_episodes=10, seed=0, progress=False)
    demos = Demonstrations(episodes, env.observation_space, env.action_space, env_id=ENV_ID)
    airl = AIRL(
        demonstrations=demos,
        venv=make_vec_env(ENV_ID, n_envs=8, seed=0),
        gen_kwargs=GEN_KWARGS,
        state_only=True,
        n_disc_updates_per_round=16,
        demo_batch_size=128,
        seed=0,
    )
    airl.train(24_576)

    recovered = airl.reward_net.base  # g(s): the reward, without the shaping term
    ppo = PPO(
        "MlpPolicy",
        make_vec_env(lambda: LearnedRewardWrapper(gym.make(ENV_ID), recovered), n_envs=8, seed=1),
        seed=1,
        device="cpu",
        **GEN_KWARGS,
    )
    ppo.learn(16_384)

    def true_return(policy: object) -> float:
        return evaluate_policy(env, policy, n_episodes=50, seed=100).mean_return

    expert = true_return(make_expert(env))
    random = true_return(random_policy(env.action_space, seed=0))
    fresh = true_return(ppo)
    # Measured at seed 0: random 2.2, expert 43.4, PPO on the recovered g about 29.
    assert fresh > random + 0.4 * (expert - random), (fresh, random, expert)
