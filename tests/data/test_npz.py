from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from lhyrl.data import (
    DatasetError,
    Demonstrations,
    load_demonstrations,
    load_npz,
    save_npz,
)
from lhyrl.data.dataset import spaces_equal


def flat_arrays(lengths: list[int], *, obs_dim: int = 3) -> dict[str, np.ndarray]:
    """Per-step arrays for consecutive episodes whose observations chain up within each."""
    obs, next_obs, dones, starts = [], [], [], []
    for k, length in enumerate(lengths):
        trajectory = 100.0 * k + np.arange(length + 1, dtype=np.float64)[:, None]
        trajectory = np.repeat(trajectory, obs_dim, axis=1)  # (length + 1, obs_dim)
        obs.append(trajectory[:-1])
        next_obs.append(trajectory[1:])
        dones.append(np.arange(length) == length - 1)
        starts.append(np.arange(length) == 0)
    n = sum(lengths)
    return {
        "obs": np.concatenate(obs),
        "acts": np.arange(n) % 3,
        "next_obs": np.concatenate(next_obs),
        "dones": np.concatenate(dones),
        "episode_starts": np.concatenate(starts),
        "rewards": np.linspace(0.0, 1.0, n),
    }


def write(tmp_path, arrays: dict[str, np.ndarray], name: str = "demos.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def recorded_arrays(
    env_id: str, policy=None, *, n_episodes: int = 2, seed: int = 0, rewards_key: str = "rews"
) -> dict[str, np.ndarray]:
    """Flat arrays as a user records them with their own loop: no spaces, only ``env_id``.

    ``policy`` maps one observation to one action; None samples the action space.
    """
    env = gym.make(env_id, max_episode_steps=40)
    env.action_space.seed(seed)
    obs_, acts, next_obs, rews, dones = [], [], [], [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(n_episodes):
        done = False
        while not done:
            act = env.action_space.sample() if policy is None else policy(obs[None])[0]
            next_ob, reward, terminated, truncated, _ = env.step(act)
            done = terminated or truncated
            for record, value in zip(
                (obs_, acts, next_obs, rews, dones), (obs, act, next_ob, reward, done), strict=True
            ):
                record.append(value)
            obs = next_ob if not done else env.reset()[0]
    env.close()
    return {
        "obs": np.asarray(obs_),
        "acts": np.asarray(acts),
        "next_obs": np.asarray(next_obs),
        rewards_key: np.asarray(rews),
        "dones": np.asarray(dones),
        "env_id": np.array(env_id),
    }


@pytest.mark.parametrize("with_starts", [False, True])
def test_npz_is_split_into_episodes_at_dones(tmp_path, with_starts):
    arrays = flat_arrays([4, 2, 5])
    if not with_starts:
        del arrays["episode_starts"]
    demos = load_npz(write(tmp_path, arrays))

    assert [len(ep) for ep in demos.episodes] == [4, 2, 5]
    first, second, _ = demos.episodes
    np.testing.assert_array_equal(first.obs[:, 0], [0, 1, 2, 3, 4])  # obs + last next_obs
    np.testing.assert_array_equal(second.obs[:, 0], [100, 101, 102])
    np.testing.assert_array_equal(second.acts, arrays["acts"][4:6])
    np.testing.assert_array_equal(second.rewards, arrays["rewards"][4:6].astype(np.float32))
    assert all(ep.terminated and not ep.truncated for ep in demos.episodes)


def test_npz_infers_float32_box_observations_and_discrete_actions(tmp_path):
    demos = load_npz(write(tmp_path, flat_arrays([4, 2])))
    assert spaces_equal(demos.observation_space, spaces.Box(-np.inf, np.inf, shape=(3,)))
    assert spaces_equal(demos.action_space, spaces.Discrete(3))
    assert demos.episodes[0].obs.dtype == np.float32
    assert demos.episodes[0].acts.dtype == np.int64
    assert demos.env_id is None


def test_npz_infers_a_box_for_continuous_actions(tmp_path):
    arrays = flat_arrays([3])
    arrays["acts"] = np.ones((3, 2))
    demos = load_npz(write(tmp_path, arrays))
    assert spaces_equal(demos.action_space, spaces.Box(-np.inf, np.inf, shape=(2,)))
    assert demos.episodes[0].acts.dtype == np.float32


def test_npz_trailing_steps_without_done_are_kept_as_a_truncated_episode(tmp_path):
    arrays = flat_arrays([3, 4])
    arrays["dones"][-1] = False
    demos = load_npz(write(tmp_path, arrays))
    assert [len(ep) for ep in demos.episodes] == [3, 4]
    assert demos.episodes[-1].truncated and not demos.episodes[-1].terminated


def test_npz_without_rewards_gets_zero_rewards(tmp_path):
    arrays = flat_arrays([3])
    del arrays["rewards"]
    (episode,) = load_npz(write(tmp_path, arrays)).episodes
    np.testing.assert_array_equal(episode.rewards, np.zeros(3, np.float32))


def test_npz_episode_starts_disagreeing_with_dones_are_refused(tmp_path):
    arrays = flat_arrays([4, 2])
    arrays["episode_starts"][2] = True
    with pytest.raises(DatasetError, match="'episode_starts' disagrees with 'dones' at step 2"):
        load_npz(write(tmp_path, arrays))


def test_npz_with_a_missing_done_is_caught_where_observations_do_not_chain(tmp_path):
    arrays = flat_arrays([4, 2])
    del arrays["episode_starts"]
    arrays["dones"][3] = False
    with pytest.raises(DatasetError, match=r"next_obs\[3\] differs from obs\[4\]"):
        load_npz(write(tmp_path, arrays))


@pytest.mark.parametrize("key", ["obs", "acts", "next_obs", "dones"])
def test_npz_with_missing_key_names_it(tmp_path, key):
    arrays = flat_arrays([3, 2])
    del arrays[key]
    with pytest.raises(DatasetError, match=f"the required array '{key}' is missing"):
        load_npz(write(tmp_path, arrays))


@pytest.mark.parametrize(
    ("key", "bad"), [("obs", np.nan), ("next_obs", np.inf), ("acts", np.nan), ("rewards", -np.inf)]
)
def test_npz_with_nan_or_inf_names_the_key(tmp_path, key, bad):
    arrays = flat_arrays([3, 2])
    arrays[key] = arrays[key].astype(np.float64)
    arrays[key][1] = bad
    with pytest.raises(DatasetError, match=f"'{key}' holds NaN or infinite values"):
        load_npz(write(tmp_path, arrays))


@pytest.mark.parametrize("key", ["acts", "next_obs", "dones", "episode_starts", "rewards"])
def test_npz_with_wrong_length_names_the_key(tmp_path, key):
    arrays = flat_arrays([3, 2])
    arrays[key] = arrays[key][:-1]
    with pytest.raises(DatasetError, match=f"'{key}' holds 4 steps but 'obs' holds 5"):
        load_npz(write(tmp_path, arrays))


def test_npz_with_non_numeric_array_names_the_key(tmp_path):
    arrays = flat_arrays([3])
    arrays["acts"] = np.array(["left", "right", "left"])
    with pytest.raises(DatasetError, match="'acts' has dtype <U5; expected integers or floats"):
        load_npz(write(tmp_path, arrays))


def test_npz_with_non_boolean_dones_is_refused(tmp_path):
    arrays = flat_arrays([3])
    arrays["dones"] = np.array([0, 2, 1])
    with pytest.raises(DatasetError, match="'dones' must hold booleans"):
        load_npz(write(tmp_path, arrays))


def test_npz_with_object_array_is_refused_without_unpickling(tmp_path):
    arrays = flat_arrays([3])
    arrays["obs"] = np.array([None, {"x": 1}, 3], dtype=object)
    with pytest.raises(DatasetError, match="without unpickling"):
        load_npz(write(tmp_path, arrays))


def test_npz_with_no_steps_is_refused(tmp_path):
    arrays = {key: value[:0] for key, value in flat_arrays([3]).items()}
    with pytest.raises(DatasetError, match="no steps"):
        load_npz(write(tmp_path, arrays))


def test_file_that_is_not_an_npz_archive_raises_dataset_error(tmp_path):
    path = tmp_path / "demos.npz"
    path.write_bytes(b"garbage" * 20)
    with pytest.raises(DatasetError, match=r"not a readable \.npz archive"):
        load_demonstrations(path)
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(path)
    with pytest.raises(DatasetError, match=r"single \.npy array"):
        load_npz(path)


def test_missing_npz_raises_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_npz(tmp_path / "nothing.npz")


def test_npz_is_validated_against_given_spaces(tmp_path):
    path = write(tmp_path, flat_arrays([3, 2]))
    obs_space = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float64)
    demos = load_npz(path, observation_space=obs_space, action_space=spaces.Discrete(5))
    assert demos.observation_space is obs_space and demos.episodes[0].obs.dtype == np.float64
    with pytest.raises(DatasetError, match=r"'obs' has shape \(3,\) per step"):
        load_npz(path, observation_space=spaces.Box(-1, 1, shape=(4,)))
    with pytest.raises(DatasetError, match=r"'acts'\[2\] = 2 lies outside Discrete\(2\)"):
        load_npz(path, action_space=spaces.Discrete(2))


