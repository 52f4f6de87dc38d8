"""The run layer's sequence family from ``lhyrl train``: run files, learning, init, resume, checks.

Every SeqGen-v0 run uses a small random oracle (30 tokens, sequences of 8) so that the whole
file takes seconds; the TextGen-v0 run goes through ``scripts/train_text.py``.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lhyrl.agents import MLE
from lhyrl.cli import main as lhyrl
from lhyrl.config import make_config
from lhyrl.runs import train_run

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = ("config.yaml", "progress.csv", "model.pt", "eval.json", "checkpoints/checkpoint.pt")
SMALL = {
    "env": "lhyrl/SeqGen-v0",
    "oracle": "random",
    "vocab_size": 30,
    "max_length": 8,
    "train_size": 256,
    "test_size": 64,
    "eval_episodes": 128,
    "batch_size": 32,
    "embedding_dim": 16,
    "hidden_dim": 16,
}
"""A small random oracle and generator, over the SeqGen-v0 presets (the paper's task)."""
SUFFIX = ["--env", "lhyrl/TextGen-v0", "--algo", "mle"]
"""What scripts/train_text.py adds to a command line that names no env and no algo."""
ALGO_FLAGS = {
    "mle": ["--decay-epochs", "1"],
    "scheduled-sampling": ["--sampling-max-probability", "0.5", "--sampling-ramp-epochs", "1"],
    "pg-bleu": ["--generator-steps", "2"],
    "seqgan": [
        "--pretrain-generator-epochs",
        "1",
        "--pretrain-discriminator-rounds",
        "1",
        "--n-rollouts",
        "2",
        "--discriminator-samples",
        "64",
    ],
}


def flags(values: dict[str, Any]) -> list[str]:
    return [item for k, v in values.items() for item in (f"--{k.replace('_', '-')}", str(v))]


def only_run(runs: Path) -> Path:
    (run_dir,) = list(runs.iterdir())
    return run_dir


def eval_json(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))


def progress_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "progress.csv") as f:
        return list(csv.DictReader(f))


def same_contents(a: Any, b: Any) -> bool:
    """Equal files' data: every tensor bit for bit, every other value equal.

    (The bytes of two such files differ: torch.save names its archive after the temporary
    file that an atomic write renames.)
    """
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same_contents(a[k], b[k]) for k in a)
        )
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same_contents, a, b))
    return type(a) is type(b) and a == b


def texts(run_dir: Path, tag: str) -> list[str]:
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    return [
        value.decode("utf-8")
        for event in events.Tensors(f"{tag}/text_summary")
        for value in event.tensor_proto.string_val
    ]


@pytest.fixture(scope="module")
def mle_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("mle")
    values = {**SMALL, "algo": "mle", "epochs": 10, "decay_epochs": 2, "runs_dir": str(runs)}
    return train_run(make_config(values))


