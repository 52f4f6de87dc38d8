"""GAIL and AIRL with every discriminator objective and remedy: the registry alone defines the
reward, AIRL refuses what breaks its structure, an ensemble with replay resumes whole, input
noise decays over the run, and GAIL with LSGAN still imitates."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from agent_experts import cartpole_expert, make_demonstrations
from log_recorder import Recorder
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger

from lhyrl.agents import AIRL, BC, GAIL
from lhyrl.agents.airl import INCOMPATIBLE_OBJECTIVES
from lhyrl.config import ConfigError, make_config
from lhyrl.data import Demonstrations, random_policy
from lhyrl.metrics import evaluate_policy
from lhyrl.nn.gan import MAGAN, objective_names
from lhyrl.rewards import AutoEncoderRewardNet, BasicRewardNet
from lhyrl.runs.imitation import make_adversarial, prepare

SMALL_GEN = {"n_steps": 32, "batch_size": 64, "learning_rate": 3e-4}  # 4 envs: 128 steps a round


@pytest.fixture(scope="module")
def demos() -> Demonstrations:
    return make_demonstrations("CartPole-v1", cartpole_expert, n_episodes=1, seed=0)


def _small(cls: type, demos: Demonstrations, seed: int = 0, **kwargs: object) -> GAIL | AIRL:
    venv = make_vec_env("CartPole-v1", n_envs=4, seed=seed)
    return cls(
        demonstrations=demos,
        venv=venv,
        gen_kwargs=dict(SMALL_GEN),
        demo_batch_size=64,
        seed=seed,
        **kwargs,
    )


@pytest.mark.parametrize("name", objective_names())
def test_the_objective_alone_defines_gails_reward(demos: Demonstrations, name: str) -> None:
    trainer = _small(GAIL, demos, disc_loss=name)
    energy = name in ("ebgan", "magan")
    assert isinstance(trainer.reward_net, AutoEncoderRewardNet if energy else BasicRewardNet)
    trainer.train(trainer.gen_train_timesteps)
    ep = demos.episodes[0]
    obs, acts, next_obs = ep.obs[:-1], ep.acts, ep.obs[1:]
    terminal = np.zeros(len(ep), bool)
    rewards = trainer._generator_reward(obs, acts, next_obs, terminal)
    with torch.no_grad():
        outputs = trainer.reward_net.discriminator_features(
            trainer.reward_net.features(obs, acts, next_obs), torch.zeros(len(ep))
        )
    expected = {
        "bce": torch.nn.functional.softplus(outputs),  # -log(1 - D)
        "lsgan": outputs,
        "wgan-gp": outputs,
        "hinge": outputs,
        "ebgan": -outputs,
        "magan": -outputs,
    }[name]
    np.testing.assert_allclose(rewards, expected.numpy(), rtol=1e-5, atol=1e-6)
    if energy:
        assert np.all(rewards <= 0)  # energies are squared errors
        # The reward network's own reward (what a saved one gives) is the generator's.
        np.testing.assert_allclose(
            trainer.reward_net.predict(obs, acts, next_obs, terminal), rewards, rtol=1e-5
        )
    if name == "magan":
        assert isinstance(trainer.objective, MAGAN) and trainer.objective.margin is not None
    if name == "wgan-gp":
        assert trainer.objective.penalty_weight == 10.0


@pytest.mark.parametrize("name", ["lsgan", "wgan-gp", "wgan", "hinge", "ebgan", "magan"])
def test_airl_refuses_objectives_that_break_its_structure_and_says_why(
    demos: Demonstrations, name: str
) -> None:
    reason = INCOMPATIBLE_OBJECTIVES["wgan-gp" if name == "wgan" else name]
    with pytest.raises(ValueError, match=rf"AIRL cannot train with disc_loss='{name}': "):
        _small(AIRL, demos, disc_loss=name)
    # lhyrl train refuses it before loading demonstrations or writing anything.
    config = make_config(
        {"algo": "airl", "env": "CartPole-v1", "demos": "missing.npz", "disc_loss": name},
        use_preset=False,
    )
    with pytest.raises(ConfigError) as refused:
        prepare(config)
    assert reason in str(refused.value)


def test_airl_trains_with_bce_and_the_shared_remedies(demos: Demonstrations) -> None:
    trainer = _small(
        AIRL,
        demos,
        label_smoothing=0.1,
        ensemble_size=2,
        ensemble_reward="min",
        replay_ratio=0.5,
        input_noise=0.1,
        spectral_norm=True,
    )
    trainer.train(2 * trainer.gen_train_timesteps)
    assert trainer.objective.name == "bce" and trainer.objective.reward == "logit"
    assert len(trainer.reward_nets) == 2 and len(trainer.discriminators.replay or []) > 0
    ep = demos.episodes[0]
    args = (ep.obs[:-1], ep.acts, ep.obs[1:], np.zeros(len(ep), bool))
    batch = trainer._batch(args[0], args[1], args[3], trainer.reward_net.features(*args[:3]))
    trainer.discriminators.members.eval()  # spectral norm's power iteration runs in training
    with torch.no_grad():
        logits = torch.stack([trainer._score(net, batch) for net in trainer.reward_nets])
    np.testing.assert_allclose(
        trainer._generator_reward(*args), logits.amin(0).numpy(), rtol=1e-5, atol=1e-6
    )


def test_gail_with_an_ensemble_and_replay_resumes_with_every_piece_of_state(
    demos: Demonstrations, tmp_path
) -> None:
    settings = {"disc_loss": "magan", "ensemble_size": 2, "replay_ratio": 0.5}
    trainer = _small(GAIL, demos, seed=1, replay_capacity=200, **settings)
    round_steps = trainer.gen_train_timesteps
    trainer.train(2 * round_steps, checkpoint_dir=tmp_path, checkpoint_every=1)
    replay = trainer.discriminators.replay
    assert replay is not None and replay.seen == 2 * round_steps and len(replay) == 200
    resumed = _small(GAIL, demos, seed=7, replay_capacity=200, **settings)
    resumed.resume(tmp_path)
    assert resumed.round == 2
    for a, b in zip(trainer.reward_nets, resumed.reward_nets, strict=True):
        for key, value in a.state_dict().items():
            assert torch.equal(value, b.state_dict()[key]), key
    assert isinstance(resumed.objective, MAGAN) and isinstance(trainer.objective, MAGAN)
    assert resumed.objective.state_dict() == trainer.objective.state_dict()
    assert resumed.objective.margin is not None
    restored = resumed.discriminators.replay
    assert restored is not None and (restored.size, restored.seen) == (replay.size, replay.seen)
    for a, b in zip(replay.columns, restored.columns, strict=True):
        assert torch.equal(a[: replay.size], b[: replay.size])
    assert torch.equal(resumed.torch_rng.get_state(), trainer.torch_rng.get_state())
    assert resumed.np_rng.bit_generator.state == trainer.np_rng.bit_generator.state
    moments = [s["exp_avg_sq"] for s in trainer.disc_optimizer.state_dict()["state"].values()]
    again = [s["exp_avg_sq"] for s in resumed.disc_optimizer.state_dict()["state"].values()]
    assert len(moments) == len(again) > 0
    assert all(torch.equal(a, b) for a, b in zip(moments, again, strict=True))
    resumed.train(3 * round_steps)
    assert resumed.round == 3 and restored.seen == 3 * round_steps
    with pytest.raises(ValueError, match=r"holds 2 discriminator\(s\); .* ensemble_size=1"):
        _small(GAIL, demos, disc_loss="magan", replay_ratio=0.5).resume(tmp_path)
    with pytest.raises(ValueError, match="written with replay_ratio > 0"):
        _small(GAIL, demos, disc_loss="magan", ensemble_size=2).resume(tmp_path)
    with pytest.raises(ValueError, match="needs reward_net to be a function"):
        _small(GAIL, demos, ensemble_size=2, reward_net=trainer.reward_net)


def test_input_noise_decays_linearly_over_the_whole_run_across_a_resume(
    demos: Demonstrations, tmp_path
) -> None:
    def logged_noise(trainer: GAIL) -> Recorder:
        recorder = Recorder()
        trainer.logger = Logger(folder=None, output_formats=[recorder])
        return recorder

    straight = _small(GAIL, demos, input_noise=0.4)
    recorder = logged_noise(straight)
    total = 4 * straight.gen_train_timesteps
    straight.learn(total)
    assert [d["train/disc_input_noise"] for d in recorder.dumps] == pytest.approx(
        [0.4, 0.3, 0.2, 0.1]
    )
    interrupted = _small(GAIL, demos, input_noise=0.4)
    interrupted.learn(total, lambda trainer, done: done < 2 * trainer.gen_train_timesteps,
                      checkpoint_dir=tmp_path)  # fmt: skip
    assert interrupted.round == 2
    resumed = _small(GAIL, demos, input_noise=0.4)
    resumed.resume(tmp_path)
    recorder = logged_noise(resumed)
    resumed.learn(total)
    assert [d["train/disc_input_noise"] for d in recorder.dumps] == pytest.approx([0.2, 0.1])


def test_lhyrl_train_keys_reach_the_trainer(demos: Demonstrations) -> None:
    values = {
        "algo": "gail",
        "env": "CartPole-v1",
        "demos": "x.npz",
        "n_envs": 2,
        "gen_n_steps": 32,
        "disc_loss": "hinge",
        "grad_penalty": 1.0,
        "input_noise": 0.2,
        "spectral_norm": True,
        "replay_ratio": 0.25,
        "replay_capacity": 64,
        "ensemble_size": 3,
        "ensemble_reward": "min",
    }
    config = make_config(values, use_preset=False)
    env = gym.make("CartPole-v1")
    bc = BC(observation_space=env.observation_space, action_space=env.action_space)
    trainer = make_adversarial(config, demos, bc=bc, logger=Logger(None, []))
    assert trainer.objective.name == "hinge" and trainer.objective.penalty_weight == 1.0
    assert trainer.remedies.input_noise == 0.2 and trainer.remedies.ensemble_reward == "min"
    assert len(trainer.reward_nets) == 3
    assert trainer.discriminators.replay is not None
    assert trainer.discriminators.replay.capacity == 64
    assert all(
        layer.parametrizations.weight
        for net in trainer.reward_nets
        for layer in net.modules()
        if isinstance(layer, torch.nn.Linear)
    )
    with pytest.raises(ConfigError, match="unknown config key"):
        make_config({**values, "ensemble_sizes": 2}, use_preset=False)


def test_gail_with_lsgan_beats_a_random_policy_on_cartpole(demos: Demonstrations) -> None:
    env = gym.make("CartPole-v1")
    random_return = evaluate_policy(
        env, random_policy(env.action_space, seed=0), n_episodes=20, seed=100
    ).mean_return
    venv = make_vec_env("CartPole-v1", n_envs=8, seed=0)
    gen_kwargs = {"n_steps": 256, "batch_size": 64, "learning_rate": 3e-4}
    gail = GAIL(demonstrations=demos, venv=venv, gen_kwargs=gen_kwargs, seed=0, disc_loss="lsgan")
    gail.train(16_384)  # 8 rounds
    result = gail.evaluate(env, n_episodes=20, seed=100)
    # One demonstration: random about 24, this run about 320 (bce's about 215).
    assert result.mean_return > 5 * random_return, (result.mean_return, random_return)
