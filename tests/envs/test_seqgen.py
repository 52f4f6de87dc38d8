import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import lhyrl  # noqa: F401  (registers the ids)
from lhyrl.envs.seqgen import SeqGenEnv
from lhyrl.envs.seqgen_core import per_sequence
from lhyrl.nn.oracle import load_oracle, random_oracle, save_oracle
from lhyrl.nn.recurrent import RecurrentConfig, SequenceGenerator

torch.set_num_threads(1)

SMALL = dict(vocab_size=50, length=6)


def make_vec(n: int, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(
        "lhyrl/SeqGen-v0", num_envs=n, vectorization_mode="vector_entry_point", **kwargs
    )


def test_passes_gymnasium_and_sb3_check_env(recwarn):
    check_env(gym.make("lhyrl/SeqGen-v0").unwrapped)
    sb3_check_env(gym.make("lhyrl/SeqGen-v0"), warn=True)
    assert not [w for w in recwarn if "lhyrl" in str(w.filename) or "check" in str(w.message)]


def test_defaults_follow_the_paper_and_observation_is_prefix_then_position():
    env = gym.make("lhyrl/SeqGen-v0")
    assert env.action_space == gym.spaces.Discrete(5000)
    assert env.observation_space.shape == (21,)
    oracle = env.unwrapped.oracle
    assert (oracle.config.vocab_size, oracle.config.embedding_dim) == (5000, 32)
    assert oracle.config.hidden_dim == 32
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [5000] * 20 + [0])
    obs, *_ = env.step(7)
    obs, *_ = env.step(0)
    np.testing.assert_array_equal(obs, [7, 0] + [5000] * 18 + [2])
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_return_is_the_oracle_log_likelihood_computed_step_by_step(cell):
    if cell == "lstm":
        env = SeqGenEnv(**SMALL, oracle_seed=3)
    else:  # any SequenceGenerator can score: here two GRU layers
        torch.manual_seed(0)
        config = RecurrentConfig(
            vocab_size=50, embedding_dim=8, hidden_dim=8, num_layers=2, cell=cell
        )
        env = SeqGenEnv(length=6, oracle=SequenceGenerator(config))
    sequences = env.oracle.sample(4, 6, start_token=0, generator=torch.Generator().manual_seed(0))
    expected = env.oracle.log_prob(sequences, start_token=0).detach().double().numpy()  # (4, 6)
    for sequence, log_probs in zip(sequences.numpy(), expected, strict=True):
        env.reset()
        for t, token in enumerate(sequence):
            obs, reward, terminated, truncated, info = env.step(token)
            assert reward == pytest.approx(log_probs[t], abs=1e-5)
            assert info["log_prob"] == reward
            assert terminated == (t == 5) and not truncated
        np.testing.assert_array_equal(obs[:6], sequence)


def test_same_seed_gives_same_trajectory_and_oracle_seed_changes_the_oracle():
    def rollout(seed: int, oracle_seed: int = 0) -> np.ndarray:
        env = gym.make("lhyrl/SeqGen-v0", **SMALL, oracle_seed=oracle_seed)
        env.action_space.seed(seed)
        trace = [env.reset(seed=seed)[0]]
        for _ in range(15):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace.append(np.append(obs, reward))
            if terminated or truncated:
                trace.append(env.reset()[0])
        return np.concatenate(trace)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.array_equal(rollout(3), rollout(4))
    assert not np.array_equal(rollout(3, oracle_seed=0), rollout(3, oracle_seed=1))


def test_vector_env_steps_like_single_envs_and_autoresets_next_step():
    n = 3
    venv = make_vec(n, **SMALL)
    single = gym.make("lhyrl/SeqGen-v0", **SMALL)
    obs, _ = venv.reset(seed=7)
    assert venv.observation_space.contains(obs) and obs.shape == (n, 7)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 50, size=(6, n))
    vec_rewards = []
    for a in actions:
        obs, rewards, terminated, truncated, info = venv.step(a)
        vec_rewards.append(rewards)
    assert terminated.all() and not truncated.any() and info["_log_prob"].all()
    for i in range(n):
        single.reset(seed=7 + i)
        for t, a in enumerate(actions[:, i]):
            o, r, *_ = single.step(a)
            assert r == pytest.approx(vec_rewards[t][i], abs=1e-5)
        np.testing.assert_array_equal(o, obs[i])
    obs, rewards, terminated, truncated, info = venv.step(np.zeros(n, dtype=np.int64))
    np.testing.assert_array_equal(obs, [[50] * 6 + [0]] * n)  # restarted, action ignored
    assert not rewards.any() and not terminated.any() and not info["_log_prob"].any()


