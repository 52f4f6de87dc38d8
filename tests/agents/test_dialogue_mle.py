"""Dialogue MLE and the dialogue trainers' base: learning, evaluation, logging, files, resume.

The task is synthetic and tiny: a context is 2-5 letters and its reply is the same letters in
reverse order, so a seq2seq model with attention learns it within seconds, far below the
untrained model's likelihood, and its greedy replies become exact.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from stable_baselines3.common.logger import configure
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lhyrl.agents.dialogue import (
    CHECKPOINT_FILE,
    DialogueMLE,
    DialogueTrainer,
    new_chat_model,
    paired_bleu,
    reply_tokens,
)
from lhyrl.data.text import EOS_ID, PAD_ID, Vocabulary
from lhyrl.nn.chat_model import ChatModel
from lhyrl.nn.seq2seq import Seq2SeqConfig

torch.set_num_threads(1)

LETTERS = list("abcdefgh")
VOCAB = Vocabulary(["<sep>", *LETTERS])  # ids 4 (<sep>), 5 .. 12 the letters
SOURCE_LEN = TARGET_LEN = 6


def reverse_task(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` contexts of 2-5 random letters and, as replies, the letters reversed."""
    g = torch.Generator().manual_seed(seed)
    src = torch.full((n, SOURCE_LEN), PAD_ID, dtype=torch.long)
    tgt = torch.full((n, TARGET_LEN), PAD_ID, dtype=torch.long)
    for row in range(n):
        length = int(torch.randint(2, 6, (1,), generator=g))
        tokens = torch.randint(5, 5 + len(LETTERS), (length,), generator=g)
        src[row, :length] = tokens
        tgt[row, :length] = tokens.flip(0)
        tgt[row, length] = EOS_ID
    return src, tgt


@pytest.fixture(scope="module")
def train_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    return reverse_task(512, seed=0)


@pytest.fixture(scope="module")
def test_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    return reverse_task(64, seed=1)


def chat_model(dropout: float = 0.0, seed: int = 0, hidden_dim: int = 32) -> ChatModel:
    config = Seq2SeqConfig(
        vocab_size=len(VOCAB), embedding_dim=16, hidden_dim=hidden_dim, dropout=dropout
    )
    return new_chat_model(
        config=config,
        vocabulary=VOCAB,
        language="english",
        source_len=SOURCE_LEN,
        target_len=TARGET_LEN,
        seed=seed,
    )


def mle(**kw: Any) -> DialogueMLE:
    model = kw.pop("chat_model", None) or chat_model(kw.pop("dropout", 0.0))
    return DialogueMLE(
        chat_model=model, learning_rate=kw.pop("learning_rate", 1e-2), batch_size=32, **kw
    )


def test_mle_learns_to_reverse_far_below_the_untrained_likelihood(
    train_pairs, test_pairs, tmp_path: Path
) -> None:
    logger = configure(str(tmp_path), ["tensorboard"])
    trainer = mle(logger=logger, seed=3)
    before = trainer.evaluate(*test_pairs, log=False)
    assert before["nll"] > math.log(len(VOCAB)) - 1.0  # about log V: knows nothing
    trainer.train(*train_pairs, epochs=12, validation=test_pairs, eval_every=4)
    after = trainer.evaluate(*test_pairs, log=False)
    assert after["nll"] < 0.05 and before["nll"] > 2.0, (before, after)
    assert after["bleu"] > 0.95 and after["distinct_1"] > 0.0
    replies = reply_tokens(trainer.generate(test_pairs[0]))
    references = reply_tokens(test_pairs[1])
    exact = sum(r == t for r, t in zip(replies, references, strict=True)) / len(replies)
    assert exact > 0.95, exact
    assert after["reply_length"] == pytest.approx(sum(map(len, replies)) / len(replies))
    assert trainer.num_updates == 12 * 16 and trainer.num_epochs == 12
    logger.close()

    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0, "scalars": 0}).Reload()
    losses = [e.value for e in events.Scalars("train/loss")]
    assert len(losses) == 12 and losses[-1] < losses[0] / 4
    evaluated = events.Scalars("eval/nll")
    assert [e.step for e in evaluated] == [4 * 16, 8 * 16, 12 * 16]
    for key in ("distinct_1", "distinct_2", "bleu", "reply_length"):
        assert len(events.Scalars(f"eval/{key}")) == 3
    texts = [
        v.decode() for e in events.Tensors("samples/replies/text_summary")
        for v in e.tensor_proto.string_val
    ]  # fmt: skip
    assert len(texts) == 3 and texts[-1].count(" -> ") == 4
    context, reply = texts[-1].split("\n\n")[0].split(" -> ")
    assert reply == " ".join(reversed(context.split()))  # the trained model reverses
    assert "hyperparameters/text_summary" in events.Tags()["tensors"]


