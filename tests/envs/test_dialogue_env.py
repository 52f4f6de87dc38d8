from __future__ import annotations

import json
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from torch import Tensor, nn

import lhyrl  # noqa: F401  (registers lhyrl/Dialogue-v0)
from lhyrl.data.dialogue import DialogueData, TokenizedPair, build_dialogue_vocabulary, encode_pairs
from lhyrl.data.text import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocabulary, tokenize
from lhyrl.envs.dialogue import DialogueEnv, shipped_model_file
from lhyrl.nn import Seq2Seq, Seq2SeqConfig
from lhyrl.nn.chat_model import ChatModel

torch.set_num_threads(1)

# The simulated user's conversations: after "what ?" and "i don't know" it answers dully.
PAIRS = [
    ("how are you ?", "i am fine , thanks"),
    ("what ?", "i don't know"),
    ("huh ?", "i don't know what you are talking about"),
    ("i don't know", "you don't know"),
    ("you don't know", "i don't know"),
    ("i like pizza", "pizza is great"),
    ("pizza is great", "what is your name ?"),
    ("what is your name ?", "my name is bot"),
    ("the sky is blue", "yes it is"),
]
LENGTH = 12


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return build_dialogue_vocabulary(PAIRS, "english")  # <sep> is id 4


@pytest.fixture(scope="module")
def user(vocabulary: Vocabulary) -> ChatModel:
    """A tiny forward model fitted to PAIRS (a few seconds on one thread)."""
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(len(vocabulary), embedding_dim=16, hidden_dim=16))
    pairs = [TokenizedPair(tuple(tokenize(c)), tuple(tokenize(r))) for c, r in PAIRS]
    src, tgt = encode_pairs(pairs, vocabulary, source_len=LENGTH, target_len=LENGTH)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimizer.zero_grad()
        model.loss(src, tgt).backward()
        optimizer.step()
    return ChatModel(model.eval(), vocabulary, "english", LENGTH, LENGTH)


@pytest.fixture(scope="module")
def backward(vocabulary: Vocabulary) -> ChatModel:
    """An untrained reply -> context model: r3 only needs its log-likelihoods."""
    torch.manual_seed(1)
    model = Seq2Seq(Seq2SeqConfig(len(vocabulary), embedding_dim=8, hidden_dim=8))
    return ChatModel(model.eval(), vocabulary, "english", LENGTH, LENGTH)


@pytest.fixture
def make(user: ChatModel, backward: ChatModel):
    def make_env(**kwargs) -> DialogueEnv:
        if "discriminator" not in kwargs:
            kwargs.setdefault("backward_model", backward)
        return DialogueEnv(user_model=user, **kwargs)

    return make_env


def say(env: DialogueEnv, text: str, *, eos: bool = True):
    """Write a reply token by token; returns the last step's result."""
    ids = env.vocabulary.encode(tokenize(text, env.language)) + [EOS_ID] * eos
    for token in ids:
        result = env.step(np.int64(token))
    return result


