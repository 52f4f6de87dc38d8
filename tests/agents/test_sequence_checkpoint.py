"""Periodic checkpoints of the sequence trainers: a run interrupted and resumed from its last
checkpoint ends exactly where an uninterrupted run ends (MLE, scheduled sampling, PG-BLEU,
SeqGAN with every phase), and a checkpoint of other hyperparameters is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lhyrl.agents.seqgan import PGBLEU, SeqGAN
from lhyrl.agents.sequence_base import (
    CHECKPOINT_FILE,
    MLE,
    SamplingSchedule,
    ScheduledSampling,
    SequenceTrainer,
)
from lhyrl.nn import CNNDiscriminatorConfig, RecurrentConfig, random_oracle

torch.set_num_threads(1)

VOCAB, SEQ_LEN = 6, 5
GEN = RecurrentConfig(vocab_size=VOCAB, embedding_dim=4, hidden_dim=4)
DISC = CNNDiscriminatorConfig(
    vocab_size=VOCAB, embedding_dim=4, filter_sizes=(1, 2), num_filters=(3, 3), dropout=0.5
)  # dropout on: it must draw from the trainer's RNG to resume exactly


class CrashError(Exception):
    """Raised by the fake disk to stop a run right after a checkpoint."""


@pytest.fixture(scope="module")
def data() -> torch.Tensor:
    oracle = random_oracle(VOCAB, 4, 4, seed=2)
    return oracle.sample(128, SEQ_LEN, start_token=0, generator=torch.Generator().manual_seed(0))


def _mle(**kw: Any) -> MLE:
    return MLE(vocab_size=VOCAB, seq_len=SEQ_LEN, generator_config=GEN, batch_size=32, **kw)


def _ss(**kw: Any) -> ScheduledSampling:
    schedule = SamplingSchedule(kind="linear", max_probability=0.5, ramp_epochs=3)
    return ScheduledSampling(
        vocab_size=VOCAB,
        seq_len=SEQ_LEN,
        generator_config=GEN,
        batch_size=32,
        schedule=schedule,
        **kw,
    )


def _pg(**kw: Any) -> PGBLEU:
    return PGBLEU(
        vocab_size=VOCAB, seq_len=SEQ_LEN, generator_config=GEN, batch_size=32, bleu_order=2,
        generator_steps=2, seed=1, **kw,
    )  # fmt: skip


def _gan(**kw: Any) -> SeqGAN:
    return SeqGAN(
        vocab_size=VOCAB, seq_len=SEQ_LEN, generator_config=GEN, discriminator_config=DISC,
        batch_size=32, n_rollouts=2, discriminator_rounds=1, discriminator_epochs=1,
        discriminator_samples=64, seed=4, **kw,
    )  # fmt: skip


# (build, train kwargs): each run has several checkpoints, and SeqGAN's crosses every phase.
CASES: dict[str, tuple[Callable[..., SequenceTrainer], dict[str, int]]] = {
    "mle": (_mle, {"n_epochs": 4, "decay_epochs": 2}),  # resumes across the decay step
    "scheduled_sampling": (_ss, {"n_epochs": 4}),
    "pg_bleu": (_pg, {"n_epochs": 4}),
    "seqgan": (
        _gan,
        {
            "pretrain_generator_epochs": 2,
            "pretrain_discriminator_rounds": 2,
            "adversarial_epochs": 3,
        },
    ),
}


def _state(trainer: SequenceTrainer) -> dict[str, torch.Tensor]:
    """Every tensor a continued run depends on: weights, optimizer moments, the RNG."""
    state = {
        f"{name}.{k}": v.clone()
        for name, module in trainer._modules().items()
        for k, v in module.state_dict().items()
    }
    for name, opt in trainer._optimizers().items():
        for index, moments in opt.state_dict()["state"].items():
            for k, v in moments.items():
                state[f"opt.{name}.{index}.{k}"] = torch.as_tensor(v).clone()
    state["rng"] = trainer.rng.get_state()
    return state


@pytest.mark.parametrize(
    ("name", "crash_after"),
    [
        ("mle", 2),
        ("scheduled_sampling", 2),
        ("pg_bleu", 3),
        ("seqgan", 1),  # mid generator pretraining
        ("seqgan", 3),  # right after the discriminator's pretraining
        ("seqgan", 4),  # mid adversarial training
    ],
)
def test_resumed_run_equals_uninterrupted_run(
    name: str,
    crash_after: int,
    data: torch.Tensor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build, budget = CASES[name]
    train = {**budget, "eval_every": 0, "log_text_every": 0}

    straight = build()
    straight.train(data, **train)

    # A run that dies right after its checkpoint number ``crash_after`` (before finishing).
    interrupted = build()
    save = SequenceTrainer.save_checkpoint
    written = []

    def save_then_maybe_crash(self: SequenceTrainer, directory: Path) -> Path:
        path = save(self, directory)
        written.append(dict(self._progress))
        if len(written) == crash_after:
            raise CrashError
        return path

    monkeypatch.setattr(SequenceTrainer, "save_checkpoint", save_then_maybe_crash)
    with pytest.raises(CrashError):
        interrupted.train(data, **train, checkpoint_dir=tmp_path, checkpoint_every=1)
    monkeypatch.undo()
    assert (tmp_path / CHECKPOINT_FILE).is_file()

    resumed = build()  # a fresh process would rebuild the trainer the same way
    resumed.resume(tmp_path)
    assert resumed._progress == written[-1]
    resumed.train(data, **train, checkpoint_dir=tmp_path, checkpoint_every=1)

    assert resumed.num_updates == straight.num_updates
    assert resumed.num_epochs == straight.num_epochs
    expected, actual = _state(straight), _state(resumed)
    assert expected.keys() == actual.keys()
    for key, value in expected.items():
        assert torch.equal(actual[key], value), key
    torch.testing.assert_close(resumed.sample(16), straight.sample(16), rtol=0, atol=0)
    # The final checkpoint holds the finished run: resuming it trains nothing more.
    done = build()
    done.resume(tmp_path)
    done.train(data, **train)
    assert done.num_updates == straight.num_updates


def test_dropout_does_not_touch_the_global_rng(data: torch.Tensor) -> None:
    torch.manual_seed(0)
    before = torch.get_rng_state()
    _gan().train(data, adversarial_epochs=1, pretrain_discriminator_rounds=1, eval_every=0)
    assert torch.equal(torch.get_rng_state(), before)


def test_resume_refuses_other_hyperparameters_and_missing_checkpoints(
    data: torch.Tensor, tmp_path: Path
) -> None:
    trainer = _mle(learning_rate=0.01)
    trainer.train(data, n_epochs=1, eval_every=0, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"learning_rate: 0\.01 vs 0\.02"):
        _mle(learning_rate=0.02).resume(tmp_path)
    with pytest.raises(ValueError, match="checkpoint of a MLE trainer, not of a PGBLEU"):
        _pg().resume(tmp_path)
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume"):
        _mle().resume(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="checkpoint_every must be at least 1"):
        _mle().train(data, n_epochs=1, checkpoint_dir=tmp_path, checkpoint_every=0)
