"""``lhyrl chat`` / ``scripts/chat.py`` in a pseudo-terminal, the chat loop, and a dialogue run.

``lhyrl train --algo mle --env lhyrl/Dialogue-v0`` trains a tiny model for one epoch on a slice
of the English corpus (its run directory is then chatted with through ``lhyrl chat``); a tiny
Chinese model is trained in-process on two pairs. The terminal sessions run the real command
in a pty, type as a user would, and read the replies.
"""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lhyrl.agents.dialogue import DialogueMLE, new_chat_model
from lhyrl.chat import chat, load_chat_model
from lhyrl.cli import main as lhyrl_main
from lhyrl.data.dialogue import TokenizedPair, build_dialogue_vocabulary, encode_pairs
from lhyrl.nn.chat_model import ChatModel, ChatModelError
from lhyrl.nn.seq2seq import Seq2SeqConfig

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "TERM": "dumb", "PYTHONIOENCODING": "utf-8"}
TINY = ["--embedding-dim", "16", "--hidden-dim", "16", "--max-pairs", "64", "--batch-size", "32"]


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def english_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory of ``lhyrl train --algo mle --env lhyrl/Dialogue-v0``: one epoch."""
    runs = tmp_path_factory.mktemp("runs")
    args = ["train", "--algo", "mle", "--env", "lhyrl/Dialogue-v0", "--epochs", "1"]
    assert lhyrl_main([*args, "--eval-episodes", "4", "--runs-dir", str(runs), *TINY]) == 0
    (run_dir,) = runs.iterdir()
    return run_dir


@pytest.fixture(scope="module")
def chinese_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Chinese model that has learned two replies."""
    conversations = [("你好", "你好！"), ("你是谁？", "我是机器人。")]
    vocabulary = build_dialogue_vocabulary(conversations, "chinese")
    pairs = [TokenizedPair(tuple(c), tuple(r)) for c, r in conversations]
    src, tgt = encode_pairs(pairs, vocabulary, source_len=8, target_len=8)
    model = new_chat_model(
        config=Seq2SeqConfig(vocab_size=len(vocabulary), embedding_dim=16, hidden_dim=16),
        vocabulary=vocabulary,
        language="chinese",
        source_len=8,
        target_len=8,
        context_turns=1,
        seed=0,
    )
    DialogueMLE(chat_model=model, learning_rate=3e-2, batch_size=2).train(src, tgt, epochs=60)
    assert model.reply(["你好"]) == "你好！" and model.reply(["你是谁？"]) == "我是机器人。"
    return model.save(tmp_path_factory.mktemp("chinese") / "zh.pt")


# -------------------------------------------------------------------------- the terminal


