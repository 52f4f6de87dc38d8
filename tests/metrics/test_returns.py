from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from lhyrl.data import collect_episodes
from lhyrl.metrics import EvalResult, evaluate_policy, normalized_return


def lean_policy(obs: np.ndarray) -> np.ndarray:
    return (obs[:, 2] > 0).astype(np.int64)


@pytest.mark.parametrize(
    ("mean_return", "expected"),
    [(5.0, 0.5), (1.0, 0.0), (9.0, 1.0), (-3.0, -0.5), (13.0, 1.5)],
)
def test_normalized_return_maps_random_to_zero_and_expert_to_one(mean_return, expected):
    assert normalized_return(mean_return, random_return=1.0, expert_return=9.0) == expected


def test_normalized_return_works_when_the_expert_scores_below_zero():
    # Costs: random -200, expert -100; -150 is halfway.
    assert normalized_return(-150.0, random_return=-200.0, expert_return=-100.0) == 0.5


def test_normalized_return_refuses_equal_references():
    with pytest.raises(ValueError, match=r"both 3\.0"):
        normalized_return(3.0, random_return=3.0, expert_return=3.0)


def test_eval_result_to_dict_holds_every_field():
    result = EvalResult(mean_return=1.5, std_return=0.5, n_episodes=2, mean_length=10.0)
    assert result.to_dict() == {
        "mean_return": 1.5,
        "std_return": 0.5,
        "n_episodes": 2,
        "mean_length": 10.0,
        "normalized_return": None,
    }


def test_evaluate_policy_summarizes_the_collected_episodes():
    episodes = collect_episodes(
        gym.make("CartPole-v1"), lean_policy, n_episodes=4, seed=3, progress=False
    )
    lengths = np.array([len(ep) for ep in episodes], dtype=np.float64)

    result = evaluate_policy(
        gym.make("CartPole-v1"),
        lean_policy,
        n_episodes=4,
        seed=3,
        random_return=20.0,
        expert_return=500.0,
    )

    assert result.n_episodes == 4
    assert result.mean_return == pytest.approx(lengths.mean())  # CartPole pays 1 per step
    assert result.std_return == pytest.approx(lengths.std())
    assert result.mean_length == pytest.approx(lengths.mean())
    assert result.normalized_return == pytest.approx((lengths.mean() - 20.0) / 480.0)


def test_evaluate_policy_on_a_vector_env_without_references():
    env = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    result = evaluate_policy(env, lean_policy, n_episodes=3, seed=0)
    assert result.n_episodes == 3 and result.normalized_return is None


def test_evaluate_policy_needs_both_references_or_neither():
    with pytest.raises(ValueError, match="both"):
        evaluate_policy(
            gym.make("CartPole-v1"), lean_policy, n_episodes=1, seed=0, random_return=0.0
        )
