"""One set of defaults: the classes' keyword defaults are ``lhyrl train``'s config defaults.

A user moving between ``GAIL(...)`` in Python and ``lhyrl train --algo gail`` gets the same
algorithm; where a shipped preset differs for a task, ``--show-config`` shows it.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym
import numpy as np

from lhyrl.agents import AIRL, BC, GAIL, DAgger
from lhyrl.agents.adversarial import GENERATOR_DEFAULTS, GENERATOR_NET_ARCH, AdversarialTrainer
from lhyrl.agents.base import DEFAULT_NET_ARCH
from lhyrl.config import make_config
from lhyrl.runs.imitation import policy_net_arch


def _defaults(cls: type) -> dict[str, Any]:
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def test_class_defaults_are_the_config_defaults() -> None:
    config = make_config({"algo": "gail", "env": "CartPole-v1", "demos": "x.npz"}, use_preset=False)
    bc, adversarial = config.bc, config.adversarial
    dagger = make_config({"algo": "dagger", "env": "CartPole-v1"}, use_preset=False).dagger
    assert bc.net_arch is None  # each algorithm's own default (policy_net_arch)
    assert policy_net_arch(
        make_config({"algo": "bc", "env": "CartPole-v1"}, use_preset=False)
    ) == list(DEFAULT_NET_ARCH)
    bc_defaults = _defaults(BC)
    for key in ("batch_size", "ent_weight", "l2_weight", "learning_rate"):
        assert bc_defaults[key] == getattr(bc, key), key
    dagger_defaults = _defaults(DAgger)
    assert dagger_defaults["episodes_per_round"] == dagger.episodes_per_round
    assert dagger_defaults["bc_epochs"] == bc.epochs
    assert {
        "n_steps": adversarial.gen_n_steps,
        "batch_size": adversarial.gen_batch_size,
        "learning_rate": adversarial.gen_learning_rate,
        "ent_coef": adversarial.gen_ent_coef,
        "gamma": adversarial.gen_gamma,
    } == GENERATOR_DEFAULTS
    assert policy_net_arch(config) == list(GENERATOR_NET_ARCH)
    pairs = {
        "demo_batch_size": "disc_batch_size",
        "n_disc_updates_per_round": "disc_updates_per_round",
        "disc_lr": "disc_lr",
        "disc_loss": "disc_loss",
        "grad_penalty": "grad_penalty",
        "label_smoothing": "label_smoothing",
        "input_noise": "input_noise",
        "normalize_reward": "normalize_reward",
        "gen_warmup_rounds": "gen_warmup_rounds",
    }
    for cls in (AdversarialTrainer, GAIL, AIRL):
        defaults = {**_defaults(AdversarialTrainer), **_defaults(cls)}
        for arg, key in pairs.items():
            assert defaults[arg] == getattr(adversarial, key), (cls.__name__, arg)
    gail_defaults = _defaults(GAIL)
    assert gail_defaults.get("spectral_norm", False) == adversarial.spectral_norm
    assert gail_defaults.get("normalize_input", False) == adversarial.disc_normalize_input


def test_a_default_gail_builds_the_cli_generator() -> None:
    env = gym.make("CartPole-v1")
    episode_obs = np.zeros((10, 4), np.float32)
    from lhyrl.data import Demonstrations, Episode

    episode = Episode(
        obs=np.concatenate([episode_obs, episode_obs[:1]]),
        acts=np.zeros(10, np.int64),
        rewards=np.ones(10),
        terminated=True,
        truncated=False,
    )
    demos = Demonstrations([episode], env.observation_space, env.action_space)
    gail = GAIL(demonstrations=demos, venv=env, seed=0)
    ppo = gail.gen_algo
    assert (ppo.n_steps, ppo.batch_size, ppo.gamma) == (256, 64, 0.99)
    assert gail.policy.net_arch in ([64, 64], {"pi": [64, 64], "vf": [64, 64]})
    bc = BC(observation_space=env.observation_space, action_space=env.action_space)
    assert bc.policy.net_arch in ([256, 256], {"pi": [256, 256], "vf": [256, 256]})