def test_evaluate_metrics_follow_their_definitions(test_pairs) -> None:
    trainer = mle()
    src, tgt = test_pairs
    result = trainer.evaluate(src, tgt, log=False)
    log_probs = trainer.model.token_log_probs(src, tgt).detach()
    assert result["nll"] == pytest.approx(float(-log_probs.sum() / (tgt != PAD_ID).sum()))
    replies = reply_tokens(trainer.generate(src))
    grams = [tuple(r[i : i + 2]) for r in replies for i in range(len(r) - 1)]
    assert result["distinct_2"] == pytest.approx(len(set(grams)) / len(grams))
    unigrams = [t for r in replies for t in r]
    assert result["distinct_1"] == pytest.approx(len(set(unigrams)) / len(unigrams))
    # BLEU of the references against themselves is 1; of disjoint replies about 0.
    refs = reply_tokens(tgt)
    assert paired_bleu(refs, refs) == pytest.approx(1.0)
    assert paired_bleu([[99, 98, 97, 96]] * len(refs), refs) < 0.01
    # Where every reply has 4-grams, it is NLTK's corpus BLEU-4 (smoothing method 1).
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

    hyps, refs = (
        [[5, 6, 7, 8, 9], [5, 6, 7, 7, 6, 5], [9, 9, 9, 9]],
        [[5, 6, 7, 8], [5, 6, 7, 6, 5], [9, 8, 9, 9]],
    )
    nltk = corpus_bleu([[r] for r in refs], hyps, smoothing_function=SmoothingFunction().method1)
    assert paired_bleu(hyps, refs) == pytest.approx(nltk)
    assert reply_tokens(torch.tensor([[5, 6, EOS_ID, 7], [EOS_ID, 5, 0, 0]])) == [[5, 6], []]


def test_step_clips_counts_and_refuses_nonfinite_losses(train_pairs) -> None:
    trainer = mle(learning_rate=1e-3)
    src, tgt = train_pairs
    loss = trainer.model.loss(src[:8], tgt[:8]) * 1e6  # a huge gradient, clipped to norm 5
    before = [p.detach().clone() for p in trainer.model.parameters()]
    assert trainer.step(loss) == pytest.approx(float(loss.detach()))
    assert trainer.num_updates == 1
    # Adam's first step moves each weight by about lr whatever the gradient's scale.
    moved = max(
        float((p.detach() - b).abs().max())
        for p, b in zip(trainer.model.parameters(), before, strict=True)
    )
    assert moved == pytest.approx(1e-3, rel=0.05)
    with pytest.raises(ValueError, match="the loss is nan"):
        trainer.step(torch.tensor(float("nan"), requires_grad=True))
    with pytest.raises(ValueError, match="must be a scalar"):
        trainer.step(torch.zeros(2, requires_grad=True))
    assert trainer.num_updates == 1


class CrashError(Exception):
    """Stops a run right after a checkpoint, as a kill would."""


def _state(trainer: DialogueTrainer) -> dict[str, torch.Tensor]:
    """What a continued run depends on: weights, optimizer moments, the RNG."""
    state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    for index, moments in trainer.optimizer.state_dict()["state"].items():
        for k, v in moments.items():
            state[f"opt.{index}.{k}"] = torch.as_tensor(v).clone()
    state["generator"] = trainer.generator.get_state()
    return state


