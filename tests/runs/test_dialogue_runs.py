"""The run layer's dialogue family from ``lhyrl train``: run files, resume, refusals, chat, eval.

Every algorithm trains for two epochs or iterations on 16 pairs of each split of the English
corpus (MMI, dialogue RL and REGS from the shipped English chat model, their default
``init``), with tiny budgets: dialogue RL two self-play dialogues an iteration, MMI two
candidates for each of two contexts, REGS a discriminator pretraining of two steps, and every
evaluation four simulated dialogues of at most three agent turns. A run interrupted as its
second unit starts and resumed with ``lhyrl train --resume`` must end with the weights and
the evaluation of the uninterrupted run, its ``progress.csv`` continued.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from runs_helpers import killed_after_first_checkpoint, only_run
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lhyrl.agents.dialogue import AdversarialDialogue, DialogueMLE, DialogueMMI, DialoguePG
from lhyrl.cli import main as lhyrl_main
from lhyrl.config import make_config
from lhyrl.envs.dialogue import DialogueEnv
from lhyrl.envs.dialogue.user import load_chat_model as load_shipped_model
from lhyrl.nn.chat_model import ChatModel
from lhyrl.runs.dialogue import prepare
from lhyrl.runs.dialogue_sim import close_envs

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
ENV_ID = "lhyrl/Dialogue-v0"
SMALL = [
    "--env", ENV_ID, "--max-pairs", "16", "--batch-size", "8", "--eval-episodes", "4",
    "--eval-envs", "4", "--max-turns", "3", "--eval-every", "1", "--checkpoint-every", "1",
    "--samples-every", "1", "--device", "cpu",
]  # fmt: skip
ALGOS = {
    # a vocabulary of min count 2: not the simulated user's, so its simulation is skipped
    "mle": ["--algo", "mle", "--embedding-dim", "8", "--hidden-dim", "8", "--epochs", "2",
            "--min-count", "2"],
    "mmi": ["--algo", "mmi", "--candidates", "2", "--contexts-per-step", "2", "--iterations", "2"],
    "dialogue-rl": ["--algo", "dialogue-rl", "--dialogues-per-iteration", "2", "--self-play",
                    "--train-max-turns", "2", "--iterations", "2"],
    "regs": ["--algo", "regs", "--n-rollouts", "1", "--pretrain-discriminator-steps", "2",
             "--iterations", "2"],
}  # fmt: skip
TRAIN_KEYS = {
    "mle": {"train/loss", "train/epoch"},
    "mmi": {"train/reward_mean", "train/reward_std_within", "train/pg_loss", "train/mle_loss"},
    "dialogue-rl": {
        "rollout/reward_total",
        "rollout/ease_of_answering",
        "rollout/information_flow",
        "rollout/semantic_coherence",
        "rollout/dialogue_length",
        "train/pg_loss",
        "train/mle_loss",
        "train/entropy",
    },
    "regs": {
        "pretrain/disc_loss",
        "train/disc_loss",
        "train/disc_acc_human",
        "train/disc_acc_machine",
        "train/pg_loss",
        "train/mle_loss",
        "eval/disc_accuracy",
    },
}
RUN_FILES = ("config.yaml", "progress.csv", "model.pt", "eval.json", "checkpoints/checkpoint.pt")
TEST_KEYS = {"nll", "distinct_1", "distinct_2", "bleu", "reply_length", "self_bleu_4"}
UNIT_COLUMN = {"mle": "train/epoch"}
"""The progress.csv column counting the learn units (train/iteration for the others)."""


class KilledError(Exception):
    """Stands for a run killed in the middle."""


def train(runs: Path, *args: str) -> Path:
    """``lhyrl train`` in this process; the run directory it made under ``runs``."""
    assert lhyrl_main(["train", *SMALL, *args, "--runs-dir", str(runs)]) == 0
    return only_run(runs)


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``lhyrl train`` that must exit 2; its error message."""
    capsys.readouterr()
    assert lhyrl_main(["train", *args]) == 2
    return capsys.readouterr().err


def eval_json(run_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    return result


def progress_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "progress.csv") as f:
        return list(csv.DictReader(f))


def units(run_dir: Path, algo: str) -> list[int]:
    """The learn units progress.csv logged, in order."""
    column = UNIT_COLUMN.get(algo, "train/iteration")
    return [int(float(r[column])) for r in progress_rows(run_dir) if r.get(column)]


