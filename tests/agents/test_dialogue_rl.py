"""Li et al. (2016) policy gradient against ``lhyrl/Dialogue-v0`` with tiny models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from dialogue_corpus import LENGTH, PAIRS, tiny_chat_model
from gymnasium import spaces
from log_recorder import Recorder
from stable_baselines3.common.logger import Logger
from torch import Tensor, nn

from lhyrl.agents import DialoguePG
from lhyrl.agents.dialogue import simulate
from lhyrl.agents.dialogue.rl import _returns, sources_from_contexts
from lhyrl.data.dialogue import (
    TokenizedPair,
    build_dialogue_vocabulary,
    encode_pairs,
)
from lhyrl.data.text import EOS_ID, PAD_ID, UNK_ID, Vocabulary, tokenize
from lhyrl.envs.dialogue import DialogueEnv
from lhyrl.nn import Seq2Seq, Seq2SeqConfig
from lhyrl.nn.chat_model import ChatModel

torch.set_num_threads(1)

N_ENVS = 8


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return build_dialogue_vocabulary(PAIRS, "english")  # <sep> is id 4


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Conversations the env opens with (each pair once, then again with a twist)."""
    path = tmp_path_factory.mktemp("dialogue") / "corpus.jsonl"
    lines = [json.dumps([c, r]) for c, r in PAIRS] + [json.dumps([r, c]) for c, r in PAIRS]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def user(vocabulary: Vocabulary) -> ChatModel:
    """An untrained simulated user: its answers only need to exist."""
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(len(vocabulary), embedding_dim=8, hidden_dim=8))
    return ChatModel(model.eval(), vocabulary, "english", LENGTH, LENGTH)


class TokenJudge(nn.Module):
    """A fixed 'discriminator': a dialogue is human iff its last turn holds ``token``."""

    def __init__(self, token: int) -> None:
        super().__init__()
        self.token = token

    def prob_human(self, dialogue: Tensor) -> Tensor:
        return (dialogue[:, -1] == self.token).any(-1).float()  # (B,)


@pytest.fixture(scope="module")
def make_env(vocabulary: Vocabulary, user: ChatModel, corpus: Path):
    judge = TokenJudge(vocabulary.stoi["pizza"])

    def make() -> DialogueEnv:
        return DialogueEnv(
            user_model=user,
            discriminator=judge,
            corpus=corpus,
            history_turns=2,
            max_reply_len=LENGTH,
            max_turns=3,
        )

    return make


def agent(vocabulary: Vocabulary, *, dropout: float = 0.0) -> ChatModel:
    """The policy of these tests: a tiny chat model reading two turns of context."""
    return tiny_chat_model(vocabulary, context_turns=2, dropout=dropout)


def test_sources_from_contexts_match_the_chat_model_encoding(vocabulary: Vocabulary):
    chat = agent(vocabulary)  # context_turns=2

    def row(text: str, *, eos: bool = True) -> list[int]:
        ids = [*vocabulary.encode(tokenize(text)), *([EOS_ID] if eos else [])][:LENGTH]
        return ids + [PAD_ID] * (LENGTH - len(ids))

    contexts = np.array(
        [
            [[PAD_ID] * LENGTH, row("how are you ?"), row("i like pizza")],
            [row("what ?"), row("pizza is great"), row("my name is bot")],
            [[PAD_ID] * LENGTH, [PAD_ID] * LENGTH, [EOS_ID] + [PAD_ID] * (LENGTH - 1)],
            [[PAD_ID] * LENGTH, row("what ?"), row("i am fine , thanks i am at", eos=False)],
        ]
    )  # (4, K=3, L)
    expected = chat.encode_contexts(
        [
            ["how are you ?", "i like pizza"],
            ["pizza is great", "my name is bot"],  # only the last two turns
            [],  # nothing said: <unk>
            ["what ?", "i am fine , thanks i am at"],  # a full row without <eos>
        ]
    )
    assert torch.equal(sources_from_contexts(contexts, chat), expected)
    assert sources_from_contexts(contexts, chat)[2, 0] == UNK_ID


def test_reward_to_go_is_discounted_over_the_agents_turns():
    assert _returns([1.0, 2.0, 3.0], 0.5) == [2.75, 3.5, 3.0]
    assert _returns([1.0, 2.0], 1.0) == [3.0, 2.0]