def test_save_npz_round_trip_is_exact(tmp_path, cartpole_demos, pendulum_demos, episodes_equal):
    for demos in (cartpole_demos, pendulum_demos):
        path = save_npz(tmp_path / f"{demos.env_id}.npz", demos)
        loaded = load_demonstrations(path)
        assert all(
            episodes_equal(a, b) for a, b in zip(loaded.episodes, demos.episodes, strict=True)
        )
        assert spaces_equal(loaded.observation_space, demos.observation_space)
        assert spaces_equal(loaded.action_space, demos.action_space)
        assert loaded.env_id == demos.env_id


def test_save_npz_keeps_end_flags_of_every_kind(tmp_path, pendulum_demos, episodes_equal):
    episodes = [
        type(ep)(ep.obs, ep.acts, ep.rewards, terminated=term, truncated=trunc)
        for ep, (term, trunc) in zip(
            pendulum_demos.episodes * 2,
            [(True, False), (False, True), (True, True), (False, False)],
            strict=True,
        )
    ]
    demos = Demonstrations(episodes, pendulum_demos.observation_space, pendulum_demos.action_space)
    loaded = load_npz(save_npz(tmp_path / "flags.npz", demos))
    assert [(ep.terminated, ep.truncated) for ep in loaded.episodes] == [
        (True, False),
        (False, True),
        (True, True),
        (False, False),
    ]


