"""The adversarial trainers' stabilizers: input and reward normalization, value warm-up."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from agent_experts import cartpole_expert, make_demonstrations
from stable_baselines3.common.env_util import make_vec_env

from lhyrl.agents import AIRL, BC, GAIL
from lhyrl.config import ConfigError, make_config
from lhyrl.data import Demonstrations
from lhyrl.rewards import BasicRewardNet, load_reward_net, save_reward_net

GEN_KWARGS = {"n_steps": 64, "batch_size": 64, "learning_rate": 3e-4}


@pytest.fixture(scope="module")
def demos() -> Demonstrations:
    return make_demonstrations("CartPole-v1", cartpole_expert, n_episodes=2, seed=0)


def _trainer(cls: type, demos: Demonstrations, **kwargs: object) -> GAIL | AIRL:
    venv = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    return cls(demonstrations=demos, venv=venv, gen_kwargs=dict(GEN_KWARGS), seed=0, **kwargs)


def test_input_normalization_matches_the_data_it_saw(tmp_path) -> None:
    import gymnasium as gym

    env = gym.make("Pendulum-v1")
    net = BasicRewardNet(
        observation_space=env.observation_space,
        action_space=env.action_space,
        normalize_input=True,
    )
    rng = np.random.default_rng(0)
    batches = [
        (
            rng.normal(5.0, 3.0, (100, 3)).astype(np.float32),
            rng.normal(-1.0, 0.5, (100, 1)).astype(np.float32),
            rng.normal(0.0, 1.0, (100, 3)).astype(np.float32),
        )
        for _ in range(3)
    ]
    raw = torch.cat([net.raw_features(*b) for b in batches])
    assert torch.equal(net.features(*batches[0]), net.raw_features(*batches[0]))  # no stats yet
    for batch in batches:
        net.update_input_normalization(*batch)
    # The running merge equals the statistics of all the data at once.
    torch.testing.assert_close(net.input_mean.float(), raw.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        net.input_var.float(), raw.var(0, unbiased=False), rtol=1e-4, atol=1e-5
    )
    normalized = torch.cat([net.features(*b) for b in batches])
    torch.testing.assert_close(normalized.mean(0), torch.zeros(7), atol=1e-4, rtol=0)
    torch.testing.assert_close(normalized.std(0, unbiased=False), torch.ones(7), atol=1e-3, rtol=0)
    # The statistics travel with the weights.
    loaded = load_reward_net(save_reward_net(tmp_path / "r.pt", net))
    assert loaded.normalize_input
    torch.testing.assert_close(loaded.features(*batches[1]), net.features(*batches[1]))


@pytest.mark.parametrize("cls", [GAIL, AIRL], ids=["gail", "airl"])
def test_discriminator_updates_its_input_statistics(cls: type, demos: Demonstrations) -> None:
    trainer = _trainer(cls, demos, normalize_input=True, n_disc_updates_per_round=3)
    assert float(trainer.reward_net.input_count) == 0
    trainer.train_generator()
    trainer.train_discriminator()
    # 3 steps, each on demo_batch_size expert and as many generated transitions.
    assert float(trainer.reward_net.input_count) == 3 * 2 * trainer.demo_batch_size


def test_warmup_rounds_freeze_the_policy_but_train_the_value(demos: Demonstrations) -> None:
    venv = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    bc = BC(
        observation_space=venv.observation_space,
        action_space=venv.action_space,
        demonstrations=demos,
        policy_kwargs={"net_arch": [32, 32]},
        seed=0,
    )
    bc.train(n_epochs=5)
    trainer = GAIL(
        demonstrations=demos,
        venv=venv,
        gen_kwargs=dict(GEN_KWARGS),
        warm_start=bc,
        gen_warmup_rounds=1,
        seed=0,
    )
    policy = trainer.gen_algo.policy
    actor_before = [p.detach().clone() for p in trainer._actor_parameters()]
    value_before = [p.detach().clone() for p in policy.value_net.parameters()]
    trainer.train(trainer.gen_train_timesteps)  # one round: the warm-up round
    assert all(
        torch.equal(a, p) for a, p in zip(actor_before, trainer._actor_parameters(), strict=True)
    )
    assert not all(
        torch.equal(a, p) for a, p in zip(value_before, policy.value_net.parameters(), strict=True)
    )
    assert all(p.requires_grad for p in policy.parameters())
    trainer.train(2 * trainer.gen_train_timesteps)  # the second round trains the policy too
    assert not all(
        torch.equal(a, p) for a, p in zip(actor_before, trainer._actor_parameters(), strict=True)
    )


def test_reward_normalization_scales_the_generator_reward_and_resumes(
    demos: Demonstrations, tmp_path
) -> None:
    trainer = _trainer(GAIL, demos, normalize_reward=True)
    assert trainer.reward_normalizer is not None
    trainer.train(2 * trainer.gen_train_timesteps, checkpoint_dir=tmp_path, checkpoint_every=1)
    assert trainer.reward_normalizer.ret_rms.count > 1
    # The generator learns on scaled rewards; the raw learned rewards are kept for logging.
    rollout = trainer.gen_algo.rollout_buffer.rewards
    raw = np.asarray(trainer._learned_rewards[-rollout.size :]).reshape(rollout.shape)
    assert not np.allclose(rollout, raw)
    assert np.all(np.sign(rollout) == np.sign(raw))  # scaled, not shifted

    fresh = _trainer(GAIL, demos, normalize_reward=True)
    fresh.resume(tmp_path)
    assert fresh.reward_normalizer is not None
    np.testing.assert_array_equal(
        fresh.reward_normalizer.ret_rms.var, trainer.reward_normalizer.ret_rms.var
    )
    other = _trainer(GAIL, demos)
    with pytest.raises(ValueError, match="normalize_reward"):
        other.resume(tmp_path)


def test_bad_stabilizer_settings_are_refused(demos: Demonstrations) -> None:
    with pytest.raises(ValueError, match="gen_warmup_rounds"):
        _trainer(GAIL, demos, gen_warmup_rounds=-1)
    with pytest.raises(ConfigError, match="absorb_horizon"):
        make_config({"algo": "gail", "env": "CartPole-v1", "demos": "x", "absorb_horizon": -5})
    both = {"absorb_horizon": 100, "continue_horizon": 100}
    with pytest.raises(ConfigError, match="not both"):
        make_config({"algo": "gail", "env": "CartPole-v1", "demos": "x", **both})


def test_airl_softplus_generator_reward_is_positive_and_keeps_the_discriminator(
    demos: Demonstrations,
) -> None:
    logit = _trainer(AIRL, demos, state_only=True)
    softplus = _trainer(AIRL, demos, state_only=True, generator_reward="softplus")
    logits = torch.linspace(-8.0, 8.0, 17)
    torch.testing.assert_close(logit.reward_from_logits(logits), logits)
    rewards = softplus.reward_from_logits(logits)
    assert torch.all(rewards > 0)
    torch.testing.assert_close(rewards, -torch.log1p(-torch.sigmoid(logits)), rtol=1e-4, atol=1e-4)
    # The same seed builds the same discriminator: only the generator's reward differs.
    for a, b in zip(
        logit.reward_net.state_dict().values(),
        softplus.reward_net.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="generator_reward"):
        _trainer(AIRL, demos, generator_reward="exp")
    with pytest.raises(ConfigError, match="airl_generator_reward"):
        make_config(
            {"algo": "airl", "env": "CartPole-v1", "demos": "x", "airl_generator_reward": "exp"}
        )