class Terminal:
    """A command running in a pseudo-terminal, read up to expected text and typed into."""

    def __init__(self, *args: str) -> None:
        self.master, slave = os.openpty()
        self.process = subprocess.Popen(
            [sys.executable, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=ENV,
            start_new_session=True,
        )
        os.close(slave)
        self.buffer = b""

    def expect(self, text: str, timeout: float = 60.0) -> str:
        """Everything printed up to and including ``text`` (which must come)."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        while needle not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.master], [], [], remaining)[0]:
                raise AssertionError(f"no {text!r} within {timeout} s; got {self.buffer!r}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the process closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"the process ended before {text!r}: {self.buffer!r}")
            self.buffer += chunk
        end = self.buffer.index(needle) + len(needle)
        seen, self.buffer = self.buffer[:end], self.buffer[end:]
        return seen.decode("utf-8", "replace")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, timeout: float = 30.0) -> int:
        code = self.process.wait(timeout)
        os.close(self.master)
        return code


def _reply_line(seen: str) -> str:
    """The reply in what a terminal showed after a message was typed."""
    return seen.split("bot> ", 1)[1].split("\r\n", 1)[0].strip()


def test_lhyrl_chat_in_a_terminal(english_run: Path) -> None:
    model = ChatModel.load(english_run / "model.pt")
    term = Terminal("-m", "lhyrl.cli", "chat", str(english_run), "--decoding", "greedy")
    term.expect("you> ")
    term.type("hello, how are you?\n")
    reply = _reply_line(term.expect("you> "))
    assert reply == (model.reply(["hello, how are you?"]) or "...")
    term.type("\n")  # empty input: a hint, not a crash
    assert "type a message" in term.expect("you> ")
    term.type("qwxz zzyzx\n")  # no known word: said so, then a reply all the same
    seen = term.expect("you> ")
    assert "know none of these words" in seen and "bot> " in seen
    term.type("/reset\n")
    assert "new conversation" in term.expect("you> ")
    term.type("/quit\n")
    assert term.wait() == 0
    assert b"Traceback" not in term.buffer


def test_chinese_chat_in_a_terminal_ends_on_ctrl_d_and_ctrl_c(chinese_model: Path) -> None:
    term = Terminal("scripts/chat.py", str(chinese_model), "--decoding", "beam")
    term.expect("you> ")
    term.type("你是谁？\n")
    assert _reply_line(term.expect("you> ")) == "我是机器人。"
    term.type("\x04")  # Ctrl-D at the start of a line: end of input
    assert term.wait() == 0

    term = Terminal("scripts/chat.py", str(chinese_model))
    term.expect("you> ")
    term.type("你好\n")
    assert _reply_line(term.expect("you> ")) == "你好！"
    os.kill(term.process.pid, signal.SIGINT)  # what Ctrl-C sends
    assert term.wait() == 0
    assert b"Traceback" not in term.buffer and b"KeyboardInterrupt" not in term.buffer


def test_a_corrupt_model_file_is_refused_clearly(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.pt").write_bytes(b"this is not a model")
    out = subprocess.run(
        [sys.executable, "-m", "lhyrl.cli", "chat", str(run_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode != 0
    assert "lhyrl chat: error:" in out.stderr and "unreadable chat-model file" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_models_and_other_files_are_refused_clearly(
    tmp_path: Path, english_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lhyrl_main(["chat", str(tmp_path)]) == 2
    assert f"{tmp_path} holds no model.pt" in capsys.readouterr().err
    assert lhyrl_main(["chat", str(tmp_path / "nothing.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(ChatModelError, match="not a chat-model file"):
        load_chat_model(english_run / "checkpoints" / "checkpoint.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((english_run / "model.pt").read_bytes()[:1000])
    with pytest.raises(ChatModelError, match="unreadable"):
        load_chat_model(truncated)


# ------------------------------------------------------------------------- the chat loop


def _session(model: ChatModel, lines: list[str], **kwargs: object) -> list[str]:
    out = io.StringIO()
    chat(model, input_stream=io.StringIO("".join(f"{x}\n" for x in lines)), output_stream=out,
         **kwargs)  # type: ignore[arg-type]  # fmt: skip
    return out.getvalue().split("you> ")[1:]


def test_chat_keeps_the_history_and_resets_it(chinese_model: Path) -> None:
    model = load_chat_model(chinese_model)
    model.context_turns = 3
    shown = _session(model, ["你好", "你是谁？", "/reset", "你是谁？"], decoding="greedy")
    replies = [_reply_line(s.replace("\n", "\r\n")) for s in (shown[0], shown[1], shown[3])]
    assert replies[0] == model.reply(["你好"])
    assert replies[1] == model.reply(["你好", replies[0], "你是谁？"])  # three turns of context
    assert "new conversation" in shown[2]
    assert replies[2] == model.reply(["你是谁？"])  # nothing before the reset
    one_turn = _session(model, ["你好", "你是谁？"], decoding="greedy", history_turns=1)
    assert _reply_line(one_turn[1].replace("\n", "\r\n")) == "我是机器人。"
    assert shown[-1] == "\n"  # end of input: a clean newline


def test_chat_sampling_is_seeded_and_bad_settings_are_refused(chinese_model: Path) -> None:
    model = load_chat_model(chinese_model)
    lines = ["你好"] * 5
    first = _session(model, lines, decoding="sample", seed=3)
    assert first == _session(model, lines, decoding="sample", seed=3)
    with pytest.raises(ValueError, match="decoding must be"):
        _session(model, lines, decoding="nucleus")
    with pytest.raises(ValueError, match="history_turns must be at least 1"):
        _session(model, lines, history_turns=0)


@pytest.mark.parametrize(
    ("flags", "language", "line"),
    [((), "english", "hi"), (("--language", "chinese"), "chinese", "你好")],
)
def test_chat_without_a_model_talks_to_the_shipped_one_and_echoes_piped_lines(
    flags: tuple[str, ...], language: str, line: str
) -> None:
    from lhyrl.envs.dialogue.user import load_chat_model as load_shipped_model

    out = subprocess.run(
        [sys.executable, "-m", "lhyrl.cli", "chat", *flags, "--decoding", "greedy"],
        input=f"{line}\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"chatting with the shipped {language} model ({language}_forward.pt)" in out.stdout
    expected = load_shipped_model(None, "forward", language).reply([line], decoding="greedy")
    assert f"you> {line}\nbot> {expected}\n" in out.stdout  # the piped line is shown


def test_chat_takes_the_model_once(english_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lhyrl_main(["chat", str(english_run), "--model", "other.pt"]) == 2
    assert "give the model once" in capsys.readouterr().err