class Judge(nn.Module):
    """A discriminator that finds longer dialogues more human; records what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.seen: list[Tensor] = []
        self.modes: list[bool] = []

    def prob_human(self, dialogue: Tensor) -> Tensor:
        self.seen.append(dialogue.clone())
        self.modes.append(self.training)
        return torch.sigmoid(self.scale * ((dialogue != PAD_ID).sum((1, 2)) - 6.0))  # (B,)


def test_passes_gymnasium_and_sb3_check_env(make, user, backward):
    env = gym.make("lhyrl/Dialogue-v0", user_model=user, backward_model=backward)
    check_env(env.unwrapped, skip_render_check=False)  # also made with each render mode
    sb3_check_env(make(), warn=True)
    check_env(make(discriminator=Judge(), history_turns=2, max_reply_len=5), skip_render_check=True)


@pytest.mark.parametrize("language", [None, "english", "chinese"])
def test_shipped_models_pass_both_check_envs_through_gym_make(language):
    assert shipped_model_file("forward", language or "english").is_file()
    env = gym.make("lhyrl/Dialogue-v0", language=language)
    unwrapped = env.unwrapped
    assert isinstance(unwrapped, DialogueEnv) and unwrapped.language == (language or "english")
    assert unwrapped.user_model.language == unwrapped.backward_model.language
    assert unwrapped.action_space.n == len(unwrapped.vocabulary)
    check_env(unwrapped, skip_render_check=False)
    sb3_check_env(gym.make("lhyrl/Dialogue-v0", language=language), warn=True)


def test_shipped_chinese_user_talks_in_characters():
    env = gym.make("lhyrl/Dialogue-v0", language="chinese", split="test").unwrapped
    _, info = env.reset(seed=0, options={"opening": "你好吗?"})
    assert info["user_text"] == "你好吗?"
    *_, info = say(env, "我很好,你呢?")
    assert math.isfinite(info["reward_total"]) and "我很好" in info["agent_text"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in info["user_text"])  # the user answers


def test_gym_make_passes_models_and_arguments(user, backward):
    env = gym.make("lhyrl/Dialogue-v0", user_model=user, backward_model=backward, max_turns=3)
    assert env.spec is not None and env.spec.id == "lhyrl/Dialogue-v0"
    assert env.unwrapped.user_model is user and env.unwrapped.max_turns == 3
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def rollout(env: DialogueEnv, seed: int, steps: int = 80) -> list[Any]:
    """Random tokens, ``<eos>`` one time in four, through resets."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    trace: list[Any] = [obs, info]
    for _ in range(steps):
        action = EOS_ID if rng.random() < 0.25 else rng.integers(env.vocab_size)
        obs, reward, terminated, truncated, info = env.step(np.int64(action))
        trace += [obs, reward, terminated, truncated, info]
        if terminated or truncated:
            trace += list(env.reset())
    return trace


@pytest.mark.parametrize("decoding", ["greedy", "sample"])
def test_same_seed_gives_the_same_dialogue(make, decoding):
    first = rollout(make(user_decoding=decoding, max_turns=3), seed=3)
    second = rollout(make(user_decoding=decoding, max_turns=3), seed=3)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        if isinstance(a, dict) and isinstance(next(iter(a.values())), np.ndarray):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
        else:
            assert a == b
    assert sum(isinstance(x, dict) and "agent_text" in x for x in first) >= 3
    openings = {make().reset(seed=seed)[1]["user_text"] for seed in range(5)}
    assert len(openings) > 1  # the seed draws the opening


def test_observation_holds_the_last_turns_and_the_reply(make, vocabulary):
    env = make(history_turns=3, max_reply_len=6)
    obs, info = env.reset(seed=0, options={"opening": "the sky is blue"})
    assert info == {"dialogue_turns": 1, "user_text": "the sky is blue"}
    opening = [*vocabulary.encode(tokenize("the sky is blue")), EOS_ID, PAD_ID]
    np.testing.assert_array_equal(obs["context"], [[0] * 6, [0] * 6, opening])
    np.testing.assert_array_equal(obs["reply"], [0] * 6)

    obs, reward, terminated, truncated, info = say(env, "how are you", eos=False)
    assert (reward, terminated, truncated, info) == (0.0, False, False, {"dialogue_turns": 1})
    np.testing.assert_array_equal(
        obs["reply"], [*vocabulary.encode(["how", "are", "you"]), 0, 0, 0]
    )

    obs, _, terminated, _, info = say(env, "?")
    assert (
        not terminated and info["user_text"] == "i am fine , thanks" and info["dialogue_turns"] == 3
    )
    question = [*vocabulary.encode(tokenize("how are you ?")), EOS_ID, PAD_ID]
    answer = [*vocabulary.encode(tokenize("i am fine , thanks")), EOS_ID]
    np.testing.assert_array_equal(obs["context"], [opening, question, answer])
    np.testing.assert_array_equal(obs["reply"], [0] * 6)
    assert env.observation_space.contains(obs)

    long = "what is your name ? what is your name ?"
    obs, _ = env.reset(seed=0, options={"opening": long})
    np.testing.assert_array_equal(obs["context"][-1], vocabulary.encode(tokenize(long))[:6])


def test_a_reply_of_max_reply_len_tokens_ends_the_turn(make):
    env = make(max_reply_len=3)
    env.reset(seed=0, options={"opening": "hello"})
    *_, info = say(env, "i like pizza", eos=False)
    assert info["agent_text"] == "i like pizza" and info["user_text"] == "pizza is great"