def test_seqgan_oracle_name_loads_the_papers_shipped_oracle():
    env = gym.make("lhyrl/SeqGen-v0", oracle="seqgan")
    assert env.action_space == gym.spaces.Discrete(5000)
    oracle = env.unwrapped.oracle
    assert (oracle.config.vocab_size, oracle.config.hidden_dim) == (5000, 32)
    paper = load_oracle("seqgan")
    for (name, a), (_, b) in zip(
        oracle.state_dict().items(), paper.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    random_one = gym.make("lhyrl/SeqGen-v0").unwrapped.oracle
    assert not torch.equal(random_one.out.weight, oracle.out.weight)


def test_unknown_oracle_name_gets_an_error_listing_the_accepted_names():
    with pytest.raises(FileNotFoundError, match=r"names 'random', 'seqgan' .*'seqgn' is neither"):
        gym.make("lhyrl/SeqGen-v0", oracle="seqgn")
    with pytest.raises(ValueError, match="vocab_size=50 disagrees"):
        gym.make("lhyrl/SeqGen-v0", oracle="seqgan", vocab_size=50)


def test_paper_oracle_samples_score_about_5_75_nats_per_token():
    n = 256
    venv = make_vec(n, oracle="seqgan")
    oracle = venv.unwrapped.oracle
    samples = oracle.sample(n, 20, start_token=0, generator=torch.Generator().manual_seed(0))
    venv.reset(seed=0)
    returns = np.zeros(n)
    for t in range(20):
        _, rewards, terminated, _, _ = venv.step(samples[:, t].numpy())
        returns += rewards
    assert terminated.all()
    assert -returns.mean() / 20 == pytest.approx(5.75, abs=0.15)


def test_oracle_file_with_wrong_keys_or_shapes_gets_a_clear_error(tmp_path):
    good = save_oracle(tmp_path / "good.npz", random_oracle(20, 4, 4, seed=0))
    env = gym.make("lhyrl/SeqGen-v0", oracle=str(good))
    assert env.action_space == gym.spaces.Discrete(20)
    arrays = dict(np.load(good))
    renamed = {("lstm.weight_ih" if k == "lstm.weight_ih_l0" else k): v for k, v in arrays.items()}
    np.savez(tmp_path / "keys.npz", **renamed)
    with pytest.raises(ValueError, match=r"missing key 'lstm\.weight_ih_l0'"):
        gym.make("lhyrl/SeqGen-v0", oracle=str(tmp_path / "keys.npz"))
    np.savez(tmp_path / "shapes.npz", **{**arrays, "out.bias": np.zeros(19, np.float32)})
    with pytest.raises(ValueError, match=r"'out.bias' has shape \(19,\), expected \(20,\)"):
        gym.make("lhyrl/SeqGen-v0", oracle=str(tmp_path / "shapes.npz"))
    with pytest.raises(ValueError, match="disagrees"):
        gym.make("lhyrl/SeqGen-v0", oracle=str(good), vocab_size=5000)
    with pytest.raises(FileNotFoundError, match="neither"):
        gym.make("lhyrl/SeqGen-v0", oracle=str(tmp_path / "missing.npz"))


def test_sequence_reward_is_sparse_and_step_reward_is_dense():
    seen = []

    def count_zeros(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        seen.append((tokens.copy(), lengths.copy()))
        return (tokens == 0).sum(1).astype(float)

    env = SeqGenEnv(**SMALL, reward_fn=count_zeros)
    env.reset()
    rewards = [env.step(a)[1] for a in (0, 1, 0, 2, 0, 3)]
    assert rewards == [0.0] * 5 + [3.0]
    assert seen[0][0].shape == (1, 6) and seen[0][1].tolist() == [6]

    env = SeqGenEnv(**SMALL, step_reward_fn=per_sequence(lambda s: float(len(s))))
    env.reset()
    assert [env.step(1)[1] for _ in range(6)] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]

    env = SeqGenEnv(**SMALL, reward_fn=lambda t, n: np.ones(2))
    env.reset()
    for _ in range(5):
        env.step(1)
    with pytest.raises(ValueError, match="one value per sequence"):
        env.step(1)


def test_stepping_outside_an_episode_or_with_a_bad_action_is_refused():
    env = SeqGenEnv(**SMALL)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    with pytest.raises(ValueError, match="not in Discrete"):
        env.step(50)
    for _ in range(6):
        env.step(1)
    with pytest.raises(RuntimeError, match="ended"):
        env.step(1)


@pytest.mark.parametrize("action", ["left", None, 3.7, "3", True, np.array([2]), 10**30])
def test_an_action_that_is_no_token_id_gets_an_error_naming_the_action_space(action):
    env = gym.make("lhyrl/SeqGen-v0", **SMALL)
    env.reset(seed=0)
    expected = rf"action {re.escape(repr(action))} is not in Discrete\(50\): expected one "
    with pytest.raises(ValueError, match=expected + r"integer token id in 0 \.\. 49"):
        env.step(action)
    obs, *_ = env.step(np.int64(3))  # the refused action wrote nothing
    np.testing.assert_array_equal(obs, [3] + [50] * 5 + [1])


@pytest.mark.parametrize("actions", [["left", "x"], [None, None], [1.0, 2.0], [[1], [2]]])
def test_vector_actions_that_are_no_token_ids_get_an_error_naming_the_action_space(actions):
    venv = make_vec(2, **SMALL)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"MultiDiscrete\(\[50 50\]\): 2 integer token ids"):
        venv.step(actions)
    obs, *_ = venv.step([3, 4])
    np.testing.assert_array_equal(obs[:, [0, -1]], [[3, 1], [4, 1]])


def test_ansi_render_shows_the_tokens_so_far():
    env = gym.make("lhyrl/SeqGen-v0", **SMALL, render_mode="ansi")
    env.reset()
    env.step(4)
    env.step(2)
    assert env.render() == "4 2"


def test_sb3_ppo_trains_on_a_small_vocabulary():
    from stable_baselines3 import PPO

    model = PPO(
        "MlpPolicy", gym.make("lhyrl/SeqGen-v0", **SMALL), n_steps=64, batch_size=32, seed=0
    )
    model.learn(128)
    obs, _ = model.get_env().envs[0].reset(seed=0)
    assert gym.spaces.Discrete(50).contains(int(model.predict(obs)[0]))
