"""Li et al.'s (2016) mutual-information stage (``DialogueMMI``) with tiny models."""

from __future__ import annotations

import copy

import pytest
import torch
from dialogue_corpus import LENGTH, PAIRS, tiny_chat_model
from log_recorder import Recorder
from stable_baselines3.common.logger import Logger
from torch import Tensor

from lhyrl.agents.dialogue import DialogueMLE, DialogueMMI
from lhyrl.agents.dialogue.adversarial import split_turns
from lhyrl.data.dialogue import TokenizedPair, build_dialogue_vocabulary, encode_pairs
from lhyrl.data.text import Vocabulary, tokenize
from lhyrl.nn import Seq2Seq, Seq2SeqConfig
from lhyrl.rewards.dialogue import mean_log_likelihood, replies_as_sources, semantic_coherence

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return build_dialogue_vocabulary(PAIRS, "english")


def encode(vocabulary: Vocabulary, pairs: list[tuple[str, str]]) -> tuple[Tensor, Tensor]:
    tokenized = [TokenizedPair(tuple(tokenize(c)), tuple(tokenize(r))) for c, r in pairs]
    return encode_pairs(tokenized, vocabulary, source_len=LENGTH, target_len=LENGTH)


@pytest.fixture(scope="module")
def data(vocabulary: Vocabulary) -> tuple[Tensor, Tensor]:
    return encode(vocabulary, PAIRS)


@pytest.fixture(scope="module")
def backward(vocabulary: Vocabulary) -> Seq2Seq:
    """A backward model trained on (reply -> context): it knows which reply answers what."""
    model = tiny_chat_model(vocabulary, seed=1)
    src, tgt = encode(vocabulary, [(r, c) for c, r in PAIRS])
    trainer = DialogueMLE(chat_model=model, learning_rate=1e-2, batch_size=8, seed=0)
    for _ in range(150):
        trainer.train_epoch(src, tgt)
    return model.model.eval()


def trainer(vocabulary: Vocabulary, backward: Seq2Seq, **kwargs: object) -> DialogueMMI:
    settings: dict[str, object] = {
        "chat_model": tiny_chat_model(vocabulary),
        "forward_model": tiny_chat_model(vocabulary, seed=2).model,
        "backward_model": backward,
        "forward_weight": 0.0,
        "candidates": 4,
        "contexts_per_step": 8,
        "learning_rate": 1e-2,
        "seed": 0,
    }
    return DialogueMMI(**{**settings, **kwargs})  # type: ignore[arg-type]


def greedy_reward(mmi: DialogueMMI, src: Tensor) -> float:
    replies = mmi.generate(src, decoding="greedy")
    return float(mmi.rewards(src, replies).mean())


def test_reward_is_the_mutual_information_with_the_last_turn(vocabulary, backward, data):
    src, tgt = data
    query = split_turns(src)[:, -1]  # the turn each reply answers, in target form
    backward_term = mean_log_likelihood(backward, replies_as_sources(tgt), query)
    for weight in (0.0, 0.5, 1.0):
        mmi = trainer(vocabulary, backward, forward_weight=weight)
        forward_term = mean_log_likelihood(mmi.forward_model, src, tgt)
        expected = weight * forward_term + backward_term
        assert torch.allclose(mmi.rewards(src, tgt), expected, atol=1e-6)
    coherence = semantic_coherence(mmi.forward_model, backward, context=src, query=query, reply=tgt)
    assert torch.allclose(mmi.rewards(src, tgt), coherence)  # weight 1: the env's r3


def test_mmi_training_makes_replies_tell_their_context(vocabulary, backward, data):
    src, tgt = data
    recorder = Recorder()
    mmi = trainer(vocabulary, backward, logger=Logger(folder=None, output_formats=[recorder]))
    before = greedy_reward(mmi, src)
    human = float(mmi.rewards(src, tgt).mean())
    mmi.train(src, tgt, iterations=120, validation=(src, tgt), eval_every=60, sample_every=60)
    after = greedy_reward(mmi, src)
    # Untrained, the replies say nothing of the context (backward log-likelihood per token
    # near the uniform -log V); trained, they pin it down nearly as well as the human replies.
    assert after > before + 1.0, (before, after, human)
    assert after > human - 0.25, (after, human)
    assert mmi.num_iterations == 120 and mmi.num_updates == 120
    logged = {key for dump in recorder.dumps for key in dump}
    for key in ("train/reward_mean", "train/pg_loss", "eval/bleu", "samples/replies"):
        assert key in logged, key


def test_mle_term_and_resume_equal_uninterrupted_training(vocabulary, backward, data, tmp_path):
    src, tgt = data

    def make() -> DialogueMMI:
        return trainer(
            vocabulary,
            backward,
            chat_model=tiny_chat_model(vocabulary, dropout=0.1),
            forward_weight=0.5,
            mle_weight=0.5,
            batch_size=4,
            seed=3,
        )

    whole = make()
    whole.train(src, tgt, iterations=4, checkpoint_dir=tmp_path / "whole", checkpoint_every=2)
    first = make()
    first.train(src, tgt, iterations=2, checkpoint_dir=tmp_path / "part")
    resumed = make()
    resumed.resume(tmp_path / "part")
    resumed.train(src, tgt, iterations=4, checkpoint_dir=tmp_path / "part")
    assert resumed.num_iterations == whole.num_iterations == 4
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    changed = make()
    changed.candidates = 3
    with pytest.raises(ValueError, match="candidates"):
        changed.resume(tmp_path / "part")


def test_bad_settings_get_clear_errors(vocabulary, backward, data):
    with pytest.raises(ValueError, match="candidates must be at least 2"):
        trainer(vocabulary, backward, candidates=1)
    with pytest.raises(ValueError, match="forward_weight"):
        trainer(vocabulary, backward, forward_weight=-1.0)
    model = tiny_chat_model(vocabulary)
    with pytest.raises(ValueError, match="must not be the model being trained"):
        trainer(vocabulary, backward, chat_model=model, forward_model=model.model)
    other = Seq2Seq(Seq2SeqConfig(len(vocabulary) + 3, embedding_dim=8, hidden_dim=8))
    with pytest.raises(ValueError, match="vocabulary"):
        trainer(vocabulary, other)
    with pytest.raises(TypeError, match="Seq2Seq"):
        trainer(vocabulary, backward, forward_model=copy.deepcopy(model))
    src, tgt = data
    with pytest.raises(ValueError, match="fewer than contexts_per_step"):
        trainer(vocabulary, backward, contexts_per_step=9).train(src, tgt, iterations=1)