def same_weights(a: Path, b: Path) -> bool:
    one = ChatModel.load(a / "model.pt").model.state_dict()
    two = ChatModel.load(b / "model.pt").model.state_dict()
    return one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One finished run of each algorithm (trained on first use)."""
    return {}


def finished(runs: dict[str, Path], algo: str, tmp: pytest.TempPathFactory) -> Path:
    if algo not in runs:
        runs[algo] = train(tmp.mktemp(algo), *ALGOS[algo])
    return runs[algo]


# ------------------------------------------------------------------------------ the runs


@pytest.mark.parametrize("algo", list(ALGOS))
def test_each_algorithm_trains_from_lhyrl_train_and_writes_every_run_file(
    algo: str, runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_dir = finished(runs, algo, tmp_path_factory)
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    result = eval_json(run_dir)
    assert result["algo"] == algo and result["env"] == ENV_ID and result["learn_progress"] == 2
    assert result["learn_unit"] == ("epochs" if algo == "mle" else "iterations")
    assert set(result["test"]) == TEST_KEYS and set(result["test_beam"]) == TEST_KEYS
    assert len(result["samples"]) == 6 and all(
        {"context", "reply"} <= set(s) for s in result["samples"]
    )
    model = ChatModel.load(run_dir / "model.pt")
    assert len(model.vocabulary) == result["vocabulary"]
    if algo == "mle":
        assert result["init"] is None and result["epochs"] == 2
        assert result["simulation"] is None and "vocabulary" in result["simulation_note"]
        assert result["self_play"] is None
    else:
        assert "english_forward.pt" in result["init"] and result["iterations"] == 2
        assert model.vocabulary == load_shipped_model(None, "forward").vocabulary
        for key in ("simulation", "self_play"):
            sim = result[key]
            assert sim["n_dialogues"] == 4 and sim["transcripts"][0][0][0] == "user"
            assert 1 <= sim["dialogue_length"] <= 1 + 2 * 3  # the opening, <= 3 agent turns
            assert 0 <= sim["distinct_1"] <= 1 and 0 <= sim["distinct_2"] <= 1
    if algo == "regs":
        assert result["updates"] == 4  # a generator and a teacher-forcing step an iteration
        assert {"disc_accuracy", "disc_acc_human"} <= set(result["discriminator"])
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "scalars": 0}).Reload()
    scalars, tensors = set(events.Tags()["scalars"]), set(events.Tags()["tensors"])
    assert TRAIN_KEYS[algo] | {"eval/nll", "eval/distinct_2", "eval/bleu"} <= scalars
    assert (algo != "mle") == ("eval/dialogue_length" in scalars)
    assert {"samples/text/text_summary", "config/text_summary"} <= tensors
    # Samples on the run's one schedule: no trainer logs its own under learn.
    assert {t for t in tensors if t.startswith("samples/")} == {"samples/text/text_summary"}
    assert [e.step for e in events.Scalars("eval/nll")] == [1, 2, 2]  # periodic, then final
    assert units(run_dir, algo) == [1, 2]


def test_lhyrl_chat_talks_through_a_finished_run(
    runs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_dir = finished(runs, "mmi", tmp_path_factory)
    monkeypatch.setattr(sys, "stdin", io.StringIO("are you a robot ?\n/quit\n"))
    assert lhyrl_main(["chat", str(run_dir), "--decoding", "greedy"]) == 0
    out = capsys.readouterr().out
    assert f"chatting with {run_dir}" in out and "bot> " in out


def test_lhyrl_eval_scores_a_finished_run_as_its_final_evaluation(
    runs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir = finished(runs, "mmi", tmp_path_factory)
    capsys.readouterr()
    assert lhyrl_main(["eval", str(run_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    result = eval_json(run_dir)
    for key in ("test", "test_beam", "samples", "simulation", "self_play"):
        assert report[key] == result[key], key


# ------------------------------------------------------------------------------ resuming


def _killed_in_the_second_unit(algo: str, runs: Path, calls: list[int]) -> Path:
    """Train ``algo`` with its unit of training dying as the second unit starts."""
    target: Any = {
        "mle": (DialogueMLE, "train_epoch", "num_epochs"),
        "mmi": (DialogueMMI, "train_iteration", "num_iterations"),
        "dialogue-rl": (DialoguePG, "train_iteration", "num_iterations"),
        "regs": (AdversarialDialogue, "generator_step", "num_iterations"),
    }[algo]
    cls, method, counter = target
    original, pretrain = getattr(cls, method), AdversarialDialogue.pretrain_discriminator

    def dies_in_the_second(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, counter) == 1:
            raise KilledError
        return original(self, *args, **kwargs)

    def counted(self: AdversarialDialogue, *args: Any, **kwargs: Any) -> dict[str, float]:
        calls.append(1)
        return pretrain(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AdversarialDialogue, "pretrain_discriminator", counted)
        with pytest.MonkeyPatch.context() as killer:
            killer.setattr(cls, method, dies_in_the_second)
            with pytest.raises(KilledError):
                lhyrl_main(["train", *SMALL, *ALGOS[algo], "--runs-dir", str(runs)])
        run_dir = only_run(runs)
        assert not (run_dir / "model.pt").exists() and not (run_dir / "eval.json").exists()
        assert (run_dir / "checkpoints" / "checkpoint.pt").is_file()
        rows = progress_rows(run_dir)
        assert lhyrl_main(["train", "--resume", str(run_dir)]) == 0
    assert progress_rows(run_dir)[: len(rows)] == rows  # appended to, not truncated
    return run_dir


@pytest.mark.parametrize("algo", list(ALGOS))
def test_a_run_killed_in_its_second_unit_resumes_exactly(
    algo: str, runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    straight = finished(runs, algo, tmp_path_factory)
    calls: list[int] = []
    resumed = _killed_in_the_second_unit(algo, tmp_path, calls)
    assert same_weights(resumed, straight)
    assert units(resumed, algo) == [1, 2]  # progress.csv goes on where the kill left it
    ours, theirs = eval_json(resumed), eval_json(straight)
    for key in ("test", "simulation", "self_play", "updates", "learn_progress"):
        assert ours[key] == theirs[key], key
    if algo == "regs":
        assert calls == [1]  # the checkpoint holds the pretrained discriminator


def test_mle_killed_by_sigkill_resumes_bit_identical(tmp_path: Path) -> None:
    args = [*SMALL, *ALGOS["mle"], "--epochs", "100", "--checkpoint-every", "5"]
    args += ["--eval-every", "0", "--samples-every", "0"]
    # OMP_NUM_THREADS=1: the same torch threads as this process, for bit-identical results.
    killed = killed_after_first_checkpoint(args, tmp_path / "killed", {"OMP_NUM_THREADS": "1"})
    assert lhyrl_main(["train", "--resume", str(killed)]) == 0
    straight = train(tmp_path / "straight", *args)
    assert same_weights(killed, straight)
    epochs = units(killed, "mle")
    assert sorted(set(epochs)) == list(range(1, 101))  # no epoch missing across the kill
    assert eval_json(killed)["test"] == eval_json(straight)["test"]


# ------------------------------------------------------------------------- other settings


def test_dialogue_rl_self_play_talks_with_itself_while_the_shipped_model_scores() -> None:
    config = make_config(
        {
            "algo": "dialogue-rl",
            "env": ENV_ID,
            "max_pairs": 16,
            "self_play": True,
            "dialogues_per_iteration": 2,
            "device": "cpu",
        }
    )
    prepared = prepare(config)
    try:
        env = prepared.envs[0].unwrapped
        assert isinstance(env, DialogueEnv)
        assert env.user_model is prepared.task.chat_model  # it talks with itself
        scorer = env.forward_model
        assert scorer is not None and scorer is not env.user_model  # the shipped model scores
        assert scorer.vocabulary == env.user_model.vocabulary
        assert env.max_turns == 5  # the preset's train_max_turns
    finally:
        close_envs(prepared.envs)


def test_dialogue_rl_in_chinese_starts_from_and_talks_with_the_shipped_chinese_models(
    tmp_path: Path,
) -> None:
    args = [*ALGOS["dialogue-rl"], "--corpus", "chinese", "--iterations", "1", "--no-self-play"]
    run_dir = train(tmp_path, *args, "--eval-every", "0", "--samples-every", "0")
    result = eval_json(run_dir)
    assert "chinese_forward.pt" in result["init"] and result["language"] == "chinese"
    model = ChatModel.load(run_dir / "model.pt")
    shipped = load_shipped_model(None, "forward", "chinese")
    assert model.language == "chinese" and model.vocabulary == shipped.vocabulary
    assert result["simulation_note"] is None and result["simulation"]["n_dialogues"] == 4


def test_bad_inputs_are_refused_before_anything_is_written(
    runs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mle_run = finished(runs, "mle", tmp_path_factory)  # not the simulated user's vocabulary
    new = [*SMALL, "--runs-dir", str(tmp_path / "runs")]
    rl = [*ALGOS["dialogue-rl"], *new]
    error = refused(capsys, *rl, "--init", str(mle_run))
    assert "vocabulary" in error and "--user-model and --backward-model" in error
    error = refused(capsys, *ALGOS["mmi"], *new, "--init", str(tmp_path))
    assert "init:" in error and "model.pt" in error
    error = refused(capsys, *rl, "--language", "chinese", "--init", str(mle_run))
    assert "language chinese" in error
    error = refused(capsys, *rl, "--baseline", "greedy", "--gamma", "0.5")
    assert "needs gamma 0" in error
    error = refused(capsys, *ALGOS["mmi"], *new, "--contexts-per-step", "17")
    assert "contexts_per_step=17" in error
    error = refused(capsys, "--algo", "regs", "--env", "CartPole-v1")
    assert "regs cannot train on CartPole-v1" in error and "dialogue: " in error
    assert not (tmp_path / "runs").exists()


def test_the_script_forwards_old_flags_to_lhyrl_train(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "train_dialogue", ROOT / "scripts" / "train_dialogue.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    argv = ["--algo", "adversarial", "--d-steps", "2", "--lr", "0.01", "--show-config"]
    assert script.main([*argv, "--reward-weights", "0.1", "0.2", "0.7"]) == 0
    out = capsys.readouterr().out
    assert "algo: regs" in out and "env: lhyrl/Dialogue-v0" in out
    assert "discriminator_steps: 2" in out and "learning_rate: 0.01" in out
    assert "semantic_coherence_weight: 0.7" in out
