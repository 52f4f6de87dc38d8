"""Third-person GAIL on InvertedPendulum-v5: expert seen from the third person, learner first."""

from __future__ import annotations

import dataclasses
from functools import partial

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure

import lhyrl  # noqa: F401  (registers the ids)
from lhyrl.agents import GAIL, ThirdPersonGAIL
from lhyrl.data import Demonstrations, collect_episodes, random_policy
from lhyrl.envs.third_person import DomainFrames
from lhyrl.rewards import FramePairs, FrameRewardNet, load_reward_net
from lhyrl.runs import collect_demos

ENV = "InvertedPendulum-v5"
SIZE = 32


@pytest.fixture(scope="module")
def expert(tmp_path_factory) -> Demonstrations:
    """Two episodes (2,000 steps) of the shipped expert, seen from the third person."""
    out = tmp_path_factory.mktemp("demos") / "expert.npz"
    return collect_demos(
        env_id=ENV, episodes=2, out=out, frames="third-person", frame_size=SIZE, progress=False
    )


def random_episodes(domain: str, n: int, seed: int) -> Demonstrations:
    env = DomainFrames(gym.make(ENV), domain, size=SIZE)
    episodes = collect_episodes(
        env,
        random_policy(env.action_space, seed=seed),
        n_episodes=n,
        seed=100 * seed,
        progress=False,
        record_frames=True,
    )
    env.close()
    return Demonstrations(episodes, env.observation_space, env.action_space)


@pytest.fixture(scope="module")
def failures() -> Demonstrations:
    """Thirty episodes of a random policy in the expert's (third-person) domain."""
    return random_episodes("third-person", 30, seed=1)


def learner_env(seed: int = 0, n_envs: int = 4):
    return make_vec_env(
        ENV,
        n_envs=n_envs,
        seed=seed,
        wrapper_class=partial(DomainFrames, view="first-person", size=SIZE),
    )


def make(expert: Demonstrations, failures: Demonstrations, seed: int = 0, **kwargs):
    return ThirdPersonGAIL(
        demonstrations=expert,
        venv=learner_env(seed),
        failure_demonstrations=failures,
        gen_kwargs={"n_steps": 128, "batch_size": 64},  # rounds of 512 env steps
        demo_batch_size=64,
        n_disc_updates_per_round=20,
        seed=seed,
        **kwargs,
    )


def run_rounds(trainer: ThirdPersonGAIL, rounds: int) -> list[dict[str, float]]:
    history = []
    for _ in range(rounds):
        trainer.train_generator()
        history.append(trainer.train_discriminator())
        trainer.round += 1
    return history


def test_domain_confusion_hides_the_domain_but_not_the_expert(
    expert: Demonstrations, failures: Demonstrations, tmp_path
) -> None:
    """12 rounds of 512 steps, 20 discriminator steps each (about 15 s per run on one thread).

    Measured (seed 0), means of the last 5 rounds: with domain confusion the domain
    accuracy is 0.53 and the discriminator's (expert against learner) 0.76; without it
    (plain image GAIL, the domain classifier a probe) 0.99 and 0.98.
    """
    logger = configure(str(tmp_path), ["csv"])
    confused = run_rounds(make(expert, failures, logger=logger), 12)[-5:]
    plain = run_rounds(make(expert, failures, domain_confusion=False), 12)[-5:]
    domain_on = np.mean([s["domain_accuracy"] for s in confused])
    disc_on = np.mean([s["disc_accuracy"] for s in confused])
    domain_off = np.mean([s["domain_accuracy"] for s in plain])
    assert domain_on <= 0.65, domain_on
    assert disc_on >= 0.7, disc_on
    assert domain_off >= 0.9, domain_off  # the features give the camera away
    assert domain_off - domain_on >= 0.3
    logged = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    for key in ("train/disc_loss", "train/disc_accuracy", "train/domain_accuracy"):
        assert key in logged