def test_dull_reply_ends_the_dialogue_and_is_less_easy_to_answer(make):
    env = make()
    env.reset(seed=0, options={"opening": "what ?"})
    _, _, terminated, truncated, dull = say(env, "i don't know")
    assert terminated and not truncated
    assert dull["end_reason"] == "dull" and dull["ended_by"] == "agent"
    assert dull["agent_text"] == "i don't know" and dull["user_text"] == ""
    env.reset(seed=0, options={"opening": "what ?"})
    _, _, terminated, _, lively = say(env, "i like pizza")
    assert not terminated and "end_reason" not in lively
    assert dull["ease_of_answering"] < lively["ease_of_answering"] - 1.0
    env.reset(seed=0, options={"opening": "what ?"})
    assert say(env, "i don't know .")[-1]["end_reason"] == "dull"  # trailing punctuation
    env.reset(seed=0, options={"opening": "what ?"})
    assert say(env, "")[-1]["end_reason"] == "dull"  # an empty reply


def test_the_users_dull_answer_ends_the_dialogue(make):
    env = make()
    env.reset(seed=0, options={"opening": "hello"})
    _, _, terminated, _, info = say(env, "what ?")
    assert info["user_text"] == "i don't know"
    assert terminated and info["end_reason"] == "dull" and info["ended_by"] == "user"


def test_repeating_an_earlier_turn_ends_the_dialogue(make):
    env = make()
    env.reset(seed=0, options={"opening": "i like pizza"})
    _, _, terminated, _, info = say(env, "i like pizza")  # the user's turn
    assert terminated and info["end_reason"] == "repeat" and info["ended_by"] == "agent"
    env.reset(seed=0, options={"opening": "the sky is blue"})
    assert not say(env, "how are you ?")[2]
    _, _, terminated, _, info = say(env, "how are you ?")  # its own earlier turn
    assert terminated and info["end_reason"] == "repeat" and info["dialogue_turns"] == 4
    with pytest.raises(RuntimeError, match="reset"):
        env.step(5)


def test_the_user_repeating_itself_ends_the_dialogue(make):
    env = make()
    env.reset(seed=0, options={"opening": "pizza is great"})  # the user will say it again
    _, _, terminated, _, info = say(env, "i like pizza")
    assert info["user_text"] == "pizza is great"
    assert terminated and info["end_reason"] == "repeat" and info["ended_by"] == "user"


def test_reward_terms_are_in_info_at_turn_ends_only(make):
    weights = (1.0, 2.0, 0.5)
    env = make(reward_weights=weights)
    env.reset(seed=0, options={"opening": "the sky is blue"})
    rewards, infos = [], []
    for text in ("how are you ?", "my name is bot"):
        for token in [*env.vocabulary.encode(tokenize(text)), EOS_ID]:
            _, reward, *_, info = env.step(token)
            rewards.append(reward)
            infos.append(info)
    ends = [i for i, info in enumerate(infos) if "reward_total" in info]
    assert ends == [4, 9]
    assert all(rewards[i] == 0.0 for i in range(len(rewards)) if i not in ends)
    for i in ends:
        info = infos[i]
        terms = (info["ease_of_answering"], info["information_flow"], info["semantic_coherence"])
        assert all(math.isfinite(t) for t in terms)
        assert rewards[i] == info["reward_total"]
        assert info["reward_total"] == pytest.approx(np.dot(weights, terms), rel=1e-5)
    assert infos[4]["information_flow"] == 0.0  # no earlier agent turn
    assert infos[9]["information_flow"] > 0.0


def test_forward_model_scores_the_reward_and_the_user_still_answers(make, user, backward):
    """Li et al.'s self-play: a fixed forward model scores; the user model only answers."""
    torch.manual_seed(2)
    scorer = ChatModel(
        Seq2Seq(Seq2SeqConfig(len(user.vocabulary), embedding_dim=8, hidden_dim=8)).eval(),
        user.vocabulary,
        "english",
        LENGTH,
        LENGTH,
    )
    scored = make(forward_model=scorer)
    assert scored.forward_model is scorer and make().forward_model is user
    infos = {}
    for name, env in (
        ("scorer forward", scored),
        ("user forward", make()),
        ("scorer user", DialogueEnv(user_model=scorer, backward_model=backward)),
    ):
        env.reset(seed=0, options={"opening": "the sky is blue"})
        infos[name] = say(env, "how are you ?")[-1]
    assert infos["scorer forward"]["user_text"] == infos["user forward"]["user_text"]
    for term in ("ease_of_answering", "semantic_coherence", "reward_total"):
        assert infos["scorer forward"][term] == pytest.approx(infos["scorer user"][term])
        assert infos["scorer forward"][term] != pytest.approx(infos["user forward"][term])


