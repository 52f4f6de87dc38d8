from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.logger import configure
from stable_baselines3.common.policies import ActorCriticPolicy

from lhyrl.agents import BC, CHECKPOINT_FILE, FORMAT_VERSION, DAgger, ImitationAgent
from lhyrl.data import Demonstrations


def _bc(demos: Demonstrations, **kwargs) -> BC:
    return BC(
        observation_space=demos.observation_space,
        action_space=demos.action_space,
        demonstrations=demos,
        batch_size=64,
        **kwargs,
    )


def _weights(agent: ImitationAgent) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in agent.policy.state_dict().items()}


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("demos_name", ["cartpole_demos", "pendulum_demos"])
def test_save_load_round_trip_gives_identical_predictions(demos_name, request, tmp_path) -> None:
    demos: Demonstrations = request.getfixturevalue(demos_name)
    bc = _bc(demos, policy_kwargs={"net_arch": [32, 16], "activation_fn": torch.nn.ReLU})
    bc.train(n_batches=20)
    path = bc.save(tmp_path / "bc.pt")
    assert not [p for p in tmp_path.iterdir() if p.name != "bc.pt"]  # no temp file left over

    loaded = BC.load(path, device="cpu")
    obs = demos.transitions().obs[:50]
    np.testing.assert_array_equal(loaded.predict(obs), bc.predict(obs))
    _assert_same_weights(_weights(loaded), _weights(bc))
    assert loaded.observation_space == bc.observation_space
    assert loaded.action_space == bc.action_space
    assert loaded.batch_size == 64 and loaded.ent_weight == bc.ent_weight
    assert loaded.policy.net_arch == [32, 16] and loaded.policy.activation_fn is torch.nn.ReLU


def test_save_load_round_trip_keeps_a_squashed_gsde_policy(pendulum_demos, tmp_path) -> None:
    bc = _bc(pendulum_demos, policy_kwargs={"use_sde": True, "squash_output": True})
    bc.train(n_batches=5)
    loaded = BC.load(bc.save(tmp_path / "bc.pt"))
    assert loaded.policy.use_sde and loaded.policy.squash_output
    obs = pendulum_demos.transitions().obs[:20]
    np.testing.assert_array_equal(loaded.predict(obs), bc.predict(obs))


def test_agent_file_holds_only_plain_data(cartpole_demos, tmp_path) -> None:
    path = _bc(cartpole_demos).save(tmp_path / "bc.pt")
    data = torch.load(path, weights_only=True)
    assert data["format_version"] == FORMAT_VERSION
    assert data["agent_class"] == "BC"
    assert data["observation_space"]["type"] == "Box"
    assert data["observation_space"]["shape"] == [4]
    assert data["action_space"] == {"type": "Discrete", "n": 2, "start": 0}
    assert all(isinstance(v, torch.Tensor) for v in data["policy_state_dict"].values())


def test_load_rejects_a_corrupted_file(cartpole_demos, tmp_path) -> None:
    path = _bc(cartpole_demos).save(tmp_path / "bc.pt")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a readable lhyrl agent file"):
        BC.load(path)
    path.write_bytes(b"not a torch file at all")
    with pytest.raises(ValueError, match="not a readable lhyrl agent file"):
        BC.load(path)


def test_load_rejects_a_file_without_agent_entries(tmp_path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="lacks the entries"):
        BC.load(path)


def test_load_rejects_another_agent_class(cartpole_demos, tmp_path) -> None:
    path = _bc(cartpole_demos).save(tmp_path / "bc.pt")
    data = torch.load(path, weights_only=True)
    data["agent_class"] = "GAIL"
    torch.save(data, path)
    with pytest.raises(ValueError, match="holds a GAIL agent, not a BC"):
        BC.load(path)


def test_load_rejects_another_format_version(cartpole_demos, tmp_path) -> None:
    path = _bc(cartpole_demos).save(tmp_path / "bc.pt")
    data = torch.load(path, weights_only=True)
    data["format_version"] = FORMAT_VERSION + 1
    torch.save(data, path)
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}.*newer"):
        BC.load(path)


def test_load_rejects_weights_that_do_not_fit(cartpole_demos, tmp_path) -> None:
    path = _bc(cartpole_demos).save(tmp_path / "bc.pt")
    data = torch.load(path, weights_only=True)
    data["policy_kwargs"]["net_arch"] = [7]
    torch.save(data, path)
    with pytest.raises(ValueError, match="do not fit the policy"):
        BC.load(path)


def test_dagger_files_load_as_bc(cartpole_demos, tmp_path) -> None:
    env = gym.make("CartPole-v1")
    bc = _bc(cartpole_demos)
    dagger = DAgger(env=env, expert=lambda obs: np.zeros(len(obs), np.int64), bc=bc)
    path = dagger.save(tmp_path / "dagger.pt")
    assert isinstance(BC.load(path), BC)
    with pytest.raises(TypeError, match=r"BC\.load"):
        DAgger.load(path)


