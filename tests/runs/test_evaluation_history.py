"""The run layer's clock of training time and its ``evaluations.json``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from lhyrl.runs.common import EVALUATIONS_FILE, Evaluation, EvaluationHistory


def _evaluation(value: float) -> Evaluation:
    return Evaluation(scalars={"return": value}, report={})


def test_timed_side_actions_are_left_out_of_training_time(tmp_path: Path) -> None:
    history = EvaluationHistory(tmp_path)
    slow = history.excluding(lambda step: time.sleep(0.3))
    slow(1)
    slow(2)
    assert history.train_seconds() < 0.2  # 0.6 s of evaluations, almost no training
    time.sleep(0.1)
    assert history.train_seconds() >= 0.1


def test_entries_are_saved_after_each_evaluation(tmp_path: Path) -> None:
    history = EvaluationHistory(tmp_path)
    history.add(10, _evaluation(1.0), 2.5)
    history.add(20, _evaluation(3.0), 5.0)
    saved = json.loads((tmp_path / EVALUATIONS_FILE).read_text())
    assert saved == [
        {"step": 10, "train_seconds": 2.5, "return": 1.0},
        {"step": 20, "train_seconds": 5.0, "return": 3.0},
    ]


def test_a_resume_drops_evaluations_past_its_checkpoint_and_counts_on(tmp_path: Path) -> None:
    history = EvaluationHistory(tmp_path)
    for step, seconds in ((10, 2.0), (20, 4.0), (30, 6.0)):
        history.add(step, _evaluation(0.0), seconds)
    resumed = EvaluationHistory(tmp_path, resumed_at=20)
    assert [e["step"] for e in resumed.entries] == [10, 20]
    assert 4.0 <= resumed.train_seconds() < 4.5
    fresh = EvaluationHistory(tmp_path)  # a new run in the folder starts a new history
    assert fresh.entries == [] and fresh.train_seconds() < 0.5


def test_an_unreadable_history_is_restarted(tmp_path: Path) -> None:
    (tmp_path / EVALUATIONS_FILE).write_text("{not json")
    assert EvaluationHistory(tmp_path, resumed_at=5).entries == []
    (tmp_path / EVALUATIONS_FILE).write_text('[{"step": 1}, 3, {"step": 2, "train_seconds": 1.5}]')
    assert EvaluationHistory(tmp_path, resumed_at=5).entries == [{"step": 2, "train_seconds": 1.5}]
    (tmp_path / EVALUATIONS_FILE).write_text('{"step": 1}')
    assert EvaluationHistory(tmp_path, resumed_at=5).entries == []