def test_max_turns_truncates(make):
    env = make(max_turns=2)
    env.reset(seed=0, options={"opening": "the sky is blue"})
    assert say(env, "how are you ?")[2:4] == (False, False)
    _, _, terminated, truncated, info = say(env, "i like pizza")
    assert truncated and not terminated
    assert info["end_reason"] == "max_turns" and info["user_text"] == ""


def test_discriminator_reward_is_its_probability_of_a_human_dialogue(make):
    judge = Judge().train()
    env = make(discriminator=judge)
    assert env.reward is None and env.backward_model is None
    env.reset(seed=0, options={"opening": "the sky is blue"})
    _, reward, _, _, info = say(env, "how are you ?")
    dialogue = judge.seen[-1]
    assert dialogue.shape == (1, 2, 5) and dialogue.dtype == torch.long
    assert dialogue[0, 1].tolist() == [*env.vocabulary.encode(tokenize("how are you ?")), EOS_ID]
    expected = torch.sigmoid(torch.tensor(0.5 * (10 - 6.0))).item()  # 10 tokens, eos included
    assert reward == info["prob_human"] == info["reward_total"] == pytest.approx(expected)
    assert "ease_of_answering" not in info
    assert judge.modes == [False] and judge.training  # evaluated in eval mode, mode restored
    say(env, "my name is bot")
    assert judge.seen[-1].shape[1] == 4  # the whole dialogue so far

    class Broken(nn.Module):
        def prob_human(self, dialogue: Tensor) -> Tensor:
            return torch.tensor([1.5])

    env = make(discriminator=Broken())
    env.reset(seed=0)
    with pytest.raises(ValueError, match="probability"):
        say(env, "hi")


@pytest.mark.parametrize(
    "action",
    [-1, 10_000, 2.0, np.float32(3.0), np.array([1.0, 2.0]), np.array([3]), True, "5", None],
)
def test_bad_actions_raise(make, action):
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="integer token id"):
        env.step(action)


def test_step_before_reset_raises(make):
    with pytest.raises(RuntimeError, match="reset"):
        make().step(5)


def test_pad_bos_and_separator_are_written_as_unknown(make):
    env = make()
    env.reset(seed=0)
    for token in (PAD_ID, BOS_ID, 4, np.array(7)):
        obs, *_ = env.step(token)
    assert obs["reply"][:4].tolist() == [UNK_ID, UNK_ID, UNK_ID, 7]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "dev"}, "split"),
        ({"history_turns": 0}, "history_turns"),
        ({"max_reply_len": -1}, "max_reply_len"),
        ({"max_turns": 1.5}, "max_turns"),
        ({"reward_weights": (1.0, 2.0)}, "reward_weights"),
        ({"reward_weights": (1.0, float("nan"), 0.0)}, "reward_weights"),
        ({"user_decoding": "top-k"}, "user_decoding"),
        ({"discriminator": object()}, "prob_human"),
        ({"discriminator": Judge(), "backward_model": "x.pt"}, "one or the other"),
        ({"discriminator": Judge(), "forward_model": "x.pt"}, "forward_model serves"),
        ({"render_mode": "rgb_array"}, "render_mode"),
        ({"dull_replies": []}, "dull_replies"),
        ({"dull_replies": "i don't know"}, "dull_replies"),
        ({"user_model": 42}, "user_model"),
        ({"language": "french"}, "language must be one of"),
        ({"language": "chinese"}, "user model's language is 'english'"),
    ],
)
def test_bad_arguments_raise(user, backward, kwargs, match):
    kwargs = {"user_model": user, "backward_model": backward, **kwargs}
    if "discriminator" in kwargs and kwargs["backward_model"] is backward:
        del kwargs["backward_model"]
    with pytest.raises(ValueError, match=match):
        DialogueEnv(**kwargs)


