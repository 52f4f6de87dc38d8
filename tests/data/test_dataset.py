from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import minari
import numpy as np
import pytest

from lhyrl.data import (
    DatasetError,
    DatasetMismatchError,
    Demonstrations,
    Episode,
    load_demonstrations,
    save_demonstrations,
)
from lhyrl.data.dataset import spaces_equal


@pytest.fixture(params=["cartpole", "pendulum"])
def demos(request, cartpole_demos, pendulum_demos) -> Demonstrations:
    return {"cartpole": cartpole_demos, "pendulum": pendulum_demos}[request.param]


def test_minari_round_trip_preserves_arrays_flags_spaces_and_env_id(
    tmp_path, demos, episodes_equal
):
    path = save_demonstrations(tmp_path / "demos", demos, algorithm_name="test", author="me")
    assert path == tmp_path / "demos-v0"
    assert sorted(p.name for p in (path / "data").iterdir()) == ["main_data.hdf5", "metadata.json"]

    loaded = load_demonstrations(path)

    assert loaded.n_episodes == demos.n_episodes and loaded.n_steps == demos.n_steps
    assert all(episodes_equal(a, b) for a, b in zip(loaded.episodes, demos.episodes, strict=True))
    assert spaces_equal(loaded.observation_space, demos.observation_space)
    assert spaces_equal(loaded.action_space, demos.action_space)
    assert loaded.env_id == demos.env_id
    loaded.check_compatible(gym.make(demos.env_id))


def test_saved_dataset_is_a_minari_dataset_with_the_env_spec(tmp_path, cartpole_demos):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos, algorithm_name="lean")
    dataset = minari.MinariDataset(path / "data")
    assert dataset.total_episodes == cartpole_demos.n_episodes
    assert dataset.spec.env_spec is not None and dataset.spec.env_spec.id == "CartPole-v1"
    metadata = json.loads((path / "data" / "metadata.json").read_text())
    assert metadata["algorithm_name"] == "lean"
    assert "ref_max_score" not in metadata and "eval_env_spec" not in metadata


def test_unregistered_env_id_is_kept_without_an_env_spec(tmp_path, cartpole_demos):
    demos = Demonstrations(
        cartpole_demos.episodes,
        cartpole_demos.observation_space,
        cartpole_demos.action_space,
        env_id="nowhere/Unknown-v0",
    )
    path = save_demonstrations(tmp_path / "demos", demos)
    assert "env_spec" not in json.loads((path / "data" / "metadata.json").read_text())
    assert load_demonstrations(path).env_id == "nowhere/Unknown-v0"


def test_saving_builds_no_env_and_leaves_minari_root_alone(tmp_path, cartpole_demos, monkeypatch):
    def no_make(*args, **kwargs):
        raise AssertionError("save_demonstrations must not build an env")

    monkeypatch.setattr(gym, "make", no_make)
    root = tmp_path / "minari_root"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    save_demonstrations(tmp_path / "demos", cartpole_demos)
    assert os.environ["MINARI_DATASETS_PATH"] == str(root)
    assert not root.exists() or not any(root.iterdir())


def test_loading_accepts_the_data_folder_too(tmp_path, cartpole_demos):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)
    assert load_demonstrations(path / "data").n_steps == cartpole_demos.n_steps


def test_save_refuses_an_existing_path_unless_overwrite(tmp_path, cartpole_demos, pendulum_demos):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_demonstrations(path, pendulum_demos)
    save_demonstrations(path, pendulum_demos, overwrite=True)
    assert load_demonstrations(path).env_id == "Pendulum-v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demos-v0"]


def test_save_refuses_an_npz_path(tmp_path, cartpole_demos):
    with pytest.raises(ValueError, match="save_npz"):
        save_demonstrations(tmp_path / "demos.npz", cartpole_demos)