def test_save_npz_refuses_existing_file_and_wrong_suffix(tmp_path, cartpole_demos):
    path = save_npz(tmp_path / "demos.npz", cartpole_demos)
    with pytest.raises(FileExistsError):
        save_npz(path, cartpole_demos)
    save_npz(path, cartpole_demos, overwrite=True)
    with pytest.raises(ValueError, match=r"must end in \.npz"):
        save_npz(tmp_path / "demos.npy", cartpole_demos)


def test_failed_save_npz_leaves_nothing_at_path(tmp_path, cartpole_demos, monkeypatch):
    def crashing_savez(file, **arrays):
        file.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(OSError, match="disk full"):
        save_npz(tmp_path / "demos.npz", cartpole_demos)
    assert list(tmp_path.iterdir()) == []


def test_npz_with_an_invalid_stored_space_names_it(tmp_path):
    arrays = flat_arrays([3])
    arrays["observation_space"] = np.array('{"type": "Box", "shape": "wide"}')
    with pytest.raises(DatasetError, match="'observation_space' is not a valid serialized space"):
        load_npz(write(tmp_path, arrays))


@pytest.mark.parametrize("rewards_key", ["rews", "rewards"])
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "lhyrl/GridWorld-v0"])
def test_npz_naming_an_env_id_gets_that_envs_spaces(
    tmp_path, env_id, rewards_key, lean_policy, damping_policy
):
    policy = {"CartPole-v1": lean_policy, "Pendulum-v1": damping_policy}.get(env_id)
    arrays = recorded_arrays(env_id, policy, rewards_key=rewards_key)
    env = gym.make(env_id)

    demos = load_demonstrations(write(tmp_path, arrays))

    assert spaces_equal(demos.observation_space, env.observation_space)
    assert spaces_equal(demos.action_space, env.action_space)
    demos.check_compatible((env.observation_space, env.action_space))
    demos.check_compatible(env)
    assert demos.env_id == env_id and demos.n_episodes == 2
    rewards = np.concatenate([ep.rewards for ep in demos.episodes])
    np.testing.assert_array_equal(rewards, arrays[rewards_key].astype(np.float32))
    assert demos.episodes[0].obs.dtype == env.observation_space.dtype
    assert demos.episodes[0].acts.dtype == env.action_space.dtype


def test_npz_spaces_given_or_stored_win_over_the_env_id(tmp_path, lean_policy):
    arrays = recorded_arrays("CartPole-v1", lean_policy)
    wide = spaces.Box(-np.inf, np.inf, shape=(4,))
    demos = load_npz(write(tmp_path, arrays), observation_space=wide)
    assert demos.observation_space is wide
    assert spaces_equal(demos.action_space, spaces.Discrete(2))