def test_dialogue_pg_raises_the_reward_of_a_pizza_loving_judge(vocabulary, make_env):
    chat = agent(vocabulary)
    before = simulate(chat, [make_env] * N_ENVS, 32, decoding="sample", seed=1)
    recorder = Recorder()
    trainer = DialoguePG(
        chat_model=chat,
        envs=[make_env] * N_ENVS,
        learning_rate=1e-2,
        seed=0,
        logger=Logger(folder=None, output_formats=[recorder]),
    )
    trainer.train(15, sample_every=5)
    after = trainer.simulate(32, decoding="sample", seed=1)
    # The untrained policy says "pizza" in about a quarter of its turns; trained, nearly all.
    assert before["reward_total"] < 0.4
    assert after["reward_total"] > before["reward_total"] + 0.4, (before, after)
    assert trainer.num_iterations == 15 and trainer.num_dialogues == 15 * N_ENVS
    logged = {key for dump in recorder.dumps for key in dump}
    for key in (
        "rollout/reward_total",
        "rollout/prob_human",
        "rollout/dialogue_turns",
        "train/loss",
        "train/baseline",
        "samples/dialogues",
    ):
        assert key in logged, key
    assert recorder.dumps[-1]["rollout/reward_total"] > 0.6
    text = next(d["samples/dialogues"] for d in recorder.dumps if "samples/dialogues" in d)
    assert text.startswith("user: ") and "\nagent: " in text


def test_resume_equals_uninterrupted_training_bit_for_bit(vocabulary, make_env, tmp_path):
    pairs = [TokenizedPair(tuple(tokenize(c)), tuple(tokenize(r))) for c, r in PAIRS]
    mle_data = encode_pairs(pairs, vocabulary, source_len=LENGTH, target_len=LENGTH)

    def trainer() -> DialoguePG:
        return DialoguePG(
            chat_model=agent(vocabulary, dropout=0.1),
            envs=[make_env] * 4,
            gamma=0.9,
            mle_weight=0.5,
            entropy_coef=0.01,
            learning_rate=1e-2,
            batch_size=4,
            seed=3,
        )

    whole = trainer()
    whole.train(4, mle_data=mle_data, checkpoint_dir=tmp_path / "whole", checkpoint_every=2)
    first = trainer()
    first.train(2, mle_data=mle_data, checkpoint_dir=tmp_path / "part")
    resumed = trainer()
    resumed.resume(tmp_path / "part")
    resumed.train(4, mle_data=mle_data, checkpoint_dir=tmp_path / "part")

    assert resumed.num_updates == whole.num_updates == 4
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert torch.equal(whole.generator.get_state(), resumed.generator.get_state())
    assert torch.equal(whole._baseline_values, resumed._baseline_values)
    assert len(whole._baseline_values) >= 1
    saved = [
        torch.load(tmp_path / d / "checkpoint.pt", weights_only=True) for d in ("whole", "part")
    ]
    assert saved[0]["progress"] == saved[1]["progress"] == {"iteration": 4}
    for a, b in zip(
        saved[0]["state"]["optimizer"]["state"].values(),
        saved[1]["state"]["optimizer"]["state"].values(),
        strict=True,
    ):
        assert torch.equal(a["exp_avg"], b["exp_avg"])
    changed = trainer()  # other settings: refused
    changed.gamma = 0.5
    with pytest.raises(ValueError, match="gamma"):
        changed.resume(tmp_path / "part")


def test_simulate_measures_dialogues_reproducibly(vocabulary, make_env):
    chat = agent(vocabulary)
    a = simulate(chat, [make_env] * 3, 5, decoding="greedy", seed=7)
    b = simulate(chat, [make_env] * 3, 5, decoding="greedy", seed=7)
    assert a == b
    assert a["n_dialogues"] == len(a["transcripts"]) == 5
    assert 0.0 <= a["distinct_1"] <= 1.0 and 0.0 <= a["distinct_2"] <= 1.0
    assert 1.0 <= a["dialogue_length"] <= a["dialogue_turns"]
    assert set(a["reward_terms"]) == {"prob_human", "reward_total"}
    assert sum(a["end_reasons"].values()) == 5
    assert all(t[0][0] == "user" and t[1][0] == "agent" for t in a["transcripts"])
    beam = simulate(chat, [make_env] * 3, 3, decoding="beam", seed=7)
    assert beam["n_dialogues"] == 3


class SpacesEnv(gym.Env[Any, Any]):
    """An env that only has spaces."""

    def __init__(self, observation_space: spaces.Space[Any], action_space: spaces.Space[Any]):
        self.observation_space = observation_space
        self.action_space = action_space


def dialogue_spaces(k: int, length: int, reply: int | None = None) -> spaces.Dict:
    return spaces.Dict(
        {
            "context": spaces.Box(0, 10, (k, length), dtype=np.int64),
            "reply": spaces.Box(0, 10, (reply or length,), dtype=np.int64),
        }
    )


class EchoEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """A bare env with the Dialogue-v0 spaces: 1 per turn that repeats the opening's first
    token, two agent turns, no ``info``."""

    def __init__(self, vocab_size: int) -> None:
        self.observation_space = dialogue_spaces(1, LENGTH)
        self.action_space = spaces.Discrete(vocab_size)
        self._opening = np.zeros((1, LENGTH), dtype=np.int64)
        self._reply: list[int] = []
        self._turns = 0

    def _obs(self) -> dict[str, np.ndarray]:
        reply = np.zeros(LENGTH, dtype=np.int64)
        reply[: len(self._reply)] = self._reply
        return {"context": self._opening.copy(), "reply": reply}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._opening[0, :2] = [int(self.np_random.integers(5, self.action_space.n)), EOS_ID]
        self._reply, self._turns = [], 0
        return self._obs(), {}

    def step(self, action: np.int64):
        if int(action) != EOS_ID:
            self._reply.append(int(action))
        if int(action) != EOS_ID and len(self._reply) < LENGTH:
            return self._obs(), 0.0, False, False, {}
        reward = float(int(self._opening[0, 0]) in self._reply)
        self._reply, self._turns = [], self._turns + 1
        return self._obs(), reward, False, self._turns == 2, {}


def test_any_env_with_the_dialogue_spaces_will_do(vocabulary):
    result = simulate(agent(vocabulary), [lambda: EchoEnv(len(vocabulary))] * 2, 4, seed=0)
    assert result["agent_turns"] == 2.0 and result["dialogue_turns"] == 4.0
    assert result["end_reasons"] == {"None": 4} and result["reward_terms"] == {}
    assert all(len(t) == 4 for t in result["transcripts"])  # user, agent, user, agent


def test_mismatched_spaces_are_refused_with_clear_errors(vocabulary, make_env):
    vocab = len(vocabulary)
    cases = [
        (SpacesEnv(dialogue_spaces(2, 8), spaces.Discrete(vocab + 1)), f"Discrete\\({vocab}\\)"),
        (SpacesEnv(spaces.Box(0, 1, (8,), dtype=np.int64), spaces.Discrete(vocab)), "a Dict"),
        (SpacesEnv(dialogue_spaces(2, 8, reply=6), spaces.Discrete(vocab)), "same length"),
        (
            SpacesEnv(
                spaces.Dict({"context": spaces.Box(0, 1, (2, 8)), "reply": spaces.Box(0, 1, (8,))}),
                spaces.Discrete(vocab),
            ),
            "int64",
        ),
    ]
    for env, message in cases:
        with pytest.raises(ValueError, match=message):
            DialoguePG(chat_model=agent(vocabulary), envs=[env])
    mixed = [make_env(), SpacesEnv(dialogue_spaces(3, LENGTH), spaces.Discrete(vocab))]
    with pytest.raises(ValueError, match="spaces differ"):
        DialoguePG(chat_model=agent(vocabulary), envs=mixed)


def test_self_critical_baseline_is_the_greedy_replys_reward(vocabulary, make_env):
    chat = agent(vocabulary)
    trainer = DialoguePG(chat_model=chat, envs=[make_env] * N_ENVS, gamma=0.0, baseline="greedy")
    records = trainer.collect()
    pizza = vocabulary.stoi["pizza"]
    first = torch.stack([r.sources[0] for r in records])  # (N, S)
    greedy = chat.generate(first, decoding="greedy", max_len=LENGTH).tokens  # (N, T)
    for record, reply in zip(records, greedy, strict=True):
        assert len(record.baseline_rewards) == record.agent_turns
        # The judge's reward: 1 iff the reply says "pizza" (before its <eos>).
        tokens = reply.tolist()
        said = tokens[: tokens.index(EOS_ID)] if EOS_ID in tokens else tokens
        assert record.baseline_rewards[0] == float(pizza in said)


def test_self_critical_training_raises_the_greedy_replys_reward(vocabulary, make_env):
    chat = agent(vocabulary)
    before = simulate(chat, [make_env] * N_ENVS, 32, decoding="greedy", seed=1)
    trainer = DialoguePG(
        chat_model=chat,
        envs=[make_env] * N_ENVS,
        gamma=0.0,
        baseline="greedy",
        learning_rate=1e-2,
        seed=0,
    )
    trainer.train(15)
    after = trainer.simulate(32, decoding="greedy", seed=1)
    assert before["reward_total"] < 0.4
    assert after["reward_total"] > before["reward_total"] + 0.4, (before, after)


def test_self_critical_baseline_needs_gamma_0_and_envs_that_score_replies(vocabulary, make_env):
    with pytest.raises(ValueError, match="gamma=0"):
        DialoguePG(chat_model=agent(vocabulary), envs=[make_env], gamma=0.9, baseline="greedy")
    echo = EchoEnv(len(vocabulary))
    with pytest.raises(ValueError, match="score_reply"):
        DialoguePG(chat_model=agent(vocabulary), envs=[echo], gamma=0.0, baseline="greedy")
