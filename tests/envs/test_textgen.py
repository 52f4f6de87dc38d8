import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import lhyrl  # noqa: F401  (registers the ids)
from lhyrl.data.text import BOS_ID, EOS_ID, PAD_ID, UNK_ID, TextCorpus
from lhyrl.envs.textgen import TextGenEnv, bleu_reward

TINY = TextCorpus.from_sentences(["the cat sat .", "the dog ran .", "a cat ran ."])


def make_vec(n: int, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(
        "lhyrl/TextGen-v0", num_envs=n, vectorization_mode="vector_entry_point", **kwargs
    )


@pytest.mark.parametrize("corpus", ["english", "chinese"])
def test_passes_gymnasium_and_sb3_check_env(corpus, recwarn):
    check_env(gym.make("lhyrl/TextGen-v0", corpus=corpus).unwrapped)
    sb3_check_env(gym.make("lhyrl/TextGen-v0", corpus=corpus), warn=True)
    assert not [w for w in recwarn if "lhyrl" in str(w.filename) or "check" in str(w.message)]


def test_writing_a_corpus_sentence_returns_its_bigram_log_likelihood():
    env = gym.make("lhyrl/TextGen-v0", render_mode="ansi")
    u = env.unwrapped
    assert env.action_space == gym.spaces.Discrete(len(u.vocabulary))
    assert env.observation_space.shape == (21,)
    sentence = next(s for s in u.corpus.sentences if 3 <= len(s) < 20)
    ids = u.vocabulary.encode(sentence)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [PAD_ID] * 20 + [0])
    total = 0.0
    for token in [*ids, EOS_ID]:
        obs, reward, terminated, truncated, info = env.step(token)
        total += reward
        assert info["log_prob"] == reward < 0
    assert terminated and not truncated
    np.testing.assert_array_equal(obs[: len(ids) + 1], [*ids, EOS_ID])
    assert obs[-1] == len(ids) + 1 and (obs[len(ids) + 1 : 20] == PAD_ID).all()
    assert total == pytest.approx(u.bigram.sentence_log_prob(ids))
    assert env.render() == " ".join(sentence)


def test_episode_ends_at_max_length_without_eos_and_specials_become_unk():
    env = TextGenEnv(TINY, max_length=3)
    env.reset()
    cat = env.vocabulary.stoi["cat"]
    obs, _, terminated, _, _ = env.step(PAD_ID)
    assert obs[0] == UNK_ID and not terminated
    obs, _, terminated, _, _ = env.step(BOS_ID)
    obs, _, terminated, truncated, _ = env.step(cat)
    np.testing.assert_array_equal(obs, [UNK_ID, UNK_ID, cat, 3])
    assert terminated and not truncated


@pytest.mark.parametrize("action", ["left", None, 2.0, True])
def test_an_action_that_is_no_token_id_gets_an_error_naming_the_action_space(action):
    env = gym.make("lhyrl/TextGen-v0", corpus=TINY)
    env.reset(seed=0)
    n = len(TINY.vocabulary)
    with pytest.raises(ValueError, match=rf"is not in Discrete\({n}\): expected one integer"):
        env.step(action)


def test_same_seed_gives_same_trajectory():
    def rollout(seed: int) -> np.ndarray:
        env = gym.make("lhyrl/TextGen-v0", corpus=TINY)
        env.action_space.seed(seed)
        trace = [env.reset(seed=seed)[0]]
        for _ in range(40):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace.append(np.append(obs, reward))
            if terminated or truncated:
                trace.append(env.reset()[0])
        return np.concatenate(trace)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.array_equal(rollout(3), rollout(4))


def test_vector_env_steps_like_single_envs_with_episodes_ending_apart():
    n, steps = 4, 30
    venv = make_vec(n, corpus=TINY, max_length=5)
    obs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)
    rng = np.random.default_rng(1)
    actions = rng.integers(0, len(TINY.vocabulary), size=(steps, n))
    actions[rng.random((steps, n)) < 0.3] = EOS_ID
    singles = [TextGenEnv(TINY, max_length=5) for _ in range(n)]
    for env in singles:
        env.reset()
    restart = np.zeros(n, dtype=bool)
    ended_at = set()
    for a in actions:
        obs, rewards, terminated, truncated, info = venv.step(a)
        assert venv.observation_space.contains(obs) and not truncated.any()
        for i, env in enumerate(singles):
            if restart[i]:
                o, r = env.reset()[0], 0.0
                assert not info["_log_prob"][i]
            else:
                o, r, te, _, _ = env.step(a[i])
                assert te == terminated[i]
            np.testing.assert_array_equal(o, obs[i])
            assert r == pytest.approx(rewards[i])
        ended_at.add(tuple(terminated))
        restart = terminated
    assert len(ended_at) > 2  # the sub-envs did not end in lockstep


def test_user_text_file_and_chinese_corpus(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("我爱猫。\n猫爱鱼。\n", encoding="utf-8")
    env = gym.make("lhyrl/TextGen-v0", corpus=str(path), language="chinese", max_length=6)
    assert set(env.unwrapped.vocabulary.itos[4:]) == set("我爱猫鱼。")
    env = gym.make("lhyrl/TextGen-v0", corpus="chinese", render_mode="ansi")
    vocab = env.unwrapped.vocabulary
    env.reset()
    for char in "你好":
        env.step(vocab.stoi[char])
    assert env.render() == "你好"


def test_empty_or_missing_corpus_gets_a_clear_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="corpus is empty"):
        gym.make("lhyrl/TextGen-v0", corpus=str(path))
    with pytest.raises(FileNotFoundError, match="neither"):
        gym.make("lhyrl/TextGen-v0", corpus=str(tmp_path / "nope.txt"))


def test_sentence_reward_sees_the_finished_sentence_with_eos():
    def ends_with_period(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        period = TINY.vocabulary.stoi["."]
        rows = np.arange(len(lengths))
        return (tokens[rows, lengths - 2] == period).astype(float)

    env = TextGenEnv(TINY, reward_fn=ends_with_period)
    env.reset()
    ids = TINY.vocabulary.encode(["a", "cat", "."])
    rewards = [env.step(token)[1] for token in [*ids, EOS_ID]]
    assert rewards == [0.0, 0.0, 0.0, 1.0]


def test_bleu_reward_is_one_for_a_corpus_sentence_and_lower_for_a_shuffled_one():
    references = [TINY.vocabulary.encode(s) for s in TINY.sentences]
    env = TextGenEnv(TINY, reward_fn=bleu_reward(references, n=2))
    returns = []
    for sentence in (["the", "cat", "ran", "."], [".", "cat", "the", "ran"]):
        env.reset()
        rewards = [env.step(token)[1] for token in [*TINY.vocabulary.encode(sentence), EOS_ID]]
        assert rewards[:-1] == [0.0] * 4
        returns.append(rewards[-1])
    assert returns[0] == pytest.approx(1.0) and returns[1] < 0.5
    with pytest.raises(ValueError, match="at least one reference"):
        bleu_reward([])
