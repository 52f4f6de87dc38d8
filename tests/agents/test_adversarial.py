"""GAIL and AIRL on CartPole from one demonstration; the adversarial loop's plumbing."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from agent_experts import cartpole_expert, make_demonstrations, pendulum_expert
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure

from lhyrl.agents import AIRL, BC, GAIL
from lhyrl.data import DatasetMismatchError, Demonstrations, random_policy
from lhyrl.metrics import evaluate_policy
from lhyrl.rewards import RewardNetError, load_reward_net

GEN_KWARGS = {"n_steps": 256, "batch_size": 64, "learning_rate": 3e-4}
TIMESTEPS = 16_384  # 8 rounds of 8 envs x 256 steps
EVAL_EPISODES = 20


@pytest.fixture(scope="module")
def one_demo() -> Demonstrations:
    return make_demonstrations("CartPole-v1", cartpole_expert, n_episodes=1, seed=0)


@pytest.fixture(scope="module")
def baselines(one_demo: Demonstrations) -> dict[str, float]:
    """Mean returns of a random policy and of BC trained on the same single demonstration."""
    env = gym.make("CartPole-v1")
    random_return = evaluate_policy(
        env, random_policy(env.action_space, seed=0), n_episodes=EVAL_EPISODES, seed=100
    ).mean_return
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=one_demo,
        policy_kwargs={"net_arch": [64, 64]},
        seed=0,
    )
    bc.train(n_epochs=50)
    bc_return = bc.evaluate(env, n_episodes=EVAL_EPISODES, seed=100).mean_return
    return {"random": random_return, "bc": bc_return}


def _trainer(cls: type, demos: Demonstrations, seed: int = 0, **kwargs: object) -> GAIL | AIRL:
    venv = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    return cls(demonstrations=demos, venv=venv, gen_kwargs=dict(GEN_KWARGS), seed=seed, **kwargs)


@pytest.mark.parametrize("cls", [GAIL, AIRL], ids=["gail", "airl"])
def test_adversarial_beats_random_and_bc_on_one_demo(
    cls: type, one_demo: Demonstrations, baselines: dict[str, float], tmp_path
) -> None:
    trainer = _trainer(cls, one_demo, logger=configure(str(tmp_path), ["csv"]))
    trainer.train(TIMESTEPS)
    result = trainer.evaluate(gym.make("CartPole-v1"), n_episodes=EVAL_EPISODES, seed=100)
    # One demonstration of 500 steps: BC (batch 32, 50 epochs) gets about 115, random about
    # 24, the expert 500; GAIL about 215.
    assert result.mean_return > baselines["bc"] + 75, (result, baselines)
    assert result.mean_return > 3 * baselines["random"], (result, baselines)


def test_adversarial_logs_discriminator_and_reward_keys(one_demo: Demonstrations, tmp_path) -> None:
    trainer = _trainer(GAIL, one_demo, logger=configure(str(tmp_path), ["csv"]))
    trainer.train(2 * trainer.gen_train_timesteps)
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    for key in (
        "train/disc_acc_expert",
        "train/disc_acc_gen",
        "train/disc_loss",
        "rollout/learned_reward_mean",
        "rollout/true_return",
    ):
        assert key in header


def test_same_seed_same_run(one_demo: Demonstrations) -> None:
    weights = []
    for _ in range(2):
        trainer = _trainer(GAIL, one_demo, seed=3)
        trainer.train(trainer.gen_train_timesteps)
        weights.append(torch.nn.utils.parameters_to_vector(trainer.reward_net.parameters()))
    torch.testing.assert_close(weights[0], weights[1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"disc_loss": "wgan", "grad_penalty": 10.0},
        {"disc_loss": "lsgan", "input_noise": 0.5},
        {"label_smoothing": 0.1, "spectral_norm": True},
    ],
    ids=["wgan-gp", "lsgan-noise", "smoothing-spectral"],
)
def test_discriminator_remedies_run(one_demo: Demonstrations, kwargs: dict) -> None:
    trainer = _trainer(GAIL, one_demo, **kwargs)
    trainer.train(trainer.gen_train_timesteps)
    stats = trainer.train_discriminator(noise_scale=0.5)
    assert np.isfinite(stats["disc_loss"])
    if "grad_penalty" in kwargs:
        assert stats["disc_grad_penalty"] > 0
    if "input_noise" in kwargs:
        assert stats["disc_input_noise"] == pytest.approx(0.25)


def test_bad_arguments_get_clear_errors(one_demo: Demonstrations) -> None:
    with pytest.raises(ValueError, match="disc_loss"):
        _trainer(GAIL, one_demo, disc_loss="hinge-ish")
    with pytest.raises(ValueError, match="label_smoothing"):
        _trainer(GAIL, one_demo, label_smoothing=0.7)
    pendulum_demos = make_demonstrations("Pendulum-v1", pendulum_expert, n_episodes=1, seed=0)
    with pytest.raises(DatasetMismatchError):
        _trainer(GAIL, pendulum_demos)


def test_nan_reward_net_is_reported(one_demo: Demonstrations) -> None:
    trainer = _trainer(GAIL, one_demo)
    with torch.no_grad():
        for param in trainer.reward_net.parameters():
            param.fill_(float("nan"))
    with pytest.raises(RewardNetError, match="NaN"):
        trainer.train(trainer.gen_train_timesteps)


def test_warm_start_copies_the_bc_policy(one_demo: Demonstrations) -> None:
    env = gym.make("CartPole-v1")
    bc = BC(
        observation_space=env.observation_space,
        action_space=env.action_space,
        demonstrations=one_demo,
        policy_kwargs={"net_arch": [32, 32]},
        seed=0,
    )
    bc.train(n_epochs=5)
    trainer = _trainer(GAIL, one_demo, warm_start=bc)
    obs = np.stack([one_demo.episodes[0].obs[i] for i in range(0, 400, 40)])
    np.testing.assert_array_equal(trainer.predict(obs), bc.predict(obs))


def test_checkpoint_resume_continues_the_run(one_demo: Demonstrations, tmp_path) -> None:
    rounds = 2
    trainer = _trainer(AIRL, one_demo, seed=1)
    trainer.train(rounds * trainer.gen_train_timesteps, checkpoint_dir=tmp_path, checkpoint_every=1)
    resumed = _trainer(AIRL, one_demo, seed=7)
    resumed.resume(tmp_path)
    assert resumed.round == rounds
    assert resumed.gen_algo.num_timesteps == trainer.gen_algo.num_timesteps
    for a, b in zip(resumed.reward_net.parameters(), trainer.reward_net.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    resumed.train((rounds + 1) * trainer.gen_train_timesteps)
    assert resumed.round == rounds + 1
    with pytest.raises(ValueError, match="checkpoint of a AIRL trainer, not of a GAIL"):
        _trainer(GAIL, one_demo).resume(tmp_path)


def test_airl_reward_net_round_trips_through_a_file(one_demo: Demonstrations, tmp_path) -> None:
    trainer = _trainer(AIRL, one_demo, state_only=True)
    path = trainer.save_reward_net(tmp_path / "reward.pt")
    loaded = load_reward_net(path)
    ep = one_demo.episodes[0]
    args = (ep.obs[:-1], ep.acts, ep.obs[1:], np.zeros(len(ep), bool))
    np.testing.assert_allclose(loaded.predict(*args), trainer.reward_net.predict(*args), rtol=1e-6)


def test_airl_accepts_a_sac_generator(tmp_path) -> None:
    demos = make_demonstrations("Pendulum-v1", pendulum_expert, n_episodes=1, seed=0)
    env = gym.make("Pendulum-v1")
    sac = SAC("MlpPolicy", env, learning_starts=50, seed=0, device="cpu")
    airl = AIRL(demonstrations=demos, venv=env, gen_algo=sac, gen_train_timesteps=100, seed=0)
    airl.train(200)
    ep = demos.episodes[0]
    log_prob = airl.log_policy_prob(ep.obs[:5], ep.acts[:5])
    assert log_prob.shape == (5,) and torch.isfinite(log_prob).all()