@pytest.mark.parametrize(
    ("env_id", "key", "change", "message"),
    [
        (
            "CartPole-v1",
            "obs",
            lambda a: np.concatenate([a, a[:, :1]], axis=1),
            r"'obs' has shape \(5,\) per step \(dtype float32\) but Box\(.*\) \(the "
            r"observation space of CartPole-v1, the file's env_id\) has shape \(4,\)",
        ),
        (
            "Pendulum-v1",
            "acts",
            lambda a: a[:, 0],
            r"'acts' has shape \(\) per step \(dtype float32\) but Box\(-2.0, 2.0, \(1,\), "
            r"float32\) \(the action space of Pendulum-v1, the file's env_id\) has shape \(1,\)",
        ),
        (
            "CartPole-v1",
            "acts",
            lambda a: a + 0.5,
            r"'acts' holds numbers that are not whole \(dtype float64\) but Discrete\(2\) "
            r"\(the action space of CartPole-v1",
        ),
        (
            "CartPole-v1",
            "acts",
            lambda a: a + 1,
            r"'acts'\[\d+\] = 2 lies outside Discrete\(2\) \(the action space of CartPole-v1",
        ),
    ],
)
def test_npz_not_fitting_its_env_id_gets_a_clear_error(
    tmp_path, env_id, key, change, message, lean_policy, damping_policy
):
    policy = {"CartPole-v1": lean_policy, "Pendulum-v1": damping_policy}[env_id]
    arrays = recorded_arrays(env_id, policy)
    arrays[key] = change(arrays[key])
    if key == "obs":
        arrays["next_obs"] = change(arrays["next_obs"])
    path = write(tmp_path, arrays)
    with pytest.raises(DatasetError, match=message) as excinfo:
        load_demonstrations(path)
    assert str(path) in str(excinfo.value)


def test_npz_with_an_env_id_that_cannot_be_made_warns_and_infers_spaces(tmp_path):
    arrays = flat_arrays([3, 2])
    arrays["env_id"] = np.array("nowhere/Unknown-v0")
    with pytest.warns(UserWarning, match="cannot make the env 'nowhere/Unknown-v0'"):
        demos = load_npz(write(tmp_path, arrays))
    assert spaces_equal(demos.observation_space, spaces.Box(-np.inf, np.inf, shape=(3,)))
    assert demos.env_id == "nowhere/Unknown-v0"


def test_npz_with_a_bytes_env_id_reads_it(tmp_path, lean_policy):
    arrays = recorded_arrays("CartPole-v1", lean_policy)
    arrays["env_id"] = np.array([b"CartPole-v1"])
    demos = load_npz(write(tmp_path, arrays))
    assert demos.env_id == "CartPole-v1"
    demos.check_compatible(gym.make("CartPole-v1"))


def test_npz_with_an_env_id_that_is_not_one_string_is_refused(tmp_path):
    arrays = flat_arrays([3])
    arrays["env_id"] = np.array(["CartPole-v1", "Pendulum-v1"])
    with pytest.raises(DatasetError, match="'env_id' must hold one string"):
        load_npz(write(tmp_path, arrays))


def test_npz_with_both_rewards_and_rews_is_refused(tmp_path):
    arrays = flat_arrays([3])
    arrays["rews"] = arrays["rewards"]
    with pytest.raises(DatasetError, match="both 'rewards' and 'rews'"):
        load_npz(write(tmp_path, arrays))


def test_npz_with_wrong_length_rews_names_it(tmp_path):
    arrays = flat_arrays([3, 2])
    arrays["rews"] = arrays.pop("rewards")[:-1]
    with pytest.raises(DatasetError, match="'rews' holds 4 steps but 'obs' holds 5"):
        load_npz(write(tmp_path, arrays))


def test_npz_integer_box_refuses_values_that_would_wrap(tmp_path):
    arrays = flat_arrays([3])
    arrays["obs"][1] = 300.0
    arrays["next_obs"][0] = 300.0
    image_like = spaces.Box(0, 255, shape=(3,), dtype=np.uint8)
    with pytest.raises(DatasetError, match=r"'obs'\[1\] = \[300. 300. 300.\] lies outside Box"):
        load_npz(write(tmp_path, arrays), observation_space=image_like)