@pytest.mark.parametrize("fail_after_writing", [False, True])
def test_failed_save_leaves_nothing_at_path(
    tmp_path, cartpole_demos, monkeypatch, fail_after_writing
):
    real_create = minari.create_dataset_from_buffers

    def crashing_create(*args, **kwargs):
        if fail_after_writing:
            real_create(*args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(minari, "create_dataset_from_buffers", crashing_create)
    with pytest.raises(OSError, match="disk full"):
        save_demonstrations(tmp_path / "demos", cartpole_demos)
    assert list(tmp_path.iterdir()) == []  # no dataset and no temporary leftovers


def test_failed_overwrite_keeps_the_old_dataset(
    tmp_path, cartpole_demos, pendulum_demos, monkeypatch
):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)

    def crashing_create(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(minari, "create_dataset_from_buffers", crashing_create)
    with pytest.raises(OSError):
        save_demonstrations(path, pendulum_demos, overwrite=True)
    assert load_demonstrations(path).env_id == "CartPole-v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demos-v0"]


def test_truncated_hdf5_raises_dataset_error_naming_the_file(tmp_path, cartpole_demos):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)
    hdf5 = path / "data" / "main_data.hdf5"
    with open(hdf5, "r+b") as f:
        f.truncate(hdf5.stat().st_size // 2)
    with pytest.raises(DatasetError, match=r"main_data\.hdf5"):
        load_demonstrations(path)


def test_garbage_hdf5_raises_dataset_error_naming_the_file(tmp_path, cartpole_demos):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)
    (path / "data" / "main_data.hdf5").write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(DatasetError, match=r"main_data\.hdf5 is corrupted"):
        load_demonstrations(path)


@pytest.mark.parametrize(
    "metadata_text", ["{not json", "[1, 2]", '{"data_format": "hdf5", "observation_space": 3}']
)
def test_bad_metadata_raises_dataset_error_naming_the_file(tmp_path, cartpole_demos, metadata_text):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)
    (path / "data" / "metadata.json").write_text(metadata_text)
    with pytest.raises(DatasetError, match=r"metadata\.json"):
        load_demonstrations(path)


@pytest.mark.parametrize("missing", ["metadata.json", "main_data.hdf5"])
def test_missing_file_raises_dataset_error_naming_it(tmp_path, cartpole_demos, missing):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)
    (path / "data" / missing).unlink()
    with pytest.raises(DatasetError, match=f"{missing} is missing"):
        load_demonstrations(path)


def test_missing_path_raises_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_demonstrations(tmp_path / "nothing")


def test_episode_count_disagreeing_with_metadata_raises_dataset_error(tmp_path, cartpole_demos):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)
    metadata_file = path / "data" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    for total_episodes, error in ((2, "announces 2 episodes"), (4, "corrupted")):
        metadata["total_episodes"] = total_episodes
        metadata_file.write_text(json.dumps(metadata))
        with pytest.raises(DatasetError, match=error):
            load_demonstrations(path)


def test_mismatched_spaces_raise_an_error_naming_both_spaces(cartpole_demos):
    env = gym.make("Pendulum-v1")
    with pytest.raises(DatasetMismatchError) as excinfo:
        cartpole_demos.check_compatible(env)
    message = str(excinfo.value)
    for space in (
        cartpole_demos.observation_space,
        cartpole_demos.action_space,
        env.observation_space,
        env.action_space,
    ):
        assert str(space) in message
    assert "observation and action spaces differ" in message
    assert isinstance(excinfo.value, DatasetError)


def test_check_compatible_accepts_env_vector_env_and_space_pair(cartpole_demos):
    cartpole_demos.check_compatible(gym.make("CartPole-v1"))
    cartpole_demos.check_compatible(
        gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    )
    obs_space = gym.spaces.Box(
        cartpole_demos.observation_space.low.copy(), cartpole_demos.observation_space.high.copy()
    )  # equal, not identical
    cartpole_demos.check_compatible((obs_space, gym.spaces.Discrete(2)))
    with pytest.raises(TypeError):
        cartpole_demos.check_compatible("CartPole-v1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "action_space",
    [gym.spaces.Discrete(3), gym.spaces.Discrete(2, start=1)],
)
def test_check_compatible_notices_a_different_action_space(cartpole_demos, action_space):
    with pytest.raises(DatasetMismatchError, match="action space differs"):
        cartpole_demos.check_compatible((cartpole_demos.observation_space, action_space))


