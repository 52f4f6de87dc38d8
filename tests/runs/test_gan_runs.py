"""``lhyrl train`` takes the discriminator objective and its remedies for SeqGAN and REGS (GAIL
and AIRL: tests/agents/test_adversarial_objectives.py), records them, resumes them, and refuses
what does not fit before writing anything."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch
import yaml

from lhyrl.agents import AdversarialDialogue, SeqGAN
from lhyrl.cli import main as lhyrl
from lhyrl.nn.dialogue import DialogueAutoEncoderDiscriminator
from lhyrl.runs import train_run

torch.set_num_threads(1)

SEQGEN = [
    "--env", "lhyrl/SeqGen-v0", "--oracle", "random", "--vocab-size", "30", "--max-length", "8",
    "--train-size", "256", "--test-size", "64", "--eval-episodes", "64", "--batch-size", "32",
    "--embedding-dim", "16", "--hidden-dim", "16", "--pretrain-generator-epochs", "1",
    "--pretrain-discriminator-rounds", "1", "--n-rollouts", "2", "--discriminator-samples", "64",
    "--epochs", "2",
]  # fmt: skip
DIALOGUE = [
    "--env", "lhyrl/Dialogue-v0", "--max-pairs", "16", "--batch-size", "8", "--eval-episodes",
    "4", "--eval-envs", "4", "--max-turns", "3", "--device", "cpu", "--n-rollouts", "1",
    "--pretrain-discriminator-steps", "2", "--iterations", "2",
]  # fmt: skip


def only_run(runs: Path) -> Path:
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    return run_dir


def header(run_dir: Path) -> list[str]:
    with open(run_dir / "progress.csv") as f:
        return next(csv.reader(f))


def test_seqgan_trains_with_lsgan_and_remedies_from_the_command_line(tmp_path: Path) -> None:
    remedies = ["--ensemble-size", "2", "--replay-ratio", "0.25", "--input-noise", "0.1"]
    args = ["train", "--algo", "seqgan", *SEQGEN, "--disc-loss", "lsgan", *remedies]
    assert lhyrl([*args, "--runs-dir", str(tmp_path)]) == 0
    run_dir = only_run(tmp_path)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["disc_loss"] == "lsgan" and config["ensemble_size"] == 2
    assert config["replay_ratio"] == 0.25 and config["input_noise"] == 0.1
    trainer = SeqGAN.load(run_dir / "model.pt")
    assert trainer.disc_loss == "lsgan" and len(trainer.discriminators) == 2
    assert trainer.discriminators.replay is not None and len(trainer.discriminators.replay) > 0
    assert {"train/disc_loss", "train/disc_accuracy"} <= set(header(run_dir))


def test_regs_trains_with_hinge_and_magan_from_the_command_line(tmp_path: Path) -> None:
    for loss in ("hinge", "magan"):
        runs = tmp_path / loss
        args = ["train", "--algo", "regs", *DIALOGUE, "--disc-loss", loss, "--spectral-norm"]
        assert lhyrl([*args, "--replay-ratio", "0.5", "--runs-dir", str(runs)]) == 0
        run_dir = only_run(runs)
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert config["disc_loss"] == loss and config["spectral_norm"] is True
        columns = set(header(run_dir))
        assert "train/disc_loss" in columns
        assert ("train/disc_margin" in columns) == (loss == "magan")
    # The finished run resumes to a larger budget with its discriminator's state.
    train_run(resume=only_run(tmp_path / "magan"), total=3)
    config = yaml.safe_load((only_run(tmp_path / "magan") / "config.yaml").read_text())
    assert config["iterations"] == 3


def test_an_auto_encoder_discriminator_is_built_for_energy_objectives() -> None:
    from lhyrl.agents.dialogue import new_chat_model
    from lhyrl.data.text import Vocabulary
    from lhyrl.nn import Seq2SeqConfig

    vocabulary = Vocabulary(["a", "b", "c"])
    model = new_chat_model(
        config=Seq2SeqConfig(len(vocabulary), embedding_dim=8, hidden_dim=8),
        vocabulary=vocabulary,
        language="english",
        source_len=4,
        target_len=4,
        seed=0,
    )
    regs = AdversarialDialogue(chat_model=model, disc_loss="ebgan")
    assert isinstance(regs.discriminator, DialogueAutoEncoderDiscriminator)
    assert regs.discriminator.config.embedding_dim == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--algo", "seqgan", "--disc-loss", "wgan-lp"],
            "disc_loss must be one of bce, lsgan, wgan-gp",
        ),
        (["--algo", "regs", "--disc-loss", "hinge", "--label-smoothing", "0.1"], "no labels"),
        (["--algo", "regs", "--ensemble-reward", "median"], "ensemble_reward must be one of"),
        (["--algo", "seqgan", "--replay-ratio", "1.5"], r"replay_ratio must lie in \[0, 1\]"),
    ],
)
def test_bad_discriminator_settings_are_refused_before_anything_is_written(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = SEQGEN[:2] if "seqgan" in args else DIALOGUE[:2]
    capsys.readouterr()
    assert lhyrl(["train", *args, *env, "--runs-dir", str(tmp_path)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not list(tmp_path.iterdir())