def test_domain_on_failures_compares_the_failures_of_both_domains(
    expert: Demonstrations, failures: Demonstrations
) -> None:
    own = random_episodes("first-person", 10, seed=2)
    trainer = make(expert, failures, own_failure_demonstrations=own)
    seen: list[np.ndarray] = []
    heads = FrameRewardNet.heads

    def spy(net: FrameRewardNet, x: torch.Tensor):
        seen.append(x.detach().numpy())
        return heads(net, x)

    FrameRewardNet.heads = spy  # type: ignore[method-assign]
    try:
        trainer.train_generator()
        stats = trainer.train_discriminator()
    finally:
        FrameRewardNet.heads = heads  # type: ignore[method-assign]
    assert 0.0 <= stats["domain_accuracy"] <= 1.0
    # each step scores its batch, then the domain classifier's: failures of both domains
    net = trainer.frame_net
    theirs = net.frame_features(*trainer.failure_frames).numpy()
    ours = net.frame_features(*trainer.own_failure_frames).numpy()
    domain_batch = seen[1]
    half = len(domain_batch) // 2
    assert half == 64 // 2
    rows = {row.tobytes() for row in theirs}
    assert all(row.tobytes() in rows for row in domain_batch[:half])
    rows = {row.tobytes() for row in ours}
    assert all(row.tobytes() in rows for row in domain_batch[half:])
    with pytest.raises(ValueError, match="give both"):
        ThirdPersonGAIL(demonstrations=expert, venv=learner_env(), own_failure_demonstrations=own)


def test_checkpoint_resume_restores_both_heads_and_the_optimizer(
    expert: Demonstrations, failures: Demonstrations, tmp_path
) -> None:
    trainer = make(expert, failures, seed=1)
    steps = trainer.gen_train_timesteps
    trainer.train(2 * steps, checkpoint_dir=tmp_path, checkpoint_every=1)
    resumed = make(expert, failures, seed=7)
    resumed.resume(tmp_path)
    assert resumed.round == 2 and resumed.gen_algo.num_timesteps == 2 * steps
    state, again = trainer.reward_net.state_dict(), resumed.reward_net.state_dict()
    assert any(k.startswith("network.domain_head") for k in state)
    for key, value in state.items():
        assert torch.equal(value, again[key]), key
    moments = [s["exp_avg_sq"] for s in trainer.disc_optimizer.state_dict()["state"].values()]
    restored = [s["exp_avg_sq"] for s in resumed.disc_optimizer.state_dict()["state"].values()]
    assert len(moments) == len(restored) > 0
    assert all(torch.equal(a, b) for a, b in zip(moments, restored, strict=True))
    resumed.train(3 * steps)
    assert resumed.round == 3
    with pytest.raises(ValueError, match="not of a GAIL"):
        GAIL(demonstrations=expert, venv=learner_env(), seed=0).resume(tmp_path)
    net = load_reward_net(trainer.save_reward_net(tmp_path / "reward.pt"))
    assert isinstance(net, FrameRewardNet)
    frames, next_frames = (f[:7] for f in trainer.expert_frames)
    np.testing.assert_allclose(
        net.predict_frames(frames, next_frames),
        trainer.frame_net.predict_frames(frames, next_frames),
        rtol=1e-5,
        atol=1e-6,
    )


def test_frame_pairs_are_the_pictures_before_and_after_each_step() -> None:
    venv = FramePairs(learner_env(n_envs=2))
    venv.reset()
    start = venv._current.copy()
    pairs, dones = [], []
    for _ in range(40):  # random actions: episodes end within a few dozen steps
        *_, done, _ = venv.step(np.stack([venv.action_space.sample() for _ in range(2)]))
        pairs.append((venv.frames.copy(), venv.next_frames.copy()))
        dones.append(done)
    assert np.array_equal(pairs[0][0], start)
    for t in range(1, 40):
        for i in range(2):
            if not dones[t - 1][i]:  # the step starts where the last one ended
                assert np.array_equal(pairs[t][0][i], pairs[t - 1][1][i])
            else:  # a new episode: the reset's frame, not the last one
                assert not np.array_equal(pairs[t][0][i], pairs[t - 1][1][i])
    assert np.any(dones)