def test_resumed_training_matches_uninterrupted_training(cartpole_demos, tmp_path) -> None:
    straight = _bc(cartpole_demos, seed=3)
    straight.train(n_epochs=4)

    interrupted = _bc(cartpole_demos, seed=3)
    interrupted.train(n_epochs=2, checkpoint_dir=tmp_path, checkpoint_every=1)
    assert (tmp_path / CHECKPOINT_FILE).is_file()

    resumed = _bc(cartpole_demos, seed=99)  # a fresh process: nothing carried over but files
    resumed.resume(tmp_path)
    resumed.train(n_epochs=4)
    _assert_same_weights(_weights(resumed), _weights(straight))
    assert resumed.num_updates == straight.num_updates


def test_resume_mid_epoch_matches_uninterrupted_training(cartpole_demos, tmp_path) -> None:
    batches_per_epoch = cartpole_demos.n_steps // 64
    total = 2 * batches_per_epoch + 5
    straight = _bc(cartpole_demos)
    straight.train(n_batches=total)

    interrupted = _bc(cartpole_demos)
    interrupted.train(n_batches=batches_per_epoch + 3, checkpoint_dir=tmp_path)
    resumed = _bc(cartpole_demos)
    resumed.resume(tmp_path)
    resumed.train(n_batches=total)
    _assert_same_weights(_weights(resumed), _weights(straight))


def test_resume_after_finishing_does_no_more_work(cartpole_demos, tmp_path) -> None:
    bc = _bc(cartpole_demos)
    bc.train(n_epochs=1, checkpoint_dir=tmp_path)
    again = _bc(cartpole_demos)
    again.resume(tmp_path)
    before = _weights(again)
    again.train(n_epochs=1)
    _assert_same_weights(_weights(again), before)


def test_resume_rejects_missing_or_foreign_checkpoints(cartpole_demos, tmp_path) -> None:
    bc = _bc(cartpole_demos)
    with pytest.raises(FileNotFoundError):
        bc.resume(tmp_path / "nothing-here")
    bc.save_checkpoint(tmp_path)
    data = torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)
    data["trainer_class"] = "DAgger"
    torch.save(data, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(ValueError, match="checkpoint of a DAgger trainer, not of a BC"):
        bc.resume(tmp_path)


def test_ppo_fine_tunes_the_bc_policy(cartpole_demos) -> None:
    env = gym.make("CartPole-v1")
    bc = _bc(cartpole_demos, policy_kwargs={"net_arch": [32, 32]})
    bc.train(n_batches=10)
    ppo = PPO(
        ActorCriticPolicy,
        env,
        policy_kwargs={"net_arch": [32, 32]},
        n_steps=64,
        batch_size=32,
        n_epochs=1,
        seed=0,
        device="cpu",
    )
    ppo.policy.load_state_dict(bc.policy.state_dict())
    obs = cartpole_demos.transitions().obs[:20]
    np.testing.assert_array_equal(ppo.predict(obs, deterministic=True)[0], bc.predict(obs))
    ppo.learn(total_timesteps=128)
    assert ppo.num_timesteps >= 128


def test_evaluate_logs_eval_keys(cartpole_demos, tmp_path) -> None:
    env = gym.make("CartPole-v1")
    logger = configure(str(tmp_path), ["csv"])
    bc = _bc(cartpole_demos, logger=logger)
    result = bc.evaluate(env, n_episodes=2, seed=0, random_return=20.0, expert_return=500.0)
    logger.close()
    header, row = (tmp_path / "progress.csv").read_text().splitlines()[:2]
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert float(values["eval/return"]) == pytest.approx(result.mean_return)
    assert {"eval/return_std", "eval/length", "eval/normalized_return"} <= values.keys()
    assert result.normalized_return == pytest.approx((result.mean_return - 20) / 480)


def test_policy_and_policy_kwargs_are_exclusive(cartpole_demos) -> None:
    bc = _bc(cartpole_demos)
    with pytest.raises(ValueError, match="not both"):
        BC(
            observation_space=bc.observation_space,
            action_space=bc.action_space,
            policy=bc.policy,
            policy_kwargs={"net_arch": [8]},
        )


def test_a_given_policy_must_match_the_spaces(cartpole_demos, pendulum_demos) -> None:
    bc = _bc(cartpole_demos)
    with pytest.raises(ValueError, match="observation space"):
        BC(
            observation_space=pendulum_demos.observation_space,
            action_space=bc.action_space,
            policy=bc.policy,
        )


def test_no_temp_files_left_after_checkpoints(cartpole_demos, tmp_path: Path) -> None:
    bc = _bc(cartpole_demos)
    bc.train(n_epochs=2, checkpoint_dir=tmp_path, checkpoint_every=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_FILE]
