"""SeqGAN with the objectives and remedies of lhyrl.nn.gan: its reward is the objective's, an
energy objective gets an auto-encoder, and a run with MAGAN, an ensemble and replay resumed
from its last checkpoint ends exactly where the uninterrupted run ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from lhyrl.agents.seqgan import SeqGAN
from lhyrl.agents.sequence_base import CHECKPOINT_FILE, SequenceTrainer
from lhyrl.nn import CNNDiscriminatorConfig, RecurrentConfig, random_oracle
from lhyrl.nn.gan import (
    DEFAULT_SETTINGS,
    MAGAN,
    CNNDiscriminator,
    SequenceAutoEncoderConfig,
    SequenceAutoEncoderDiscriminator,
    objective_names,
)

torch.set_num_threads(1)

VOCAB, SEQ_LEN = 6, 5
GEN = RecurrentConfig(vocab_size=VOCAB, embedding_dim=4, hidden_dim=4)
DISC = CNNDiscriminatorConfig(
    vocab_size=VOCAB, embedding_dim=4, filter_sizes=(1, 2), num_filters=(3, 3), dropout=0.5
)
AUTOENCODER = SequenceAutoEncoderConfig(vocab_size=VOCAB, embedding_dim=4, hidden_dim=6, code_dim=3)


class CrashError(Exception):
    """Raised by the fake disk to stop a run right after a checkpoint."""


@pytest.fixture(scope="module")
def data() -> torch.Tensor:
    oracle = random_oracle(VOCAB, 4, 4, seed=2)
    return oracle.sample(128, SEQ_LEN, start_token=0, generator=torch.Generator().manual_seed(0))


def _gan(**kw: Any) -> SeqGAN:
    settings: dict[str, Any] = {
        "vocab_size": VOCAB,
        "seq_len": SEQ_LEN,
        "generator_config": GEN,
        "discriminator_config": DISC,
        "autoencoder_config": AUTOENCODER,
        "batch_size": 32,
        "n_rollouts": 2,
        "discriminator_rounds": 1,
        "discriminator_epochs": 1,
        "discriminator_samples": 64,
        "seed": 4,
    }
    return SeqGAN(**{**settings, **kw})


@pytest.mark.parametrize("name", objective_names())
def test_seqgans_reward_is_the_objectives(name: str, data: torch.Tensor) -> None:
    trainer = _gan(disc_loss=name)
    energy = name in ("ebgan", "magan")
    kind = SequenceAutoEncoderDiscriminator if energy else CNNDiscriminator
    assert isinstance(trainer.discriminator, kind)
    trainer.train(data, adversarial_epochs=1, pretrain_discriminator_rounds=1, eval_every=0)
    sequences = data[:16]
    rewards = trainer.discriminator_rewards(sequences)
    with torch.no_grad():
        out = trainer.discriminator.eval()(sequences)
    expected = {"bce": torch.sigmoid(out), "ebgan": -out, "magan": -out}.get(name, out)
    torch.testing.assert_close(rewards, expected)
    per_token = trainer.rewards(sequences)  # Monte Carlo rewards of every prefix
    torch.testing.assert_close(per_token[:, -1], expected)
    if name == "magan":
        assert isinstance(trainer.discriminators.objective, MAGAN)
        assert trainer.discriminators.objective.margin is not None  # set by the pretraining


def test_an_ensembles_min_reward_is_at_most_its_mean(data: torch.Tensor) -> None:
    mean, low = (
        _gan(disc_loss="hinge", ensemble_size=3, ensemble_reward=r) for r in ("mean", "min")
    )
    for trainer in (mean, low):
        trainer.train(data, adversarial_epochs=0, pretrain_discriminator_rounds=1, eval_every=0)
    for a, b in zip(mean.discriminators.members, low.discriminators.members, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(
        mean.discriminators.members[0].head.weight, mean.discriminators.members[1].head.weight
    )
    rewards_mean = mean.discriminator_rewards(data)
    rewards_min = low.discriminator_rewards(data)
    assert torch.all(rewards_min <= rewards_mean) and torch.any(rewards_min < rewards_mean)


def _state(trainer: SeqGAN) -> dict[str, Any]:
    """Every tensor and number a continued run depends on."""
    state: dict[str, Any] = {
        f"{name}.{k}": v.clone()
        for name, module in trainer._modules().items()
        for k, v in module.state_dict().items()
    }
    for name, opt in trainer._optimizers().items():
        for index, moments in opt.state_dict()["state"].items():
            for k, v in moments.items():
                state[f"opt.{name}.{index}.{k}"] = torch.as_tensor(v).clone()
    state["rng"] = trainer.rng.get_state()
    extra = trainer.discriminators.extra_state(members=False)
    state.update({f"objective.{k}": v for k, v in extra["objective"].items()})
    replay = extra["replay"]
    state.update({f"replay.{i}": c for i, c in enumerate(replay["columns"])})
    state["replay.counts"] = (replay["size"], replay["seen"])
    return state


REMEDIES = {"ensemble_size": 2, "replay_ratio": 0.5, "replay_capacity": 100, "input_noise": 0.2}


@pytest.mark.parametrize(
    ("settings", "crash_after"),
    [
        ({"disc_loss": "magan", **REMEDIES}, 2),  # right after the first discriminator round
        ({"disc_loss": "magan", **REMEDIES}, 4),  # mid adversarial training
        ({"disc_loss": "ebgan", "grad_penalty": 1.0, **REMEDIES}, 3),
    ],
    ids=["magan-pretrained", "magan-adversarial", "ebgan-penalty"],
)
def test_a_resumed_run_with_magan_an_ensemble_and_replay_equals_the_uninterrupted_run(
    settings: dict[str, Any],
    crash_after: int,
    data: torch.Tensor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train = {
        "pretrain_generator_epochs": 1,
        "pretrain_discriminator_rounds": 1,
        "adversarial_epochs": 3,
        "eval_every": 0,
        "log_text_every": 0,
    }
    straight = _gan(**settings)
    straight.train(data, **train)
    assert straight.discriminators.replay is not None and straight.discriminators.replay.seen > 0

    interrupted = _gan(**settings)
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

    resumed = _gan(**settings)
    resumed.resume(tmp_path)
    resumed.train(data, **train, checkpoint_dir=tmp_path, checkpoint_every=1)
    expected, actual = _state(straight), _state(resumed)
    assert expected.keys() == actual.keys()
    for key, value in expected.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(actual[key], value), key
        else:
            assert actual[key] == value, key
    torch.testing.assert_close(resumed.sample(16), straight.sample(16), rtol=0, atol=0)


def test_the_trainer_file_keeps_the_objective_the_autoencoder_and_the_replay(
    data: torch.Tensor, tmp_path: Path
) -> None:
    trainer = _gan(disc_loss="magan", replay_ratio=0.5, ensemble_size=2)
    trainer.train(data, adversarial_epochs=1, pretrain_discriminator_rounds=1, eval_every=0)
    loaded = SeqGAN.load(trainer.save(tmp_path / "seqgan.pt"))
    assert loaded.disc_loss == "magan" and loaded.autoencoder_config == AUTOENCODER
    assert isinstance(loaded.discriminator, SequenceAutoEncoderDiscriminator)
    assert (
        loaded.discriminators.objective.state_dict()
        == trainer.discriminators.objective.state_dict()
    )
    for name, module in trainer._modules().items():
        for key, value in module.state_dict().items():
            assert torch.equal(loaded._modules()[name].state_dict()[key], value), (name, key)
    assert loaded.discriminators.replay is not None and trainer.discriminators.replay is not None
    assert torch.equal(
        loaded.discriminators.replay.columns[0], trainer.discriminators.replay.columns[0]
    )
    torch.testing.assert_close(
        loaded.discriminator_rewards(data), trainer.discriminator_rewards(data)
    )


def test_a_checkpoint_from_before_the_discriminator_settings_resumes_as_the_defaults(
    data: torch.Tensor, tmp_path: Path
) -> None:
    trainer = _gan()
    trainer.train(data, adversarial_epochs=1, eval_every=0, checkpoint_dir=tmp_path)
    path = tmp_path / CHECKPOINT_FILE
    saved = torch.load(path, weights_only=True)
    for key in DEFAULT_SETTINGS:
        del saved["state"]["kwargs"][key]
    del saved["state"]["discriminator_state"]
    torch.save(saved, path)  # what lhyrl wrote before
    resumed = _gan()
    resumed.resume(tmp_path)
    for key, value in trainer.discriminator.state_dict().items():
        assert torch.equal(resumed.discriminator.state_dict()[key], value), key
    with pytest.raises(ValueError, match="disc_loss: 'bce' vs 'hinge'"):
        _gan(disc_loss="hinge").resume(tmp_path)