def test_check_compatible_notices_different_bounds_and_dtype(pendulum_demos):
    obs_space, act_space = pendulum_demos.observation_space, pendulum_demos.action_space
    wider = gym.spaces.Box(-3.0, 3.0, shape=(1,), dtype=np.float32)
    double = gym.spaces.Box(-2.0, 2.0, shape=(1,), dtype=np.float64)
    for other in (wider, double):
        with pytest.raises(DatasetMismatchError):
            pendulum_demos.check_compatible((obs_space, other))
    pendulum_demos.check_compatible((obs_space, gym.spaces.Box(-2.0, 2.0, shape=(1,))))
    assert spaces_equal(act_space, gym.spaces.Box(-2.0, 2.0, shape=(1,)))


def test_demonstrations_summaries_and_transitions(cartpole_demos):
    lengths = [len(ep) for ep in cartpole_demos.episodes]
    assert cartpole_demos.n_episodes == 3
    assert cartpole_demos.n_steps == sum(lengths)
    assert cartpole_demos.mean_return == pytest.approx(np.mean(lengths))
    transitions = cartpole_demos.transitions()
    assert len(transitions) == sum(lengths)
    assert transitions.dones.sum() == 3 and transitions.dones[-1]


def test_demonstrations_need_episodes(cartpole_demos):
    with pytest.raises(DatasetError, match="at least one episode"):
        Demonstrations([], cartpole_demos.observation_space, cartpole_demos.action_space)


def test_demonstrations_refuse_observations_of_the_wrong_shape(cartpole_demos):
    episode = Episode(
        obs=np.zeros((3, 5), np.float32),
        acts=np.zeros(2, np.int64),
        rewards=np.zeros(2, np.float32),
        terminated=True,
        truncated=False,
    )
    with pytest.raises(DatasetError, match=r"episode 0 has observations of shape \(5,\)"):
        Demonstrations([episode], cartpole_demos.observation_space, cartpole_demos.action_space)


def test_demonstrations_refuse_actions_of_the_wrong_shape(pendulum_demos):
    episode = pendulum_demos.episodes[0]
    flat = Episode(episode.obs, episode.acts[:, 0], episode.rewards, False, True)
    with pytest.raises(DatasetError, match="actions of shape"):
        Demonstrations([flat], pendulum_demos.observation_space, pendulum_demos.action_space)


def test_demonstrations_refuse_dict_spaces(cartpole_demos):
    dict_space = gym.spaces.Dict({"x": cartpole_demos.observation_space})
    with pytest.raises(DatasetError, match="unsupported observation space"):
        Demonstrations(cartpole_demos.episodes, dict_space, cartpole_demos.action_space)


def test_loaded_demonstrations_are_path_objects_agnostic(tmp_path, cartpole_demos):
    path = save_demonstrations(str(tmp_path / "demos"), cartpole_demos)
    assert isinstance(path, Path)
    assert load_demonstrations(str(path)).n_episodes == 3


def test_metadata_with_an_invalid_space_raises_dataset_error_naming_it(tmp_path, cartpole_demos):
    path = save_demonstrations(tmp_path / "demos", cartpole_demos)
    metadata_file = path / "data" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["action_space"] = json.dumps({"type": "Discrete", "n": "two"})
    metadata_file.write_text(json.dumps(metadata))
    with pytest.raises(DatasetError, match=r"metadata\.json holds no valid 'action_space'"):
        load_demonstrations(path)


