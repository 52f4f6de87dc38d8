"""``scripts/train_dialogue.py --algo rl``, ``mmi`` and ``adversarial``: runs, resume, refusals.

All start from the shipped English chat model (the default ``--init``) and train for two
iterations on a slice of the corpus: RL with two dialogues an iteration against
``lhyrl/Dialogue-v0``'s simulated user, MMI with two candidates for each of two contexts,
REGS with a tiny discriminator pretraining. A run interrupted after its first iteration and
resumed, and a one-iteration run extended with ``--resume --iterations 2``, must end with the
weights of the uninterrupted run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lhyrl.agents.dialogue import AdversarialDialogue, DialogueMMI, DialoguePG
from lhyrl.envs.dialogue.user import load_chat_model as load_shipped_model
from lhyrl.nn.chat_model import ChatModel

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
SMALL = [
    "--max-pairs", "16", "--batch-size", "8", "--eval-dialogues", "4", "--max-turns", "3",
    "--sample-every", "1", "--eval-every", "1", "--checkpoint-every", "1",
]  # fmt: skip
RL = ["--algo", "rl", "--dialogues-per-iteration", "2", *SMALL]
MMI = ["--algo", "mmi", "--candidates", "2", "--contexts-per-step", "2", *SMALL]
ADVERSARIAL = ["--algo", "adversarial", "--n-rollouts", "1", "--disc-pretrain-steps", "2", *SMALL]
TEST_KEYS = {"nll", "distinct_1", "distinct_2", "bleu", "reply_length"}


class KilledError(Exception):
    """Stands for a run killed in the middle."""


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "train_dialogue", ROOT / "scripts" / "train_dialogue.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _script()


@pytest.fixture(scope="module")
def rl_run(script: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("rl") / "run"
    script.main([*RL, "--iterations", "2", "--run-dir", str(run_dir)])
    return run_dir


@pytest.fixture(scope="module")
def adversarial_run(script: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("adversarial") / "run"
    script.main([*ADVERSARIAL, "--iterations", "2", "--run-dir", str(run_dir)])
    return run_dir


def _eval(run_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    return result


def _tags(run_dir: Path) -> tuple[set[str], set[str], EventAccumulator]:
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "scalars": 0}).Reload()
    tags = events.Tags()
    return set(tags["scalars"]), set(tags["tensors"]), events


def _same_weights(a: Path, b: Path) -> bool:
    first, second = ChatModel.load(a / "model.pt"), ChatModel.load(b / "model.pt")
    one, two = first.model.state_dict(), second.model.state_dict()
    return one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)


def _killed_in_the_second_iteration(
    script: ModuleType, argv: list[str], trainer: type[DialoguePG | DialogueMMI]
) -> None:
    """Run the script with ``trainer.train_iteration`` dying as its second iteration starts."""
    original = trainer.train_iteration

    def dies_in_the_second(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.num_iterations == 1:
            raise KilledError
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer, "train_iteration", dies_in_the_second)
        with pytest.raises(KilledError):
            script.main(argv)


def _check_common(run_dir: Path, algo: str) -> dict[str, Any]:
    """What every run leaves: args, the chat model, eval.json with a simulation, a checkpoint."""
    args = json.loads((run_dir / "args.json").read_text(encoding="utf-8"))
    assert args["algo"] == algo and args["iterations"] == 2 and args["init"] is None
    model = ChatModel.load(run_dir / "model.pt")
    assert model.vocabulary == load_shipped_model(None, "forward").vocabulary
    assert (run_dir / "checkpoints" / "checkpoint.pt").is_file()
    result = _eval(run_dir)
    assert result["algo"] == algo and result["iterations"] == 2
    assert set(result["test"]) == TEST_KEYS and set(result["test_beam"]) == TEST_KEYS
    assert result["samples"] and all({"context", "reply"} <= set(s) for s in result["samples"])
    sim = result["simulation"]
    assert result["simulation_note"] is None and sim["n_dialogues"] == 4
    assert {"dialogue_length", "distinct_1", "distinct_2", "reward_total", "transcripts"} <= set(
        sim
    )
    assert 1 <= sim["dialogue_length"] <= 1 + 2 * 3  # the opening, then at most 3 agent turns
    assert 0 <= sim["distinct_1"] <= 1 and 0 <= sim["distinct_2"] <= 1
    assert sim["transcripts"] and sim["transcripts"][0][0][0] == "user"
    return result


# ------------------------------------------------------------------------------------ rl


def test_rl_writes_a_complete_run(rl_run: Path) -> None:
    result = _check_common(rl_run, "rl")
    assert result["updates"] == 2  # one step per iteration
    scalars, tensors, events = _tags(rl_run)
    assert {
        "rollout/reward_total",
        "rollout/ease_of_answering",
        "rollout/information_flow",
        "rollout/semantic_coherence",
        "rollout/dialogue_length",
        "train/loss",
        "train/pg_loss",
        "train/mle_loss",
        "train/entropy",
        "eval/nll",
        "eval/dialogue_length",
        "test/bleu",
        "test_sim/dialogue_length",
        "test_sim/distinct_2",
    } <= scalars
    assert {"samples/dialogues/text_summary", "samples/test_dialogues/text_summary"} <= tensors
    assert [e.step for e in events.Scalars("rollout/reward_total")] == [1, 2]
    assert [e.step for e in events.Scalars("eval/nll")] == [0, 1, 2]  # the --init model first


def test_rl_resumes_an_interrupted_run_exactly(
    script: ModuleType, rl_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    _killed_in_the_second_iteration(
        script, [*RL, "--iterations", "2", "--run-dir", str(run_dir)], DialoguePG
    )
    assert (run_dir / "checkpoints" / "checkpoint.pt").is_file()
    assert not (run_dir / "model.pt").exists() and not (run_dir / "eval.json").exists()

    result = script.main(["--resume", str(run_dir)])
    assert result["iterations"] == 2 and result["updates"] == 2
    assert _same_weights(run_dir, rl_run)
    assert result["simulation"] == _eval(rl_run)["simulation"]
    _, _, events = _tags(run_dir)
    assert [e.step for e in events.Scalars("rollout/reward_total")] == [1, 2]


def test_rl_self_play_talks_with_itself_and_resumes_exactly(
    script: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainers: list[DialoguePG] = []
    original_init = DialoguePG.__init__

    def recorded(self: DialoguePG, **kwargs: Any) -> None:
        original_init(self, **kwargs)
        trainers.append(self)

    monkeypatch.setattr(DialoguePG, "__init__", recorded)
    self_play = [*RL, "--self-play", "--iterations", "2"]
    script.main([*self_play, "--run-dir", str(tmp_path / "whole")])
    env = trainers[0].envs[0].unwrapped
    assert env.user_model is trainers[0].chat_model  # it talks with itself
    assert env.forward_model is not env.user_model  # the fixed shipped model scores
    assert env.forward_model.vocabulary == env.user_model.vocabulary
    _killed_in_the_second_iteration(
        script, [*self_play, "--run-dir", str(tmp_path / "killed")], DialoguePG
    )
    result = script.main(["--resume", str(tmp_path / "killed")])
    assert result["updates"] == 2 and _same_weights(tmp_path / "killed", tmp_path / "whole")
    assert result["simulation"] == _eval(tmp_path / "whole")["simulation"]


def test_rl_in_chinese_starts_from_and_talks_with_the_shipped_chinese_models(
    script: ModuleType, tmp_path: Path
) -> None:
    run_dir = tmp_path / "zh"
    result = script.main(
        [*RL, "--language", "chinese", "--iterations", "1", "--run-dir", str(run_dir)]
    )
    shipped = load_shipped_model(None, "forward", "chinese")
    assert "chinese_forward.pt" in result["init"] and result["language"] == "chinese"
    model = ChatModel.load(run_dir / "model.pt")
    assert model.language == "chinese" and model.vocabulary == shipped.vocabulary
    assert result["simulation_note"] is None and result["simulation"]["n_dialogues"] == 4


def test_rl_refuses_an_init_model_of_another_vocabulary(script: ModuleType, tmp_path: Path) -> None:
    # a tiny MLE run: its vocabulary (min count 2) is not the shipped user's (min count 1)
    mle_dir = tmp_path / "mle"
    tiny = ["--embedding-dim", "8", "--hidden-dim", "8", "--epochs", "1", "--min-count", "2"]
    result = script.main(["--algo", "mle", *tiny, *SMALL, "--run-dir", str(mle_dir)])
    assert result["iterations"] is None and result["epochs"] == 1
    assert result["simulation"] is None and "vocabulary" in result["simulation_note"]

    run_dir = tmp_path / "rl"
    with pytest.raises(script.RunError, match="--user-model and --backward-model") as error:
        script.main([*RL, "--iterations", "1", "--init", str(mle_dir), "--run-dir", str(run_dir)])
    assert "vocabulary" in str(error.value)
    assert not run_dir.exists()  # refused before anything was written
    with pytest.raises(script.RunError, match=r"--init: .* holds no model\.pt"):
        script.main([*RL, "--init", str(tmp_path), "--run-dir", str(run_dir)])
    with pytest.raises(script.RunError, match="--language chinese"):  # an English --init
        script.main(
            [*RL, "--language", "chinese", "--init", str(mle_dir), "--run-dir", str(run_dir)]
        )
    with pytest.raises(SystemExit):  # --resume changes nothing but the run's length
        script.main(["--resume", str(mle_dir), "--lr", "1.0"])
    with pytest.raises(SystemExit):  # the self-critical baseline scores one turn only
        script.main([*RL, "--baseline", "greedy", "--gamma", "0.5", "--run-dir", str(run_dir)])
    assert not run_dir.exists()


# ----------------------------------------------------------------------------------- mmi


def test_mmi_writes_a_complete_run_that_resumes_exactly(script: ModuleType, tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    result = script.main([*MMI, "--iterations", "2", "--run-dir", str(whole)])
    _check_common(whole, "mmi")
    assert result["updates"] == 2  # one step (policy gradient + MLE) per iteration
    scalars, tensors, events = _tags(whole)
    assert {
        "train/reward_mean",
        "train/reward_std_within",
        "train/pg_loss",
        "train/mle_loss",
        "eval/nll",
        "test/bleu",
        "test_sim/dialogue_length",
    } <= scalars
    assert "samples/replies/text_summary" in tensors
    assert [e.step for e in events.Scalars("train/reward_mean")] == [1, 2]

    run_dir = tmp_path / "run"
    _killed_in_the_second_iteration(
        script, [*MMI, "--iterations", "2", "--run-dir", str(run_dir)], DialogueMMI
    )
    resumed = script.main(["--resume", str(run_dir)])
    assert resumed["iterations"] == 2 and _same_weights(run_dir, whole)
    assert resumed["simulation"] == result["simulation"]


# --------------------------------------------------------------------------- adversarial


def test_adversarial_writes_a_complete_run(adversarial_run: Path) -> None:
    result = _check_common(adversarial_run, "adversarial")
    assert result["updates"] == 4  # a generator and a teacher-forcing step per iteration
    assert {"disc_acc_human", "disc_acc_machine", "disc_accuracy"} <= set(
        result["test_discriminator"]
    )
    scalars, tensors, events = _tags(adversarial_run)
    assert {
        "pretrain/disc_loss",
        "train/disc_loss",
        "train/disc_acc_human",
        "train/disc_acc_machine",
        "train/reward_mean",
        "train/pg_loss",
        "train/mle_loss",
        "eval/nll",
        "eval/disc_accuracy",
        "test/nll",
        "test_sim/distinct_1",
    } <= scalars
    assert "samples/replies/text_summary" in tensors
    assert [e.step for e in events.Scalars("train/disc_acc_human")] == [2, 4]


def test_adversarial_run_extended_by_resume_equals_the_whole_run(
    script: ModuleType, adversarial_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    first = script.main([*ADVERSARIAL, "--iterations", "1", "--run-dir", str(run_dir)])
    assert first["iterations"] == 1 and (run_dir / "model.pt").is_file()
    result = script.main(["--resume", str(run_dir), "--iterations", "2"])
    assert result["iterations"] == 2 and result["updates"] == 4
    assert json.loads((run_dir / "args.json").read_text(encoding="utf-8"))["iterations"] == 2
    assert _eval(run_dir)["iterations"] == 2
    assert _same_weights(run_dir, adversarial_run)


def test_adversarial_resume_skips_the_discriminator_pretraining(
    script: ModuleType, adversarial_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    original = AdversarialDialogue.generator_step
    calls: list[int] = []

    def dies_in_the_second(self: AdversarialDialogue, *args: Any, **kwargs: Any) -> Any:
        if self.num_iterations == 1:
            raise KilledError
        return original(self, *args, **kwargs)

    def pretrain(self: AdversarialDialogue, *args: Any, **kwargs: Any) -> dict[str, float]:
        calls.append(1)
        return original_pretrain(self, *args, **kwargs)

    original_pretrain = AdversarialDialogue.pretrain_discriminator
    monkeypatch.setattr(AdversarialDialogue, "generator_step", dies_in_the_second)
    monkeypatch.setattr(AdversarialDialogue, "pretrain_discriminator", pretrain)
    with pytest.raises(KilledError):
        script.main([*ADVERSARIAL, "--iterations", "2", "--run-dir", str(run_dir)])
    monkeypatch.setattr(AdversarialDialogue, "generator_step", original)
    assert calls == [1]
    script.main(["--resume", str(run_dir)])
    assert calls == [1]  # the checkpoint holds the pretrained discriminator
    assert _same_weights(run_dir, adversarial_run)