@pytest.mark.parametrize("algo", list(ALGO_FLAGS))
def test_each_algo_trains_on_seqgen_and_writes_every_run_file(
    algo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--algo", algo, *flags(SMALL), *ALGO_FLAGS[algo], "--epochs", "2"]
    assert lhyrl([*args, "--eval-every", "1", "--runs-dir", str(tmp_path)]) == 0
    run_dir = only_run(tmp_path)
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    assert list(run_dir.glob("events.out.tfevents.*"))
    result = eval_json(run_dir)
    assert {"nll_oracle", "nll_test", "distinct_4", "samples", "updates"} <= set(result)
    assert result["algo"] == algo and result["learn_unit"] == "epochs"
    assert result["learn_progress"] == 2 and result["eval_samples"] == 128
    assert math.isfinite(result["nll_oracle"]) and 0 < result["distinct_4"] <= 1
    assert len(result["samples"]) == 8 and len(result["samples"][0].split()) == 8
    evaluated = [
        float(r["eval/nll_oracle"]) for r in progress_rows(run_dir) if r.get("eval/nll_oracle")
    ]
    assert len(evaluated) == 3 and evaluated[-1] == pytest.approx(result["nll_oracle"])
    # Diversity beside quality at every evaluation, so mode collapse shows in TensorBoard.
    diversity = [
        float(r["eval/self_bleu_4"]) for r in progress_rows(run_dir) if r.get("eval/self_bleu_4")
    ]
    assert len(diversity) == 3 and diversity[-1] == pytest.approx(result["self_bleu_4"])
    assert 0 <= result["self_bleu_4"] <= 1
    # `lhyrl eval` draws the same samples from the same seed: the same scores.
    capsys.readouterr()
    assert lhyrl(["eval", str(run_dir)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["nll_oracle"] == result["nll_oracle"] and again["nll_test"] == result["nll_test"]


def test_mle_beats_the_untrained_generator_on_nll_oracle(mle_run: Path, tmp_path: Path) -> None:
    untrained = train_run(
        make_config({**SMALL, "algo": "mle", "epochs": 0, "runs_dir": str(tmp_path)})
    )
    before, after = eval_json(untrained), eval_json(mle_run)
    assert after["nll_oracle"] < before["nll_oracle"] - 1.0, (before, after)
    assert after["nll_test"] < before["nll_test"] - 0.5, (before, after)


def test_init_starts_a_run_from_another_runs_generator(mle_run: Path, tmp_path: Path) -> None:
    values = {**SMALL, "algo": "seqgan", "epochs": 0, "runs_dir": str(tmp_path / "ok")}
    run_dir = train_run(make_config({**values, "init": str(mle_run)}))
    started, source = eval_json(run_dir), eval_json(mle_run)
    assert started["nll_test"] == source["nll_test"]
    assert started["nll_oracle"] == source["nll_oracle"]  # same weights, same evaluation draws

    args = ["train", "--algo", "pg-bleu", *flags(SMALL), "--embedding-dim", "8"]
    assert lhyrl([*args, "--init", str(mle_run), "--runs-dir", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()  # refused before the run folder is made


def test_text_run_from_train_text_logs_decoded_sentences(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("train_text", ROOT / "scripts" / "train_text.py")
    assert spec is not None and spec.loader is not None
    script: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    argv = ["--corpus", "english", "--epochs", "2", "--embedding-dim", "16", "--hidden-dim", "16"]
    argv += ["--max-length", "8", "--samples-every", "1", "--lr=0.01", "--logdir", str(tmp_path)]
    assert script.lhyrl_argv(argv)[0][-8:] == [
        "--runs-dir",
        str(tmp_path),
        *SUFFIX,
        "--threads",
        "1",
    ]
    assert script.main(argv) == 0
    run_dir = only_run(tmp_path)
    for name in (*RUN_FILES, "vocab.json"):
        assert (run_dir / name).is_file(), name
    result = eval_json(run_dir)
    assert result["env"] == "lhyrl/TextGen-v0" and result["algo"] == "mle"
    assert "nll_oracle" not in result
    assert {"distinct_2", "distinct_4", "self_bleu_4"} <= set(result)
    assert 0 < result["distinct_2"] <= 1 and 0 <= result["self_bleu_4"] <= 1
    # Untrained: about log V nats (V = 3,373 tokens); two epochs already learn much of the corpus.
    assert result["nll_test"] < math.log(result["vocab_size"]) - 2.0, result
    vocabulary = set(json.loads((run_dir / "vocab.json").read_text(encoding="utf-8")))
    logged = texts(run_dir, "samples/text")
    words = [w for text in [*logged, *result["samples"]] for w in text.split() if w.isalpha()]
    assert logged and len(words) > 10 and all(w in vocabulary for w in words)
    assert not any(w.isdigit() for text in result["samples"] for w in text.split()[:3])
    assert MLE.load(run_dir / "model.pt").vocab_size == len(vocabulary)


KILLED = """
import os, signal, sys
import torch
from lhyrl.agents import SeqGAN
from lhyrl.cli import main

torch.set_num_threads(1)
original = SeqGAN.policy_step

def killed_in_the_fourth_epoch(self):
    if self.num_epochs == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self)

SeqGAN.policy_step = killed_in_the_fourth_epoch
main(sys.argv[1:])
"""


def test_seqgan_killed_mid_training_resumes_to_the_same_model(tmp_path: Path) -> None:
    args = ["train", "--algo", "seqgan", *flags(SMALL), *ALGO_FLAGS["seqgan"], "--epochs", "5"]
    args += ["--eval-every", "1", "--checkpoint-every", "2"]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, *args, "--runs-dir", str(tmp_path / "killed")],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr.decode()
    run_dir = only_run(tmp_path / "killed")
    assert not (run_dir / "model.pt").exists() and not (run_dir / "eval.json").exists()
    rows_before = progress_rows(run_dir)
    assert lhyrl(["train", "--resume", str(run_dir)]) == 0

    assert lhyrl([*args, "--runs-dir", str(tmp_path / "straight")]) == 0
    straight = only_run(tmp_path / "straight")
    assert same_contents(
        torch.load(run_dir / "model.pt", weights_only=True),
        torch.load(straight / "model.pt", weights_only=True),
    )
    assert eval_json(run_dir)["nll_oracle"] == eval_json(straight)["nll_oracle"]
    rows = progress_rows(run_dir)
    assert rows[: len(rows_before)] == rows_before  # appended to, not rewritten
    epochs = [int(float(r["train/epoch"])) for r in rows if r.get("train/epoch")]
    assert epochs == [1, 2, 3, 3, 4, 5]  # epoch 3 (after the checkpoint at 2) ran twice


def test_an_algo_given_an_env_of_another_kind_says_which_it_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = lhyrl(["train", "--algo", "seqgan", "--env", "CartPole-v1", "--runs-dir", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert "seqgan cannot train on CartPole-v1" in error
    assert "sequence" in error and "lhyrl/SeqGen-v0" in error and "lhyrl/TextGen-v0" in error
    assert not any(tmp_path.iterdir())