def test_bad_inputs_are_refused_with_what_to_do(
    expert: Demonstrations, failures: Demonstrations
) -> None:
    episodes = [dataclasses.replace(ep, frames=None) for ep in expert.episodes]
    plain = Demonstrations(episodes, expert.observation_space, expert.action_space)
    with pytest.raises(ValueError, match="lhyrl demos --env ENV --frames third-person"):
        ThirdPersonGAIL(demonstrations=plain, venv=learner_env(), seed=0)
    with pytest.raises(ValueError, match="gives no info\\['frame'\\]"):
        ThirdPersonGAIL(demonstrations=expert, venv=make_vec_env(ENV, n_envs=2), seed=0).train(512)
    small = make_vec_env(
        ENV, n_envs=2, wrapper_class=partial(DomainFrames, view="first-person", size=16)
    )
    with pytest.raises(ValueError, match="render at the demonstrations' frame size"):
        ThirdPersonGAIL(demonstrations=expert, venv=small, seed=0).train(512)
    with pytest.raises(ValueError, match="failure_ratio"):
        make(expert, failures, failure_ratio=1.0)


def test_lhyrl_train_runs_third_person_gail_and_refuses_demos_without_frames(
    expert: Demonstrations, tmp_path
) -> None:
    from lhyrl.config import ConfigError, make_config
    from lhyrl.data import save_npz
    from lhyrl.runs import EVAL_FILE, train_run

    demos = save_npz(tmp_path / "expert.npz", expert)
    values = {
        "algo": "third-person-gail",
        "env": ENV,
        "demos": str(demos),
        "total_timesteps": 512,
        "n_envs": 2,
        "eval_episodes": 2,
        "failure_episodes": 3,
        "runs_dir": str(tmp_path / "runs"),
    }
    config = make_config(values)
    assert config.preset == "third-person-gail/InvertedPendulum-v5.yaml"
    run_dir = train_run(config)
    assert (run_dir / EVAL_FILE).is_file() and (run_dir / "reward_net.pt").is_file()
    episodes = [dataclasses.replace(ep, frames=None) for ep in expert.episodes]
    plain = save_npz(
        tmp_path / "plain.npz",
        Demonstrations(episodes, expert.observation_space, expert.action_space),
    )
    with pytest.raises(ConfigError, match="--frames third-person"):
        train_run(make_config({**values, "demos": str(plain)}))
    with pytest.raises(ConfigError, match="no third-person views"):
        train_run(make_config({**values, "env": "Hopper-v5"}))


def test_continue_horizon_fixes_the_length_of_learner_and_failure_episodes(
    expert: Demonstrations, tmp_path
) -> None:
    import csv

    from lhyrl.config import ConfigError, make_config
    from lhyrl.data import save_npz
    from lhyrl.runs import train_run
    from lhyrl.runs.imitation import record_failures

    failed = record_failures(ENV, "third-person", 16, 2, seed=0, continue_horizon=40)
    assert failed is not None
    assert [len(ep.acts) for ep in failed.episodes] == [40, 40]  # random: falls in ~10
    assert all(ep.frames is not None and len(ep.frames) == 41 for ep in failed.episodes)
    values = {
        "algo": "third-person-gail",
        "env": ENV,
        "demos": str(save_npz(tmp_path / "expert.npz", expert)),
        "total_timesteps": 512,
        "n_envs": 2,
        "gen_n_steps": 128,
        "eval_episodes": 2,
        "failure_episodes": 2,
        "continue_horizon": 40,
        "domain_on_failures": True,
        "runs_dir": str(tmp_path / "runs"),
    }
    run_dir = train_run(make_config(values))
    rows = list(csv.DictReader((run_dir / "progress.csv").open()))
    lengths = {float(r["rollout/ep_len_mean"]) for r in rows if r.get("rollout/ep_len_mean")}
    assert lengths == {40.0}
    with pytest.raises(ConfigError, match="domain_on_failures compares failures"):
        make_config({**values, "failure_episodes": 0})
