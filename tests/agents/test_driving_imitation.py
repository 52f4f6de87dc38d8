"""BC and DAgger learn to drive: learning tests on ``lhyrl/Driving-v0`` with fixed seeds."""

import gymnasium as gym
import pytest
import torch

import lhyrl  # noqa: F401
from lhyrl.agents import BC, ConstantBeta, DAgger
from lhyrl.data import Demonstrations, collect_episodes, random_policy
from lhyrl.experts import DrivingExpert
from lhyrl.metrics import evaluate_policy

ENV_ID = "lhyrl/Driving-v0"
EVAL_EPISODES, EVAL_SEED = 50, 10_000
BC_EPISODES = 20
POLICY = {"policy_kwargs": {"net_arch": [256, 256]}, "learning_rate": 1e-3}


def make_vec(n: int) -> gym.vector.VectorEnv:
    return gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")


@pytest.fixture(scope="module")
def setting():
    torch.set_num_threads(1)
    eval_env = make_vec(EVAL_EPISODES)  # one episode per sub-env: no bias towards short ones
    expert_return = evaluate_policy(
        eval_env, DrivingExpert(eval_env), n_episodes=EVAL_EPISODES, seed=EVAL_SEED
    ).mean_return
    random_return = evaluate_policy(
        eval_env, random_policy(eval_env.single_action_space, seed=0), n_episodes=EVAL_EPISODES,
        seed=EVAL_SEED,
    ).mean_return  # fmt: skip
    env = make_vec(BC_EPISODES)
    episodes = collect_episodes(
        env, DrivingExpert(env), n_episodes=BC_EPISODES, seed=0, progress=False, disturbance=0.3
    )
    demos = Demonstrations(
        episodes=episodes,
        observation_space=env.single_observation_space,
        action_space=env.single_action_space,
    )

    def score(agent) -> float:
        result = agent.evaluate(
            eval_env, n_episodes=EVAL_EPISODES, seed=EVAL_SEED,
            random_return=random_return, expert_return=expert_return,
        )  # fmt: skip
        return result.normalized_return

    return {"demos": demos, "score": score, "expert_return": expert_return,
            "random_return": random_return}  # fmt: skip


@pytest.fixture(scope="module")
def bc_score(setting) -> float:
    demos = setting["demos"]
    bc = BC(
        observation_space=demos.observation_space, action_space=demos.action_space,
        demonstrations=demos, seed=0, **POLICY,
    )  # fmt: skip
    untrained = setting["score"](bc)
    bc.train(n_epochs=40)
    trained = setting["score"](bc)
    assert trained > untrained + 0.5  # learning, not the initial weights, drives the car
    return trained


def test_expert_is_far_better_than_random(setting):
    assert setting["expert_return"] > 150 > 30 > setting["random_return"]


def test_bc_on_20_expert_episodes_reaches_08_expert_normalized_return(bc_score):
    assert bc_score >= 0.8


def test_dagger_reaches_bc_return_with_fewer_expert_labelled_episodes(setting, bc_score):
    demos = setting["demos"]
    first = Demonstrations(
        episodes=demos.episodes[:4],
        observation_space=demos.observation_space,
        action_space=demos.action_space,
    )
    env = make_vec(2)
    learner = BC(
        observation_space=demos.observation_space, action_space=demos.action_space, seed=0,
        **POLICY,
    )  # fmt: skip
    dagger = DAgger(
        env=env, expert=DrivingExpert(env), bc=learner, initial_demonstrations=first,
        beta_schedule=ConstantBeta(0.5), seed=0,
    )  # fmt: skip
    curve = []
    while dagger.expert_episodes + 2 < BC_EPISODES:
        dagger.train(n_rounds=dagger.round + 1, episodes_per_round=2, bc_epochs=30)
        curve.append((dagger.expert_episodes, setting["score"](dagger)))
        if curve[-1][1] >= bc_score - 0.01:  # within one failed episode in 50 of BC
            break
    episodes, score = curve[-1]
    print(f"BC {bc_score:.3f} with {BC_EPISODES} expert episodes; DAgger (episodes, score) {curve}")
    assert score >= bc_score - 0.01, f"BC {bc_score:.3f} with {BC_EPISODES}; DAgger {curve}"
    assert episodes < BC_EPISODES