def test_round_trip_through_a_relative_path(tmp_path, cartpole_demos, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_demonstrations("runs/demos/cartpole", cartpole_demos)
    loaded = load_demonstrations("runs/demos/cartpole")
    assert loaded.n_episodes == cartpole_demos.n_episodes
    assert not list((tmp_path / "runs" / "demos").glob(".*"))  # no temporary leftovers


def test_saved_datasets_list_and_load_with_minaris_own_tools(
    tmp_path, cartpole_demos, pendulum_demos, monkeypatch
):
    assert save_demonstrations(tmp_path / "cartpole", cartpole_demos) == tmp_path / "cartpole-v0"
    save_demonstrations(tmp_path / "pendulum-v3", pendulum_demos)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Minari warns about each misconfigured dataset
        listed = minari.list_local_datasets()
    assert sorted(listed) == ["cartpole-v0", "pendulum-v3"]
    for dataset_id, demos in (("cartpole-v0", cartpole_demos), ("pendulum-v3", pendulum_demos)):
        dataset = minari.load_dataset(dataset_id)
        assert dataset.spec.dataset_id == dataset_id
        assert dataset.total_episodes == demos.n_episodes
        assert dataset.total_steps == demos.n_steps
        assert spaces_equal(dataset.action_space, demos.action_space)

    listing = subprocess.run(
        [sys.executable, "-m", "minari.cli", "list", "local"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert "cartpole-v0" in listing.stdout and "pendulum-v3" in listing.stdout


def test_the_path_given_to_save_loads_too(tmp_path, cartpole_demos):
    save_demonstrations(tmp_path / "demos", cartpole_demos)
    assert load_demonstrations(tmp_path / "demos").n_steps == cartpole_demos.n_steps
    assert load_demonstrations(tmp_path / "demos-v0").n_steps == cartpole_demos.n_steps
    assert load_demonstrations(tmp_path / "demos-v0" / "data").n_steps == cartpole_demos.n_steps


@pytest.mark.parametrize("name", ["driving.v2", "my demos", "demos?"])
def test_save_refuses_a_name_that_cannot_be_a_minari_id(tmp_path, cartpole_demos, name):
    with pytest.raises(ValueError, match="cannot be a Minari dataset: its folder name"):
        save_demonstrations(tmp_path / name, cartpole_demos)
    assert list(tmp_path.iterdir()) == []


def test_an_unversioned_path_with_several_versions_is_refused(
    tmp_path, cartpole_demos, pendulum_demos
):
    save_demonstrations(tmp_path / "demos", cartpole_demos)
    save_demonstrations(tmp_path / "demos-v1", pendulum_demos)
    with pytest.raises(DatasetError, match="several versions of it do"):
        load_demonstrations(tmp_path / "demos")
    assert load_demonstrations(tmp_path / "demos-v1").env_id == "Pendulum-v1"


def test_an_unversioned_dataset_from_before_is_read_and_replaced_only_with_overwrite(
    tmp_path, cartpole_demos, pendulum_demos
):
    (save_demonstrations(tmp_path / "old-v0", cartpole_demos)).rename(tmp_path / "old")
    assert load_demonstrations(tmp_path / "old").env_id == "CartPole-v1"

    with pytest.raises(FileExistsError, match="would still read the old one"):
        save_demonstrations(tmp_path / "old", pendulum_demos)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]

    assert save_demonstrations(tmp_path / "old", pendulum_demos, overwrite=True).name == "old-v0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old-v0"]
    assert load_demonstrations(tmp_path / "old").env_id == "Pendulum-v1"


def test_an_unversioned_dataset_beside_a_versioned_one_is_ambiguous(tmp_path, cartpole_demos):
    save_demonstrations(tmp_path / "demos", cartpole_demos)
    save_demonstrations(tmp_path / "other", cartpole_demos).rename(tmp_path / "demos")
    with pytest.raises(DatasetError, match="is ambiguous"):
        load_demonstrations(tmp_path / "demos")