def test_resumed_run_equals_uninterrupted_run(
    train_pairs, test_pairs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dropout on: it must draw from the trainer's generator for the resume to be exact.
    train = {"epochs": 4, "validation": test_pairs, "eval_every": 2}
    straight = mle(dropout=0.2, seed=5)
    straight.train(*train_pairs, **train)

    interrupted = mle(dropout=0.2, seed=5)
    original = DialogueTrainer.save_checkpoint

    def save_then_crash(self: DialogueTrainer, directory: Any) -> Path:
        path = original(self, directory)
        if self.num_epochs == 2:
            raise CrashError
        return path

    monkeypatch.setattr(DialogueTrainer, "save_checkpoint", save_then_crash)
    with pytest.raises(CrashError):
        interrupted.train(*train_pairs, **train, checkpoint_dir=tmp_path, checkpoint_every=1)
    monkeypatch.undo()

    resumed = mle(dropout=0.2, seed=5)  # a fresh process rebuilds the trainer the same way
    resumed.resume(tmp_path)
    assert resumed.num_epochs == 2 and resumed._progress == {"epoch": 2}
    resumed.train(*train_pairs, **train, checkpoint_dir=tmp_path, checkpoint_every=1)
    assert resumed.num_updates == straight.num_updates == 4 * 16
    expected, actual = _state(straight), _state(resumed)
    assert expected.keys() == actual.keys()
    for key, value in expected.items():
        assert torch.equal(actual[key], value), key
    assert not torch.equal(expected["generator"], mle(seed=5).generator.get_state())
    # The final checkpoint holds the finished run: resuming it trains nothing more.
    done = mle(dropout=0.2, seed=5)
    done.resume(tmp_path)
    done.train(*train_pairs, **train)
    assert done.num_updates == straight.num_updates


def test_training_depends_on_its_seed_only_and_leaves_the_global_rng_alone(train_pairs) -> None:
    runs = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        before = torch.get_rng_state()
        trainer = mle(dropout=0.5)
        trainer.train(*train_pairs, epochs=1)
        assert torch.equal(torch.get_rng_state(), before)
        runs.append(_state(trainer))
    for key, value in runs[0].items():
        assert torch.equal(runs[1][key], value), key


def test_save_writes_a_chat_model_that_loads_identically(test_pairs, tmp_path: Path) -> None:
    trainer = mle(seed=1)
    trainer.train(*reverse_task(128, seed=2), epochs=2)
    path = trainer.save(tmp_path / "model.pt")
    loaded = ChatModel.load(path)
    assert loaded.vocabulary == VOCAB and loaded.language == "english"
    assert (loaded.source_len, loaded.target_len) == (SOURCE_LEN, TARGET_LEN)
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    src = test_pairs[0]
    assert torch.equal(loaded.generate(src).tokens, trainer.generate(src))
    reloaded = DialogueMLE(chat_model=loaded)
    assert reloaded.nll(*test_pairs) == pytest.approx(trainer.nll(*test_pairs), abs=1e-6)
    assert loaded.reply(["a b c"]) == trainer.chat_model.reply(["a b c"])


class OtherTrainer(DialogueTrainer):
    """Another dialogue trainer class (as the policy-gradient one will be)."""

    def _learn(self, total: int, **kwargs: object) -> None:
        raise NotImplementedError


class CriticTrainer(DialogueMLE):
    """A subclass that keeps extra state in its checkpoints."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.baseline = torch.zeros(3)

    def _extra_state(self) -> dict[str, Any]:
        return {"baseline": self.baseline.clone()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.baseline = state["baseline"].clone()


def test_resume_refuses_other_trainers_settings_and_missing_checkpoints(
    train_pairs, tmp_path: Path
) -> None:
    trainer = mle(learning_rate=0.01)
    trainer.train(*train_pairs, epochs=1, checkpoint_dir=tmp_path)
    assert (tmp_path / CHECKPOINT_FILE).is_file()
    with pytest.raises(ValueError, match="checkpoint of a DialogueMLE trainer, not of a Other"):
        OtherTrainer(chat_model=chat_model(), learning_rate=0.01, batch_size=32).resume(tmp_path)
    with pytest.raises(ValueError, match=r"learning_rate: 0\.01 vs 0\.02"):
        mle(learning_rate=0.02).resume(tmp_path)
    with pytest.raises(ValueError, match="hidden_dim"):
        mle(chat_model=chat_model(hidden_dim=8)).resume(tmp_path)
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume"):
        mle().resume(tmp_path / "elsewhere")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable lhyrl checkpoint"):
        mle().resume(tmp_path / "bad")
    with pytest.raises(ValueError, match="checkpoint_every must be at least 1"):
        mle().train(*train_pairs, epochs=1, checkpoint_dir=tmp_path, checkpoint_every=0)


def test_subclass_extra_state_survives_a_checkpoint(train_pairs, tmp_path: Path) -> None:
    trainer = CriticTrainer(chat_model=chat_model(), batch_size=32)
    trainer.baseline = torch.tensor([1.0, 2.0, 3.0])
    trainer.save_checkpoint(tmp_path)
    resumed = CriticTrainer(chat_model=chat_model(), batch_size=32)
    resumed.resume(tmp_path)
    assert torch.equal(resumed.baseline, torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="not of a DialogueMLE"):
        mle(learning_rate=1e-3).resume(tmp_path)


def test_bad_data_gets_clear_errors(train_pairs) -> None:
    src, tgt = train_pairs
    trainer = mle()
    with pytest.raises(ValueError, match="same, positive number of rows"):
        trainer.train(src, tgt[:10], epochs=1)
    with pytest.raises(ValueError, match=r"outside 0 \.\. 12"):
        trainer.train(src + 20, tgt, epochs=1)
    with pytest.raises(ValueError, match="empty"):
        trainer.train(torch.zeros_like(src), tgt, epochs=1)
    with pytest.raises(ValueError, match="2-d long"):
        trainer.evaluate(src.float(), tgt)
    with pytest.raises(TypeError, match="ChatModel"):
        DialogueMLE(chat_model=trainer.model)  # type: ignore[arg-type]
