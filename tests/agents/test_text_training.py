"""``scripts/train_text.py`` end to end on the English chatterbot corpus, on tiny budgets: the
held-out NLL falls, TensorBoard gets decoded sentences, SeqGAN logs its discriminator, and an
interrupted run finishes from its checkpoint."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lhyrl.agents.seqgan import SeqGAN
from lhyrl.agents.sequence_base import MLE

torch.set_num_threads(1)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_text.py"
TINY = ["--embedding-dim", "32", "--hidden-dim", "32", "--max-length", "12", "--threads", "1"]


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_text", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _events(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "scalars": 0})
    events.Reload()
    return events


def _texts(events: EventAccumulator, tag: str) -> list[str]:
    return [
        value.decode("utf-8")
        for event in events.Tensors(f"{tag}/text_summary")
        for value in event.tensor_proto.string_val
    ]


def test_mle_on_english_learns_and_logs_decoded_sentences(script: ModuleType, tmp_path: Path):
    args = ["--corpus", "english", "--algo", "mle", "--epochs", "3", "--seed", "0"]
    summary: dict[str, Any] = script.main(
        [*args, *TINY, "--samples-every", "1", "--logdir", str(tmp_path)]
    )
    # Untrained: about log V = log 2,500 nats; three epochs already learn most of the corpus.
    assert summary["nll_test"] < summary["nll_test_untrained"] - 3.0, summary
    run_dir = Path(summary["run_dir"])
    events = _events(run_dir)
    nll = [e.value for e in events.Scalars("eval/nll_test")]
    assert len(nll) == 4 and nll[-1] < nll[0] - 3.0  # step 0 (untrained) and every epoch
    samples = _texts(events, "train/samples")
    assert samples, events.Tags()
    vocabulary = set(json.loads((run_dir / "vocab.json").read_text(encoding="utf-8")))
    words = [w for text in samples for w in text.split() if w.isalpha()]
    assert len(words) > 10 and all(w in vocabulary for w in words), samples[-1]
    assert not any(w.isdigit() for text in samples for w in text.split()[:3])  # text, not ids
    trained = MLE.load(run_dir / "model.pt")
    assert trained.num_epochs == 3 and trained.vocab_size == len(vocabulary)


def test_seqgan_logs_discriminator_accuracy_and_resumes(script: ModuleType, tmp_path: Path):
    args = ["--corpus", "english", "--algo", "seqgan", "--pretrain-epochs", "1", "--epochs", "1"]
    budget = ["--rollouts", "2", "--disc-pretrain-rounds", "1", "--disc-samples", "128"]
    summary = script.main([*args, *budget, *TINY, "--logdir", str(tmp_path)])
    run_dir = Path(summary["run_dir"])
    accuracy = [e.value for e in _events(run_dir).Scalars("train/disc_accuracy")]
    assert accuracy and all(0.0 <= a <= 1.0 for a in accuracy)
    assert summary["epochs"] == 2  # one MLE epoch, one adversarial epoch

    # "Interrupt" after the run's budget, raise the budget, and finish from the checkpoint.
    saved = json.loads((run_dir / "args.json").read_text(encoding="utf-8"))
    (run_dir / "args.json").write_text(json.dumps({**saved, "epochs": 2}), encoding="utf-8")
    resumed = script.main(["--resume", str(run_dir)])
    assert resumed["run_dir"] == str(run_dir) and resumed["epochs"] == 3
    assert resumed["updates"] == summary["updates"] + 1  # one more policy-gradient update
    assert SeqGAN.load(run_dir / "model.pt").num_epochs == 3