def test_model_files_and_vocabularies_are_checked(user, backward, tmp_path):
    with pytest.raises(FileNotFoundError, match="no chat model"):
        DialogueEnv(user_model=tmp_path / "missing.pt", discriminator=Judge())
    other = ChatModel(Seq2Seq(Seq2SeqConfig(7)), Vocabulary(["a", "b", "c"]), "english", 4, 4)
    with pytest.raises(ValueError, match="backward model's vocabulary"):
        DialogueEnv(user_model=user, backward_model=other)
    with pytest.raises(ValueError, match="forward model's vocabulary"):
        DialogueEnv(user_model=user, backward_model=backward, forward_model=other)
    path = user.save(tmp_path / "user.pt")
    env = DialogueEnv(user_model=str(path), discriminator=Judge())
    assert env.vocabulary == user.vocabulary


def test_openings_come_from_the_split(make, vocabulary):
    data = DialogueData.load("english", seed=0, context_turns=1)
    for split in ("train", "test"):
        env = make(split=split, max_reply_len=LENGTH)
        contexts = [pair.context for pair in getattr(data, split)]
        turns = {tuple(row) for row in vocabulary.encode_batch(contexts, LENGTH)}
        for seed in range(10):
            assert tuple(env.reset(seed=seed)[0]["context"][-1]) in turns


def test_openings_from_a_corpus_file_and_custom_dull_replies(make, tmp_path):
    path = tmp_path / "talk.jsonl"
    path.write_text("\n".join(json.dumps([c, r]) for c, r in PAIRS), encoding="utf-8")
    env = make(corpus=path, dull_replies=["i like pizza"])
    openings = {env.reset(seed=seed)[1]["user_text"] for seed in range(20)}
    assert openings and openings <= {c for c, _ in PAIRS}
    env.reset(seed=0, options={"opening": "hello"})
    assert say(env, "i like pizza ?")[-1]["end_reason"] == "dull"


def test_renders_the_dialogue(make, capsys):
    env = make(render_mode="ansi")
    env.reset(seed=0, options={"opening": "the sky is blue"})
    say(env, "how are you ?")
    say(env, "my name", eos=False)
    assert env.render() == (
        "user: the sky is blue\nagent: how are you ?\nuser: i am fine , thanks\n"
        "agent (writing): my name"
    )
    env = make(render_mode="human")
    env.reset(seed=0, options={"opening": "the sky is blue"})
    say(env, "how are you ?")
    assert capsys.readouterr().out == (
        "user: the sky is blue\nagent: how are you ?\nuser: i am fine , thanks\n"
    )
    assert env.render() is None


def test_score_reply_gives_the_terms_of_writing_it_and_changes_nothing(make):
    env = make()
    env.reset(seed=0, options={"opening": "the sky is blue"})
    say(env, "how are you ?")  # an earlier agent turn: information flow is scored too
    before = env._observe()
    ids = env.vocabulary.encode(tokenize("my name is bot"))
    scored = env.score_reply([*ids, EOS_ID, PAD_ID, PAD_ID])  # cut at <eos>
    assert scored == env.score_reply(ids)  # without <eos>: as if it followed
    other = env.score_reply(env.vocabulary.encode(tokenize("i don't know")))
    assert other["reward_total"] != scored["reward_total"]
    assert all(np.array_equal(v, before[k]) for k, v in env._observe().items())
    *_, info = say(env, "my name is bot")
    assert {k: info[k] for k in scored} == scored
    # A reply of L tokens or more ends at the L-th, as writing it would.
    short = make(max_reply_len=3)
    short.reset(seed=0, options={"opening": "hello"})
    long_ids = short.vocabulary.encode(tokenize("i like pizza very much"))
    scored = short.score_reply(long_ids)
    *_, info = say(short, "i like pizza", eos=False)
    assert {k: info[k] for k in scored} == scored


def test_score_reply_outside_a_fresh_agent_turn_raises(make):
    env = make()
    with pytest.raises(RuntimeError, match="reset"):
        env.score_reply([5])
    env.reset(seed=0, options={"opening": "hello"})
    env.step(np.int64(env.vocabulary.stoi["pizza"]))
    with pytest.raises(RuntimeError, match="already written"):
        env.score_reply([5])
    env.reset(seed=0, options={"opening": "hello"})
    with pytest.raises(ValueError, match="integer token id"):
        env.score_reply([1.5])
