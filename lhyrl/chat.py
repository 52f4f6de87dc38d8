"""Talk to a chat model in the terminal: ``lhyrl chat [RUN_DIR]`` (or ``scripts/chat.py``).

With no model named, the shipped English model answers (``--language chinese``: the Chinese
one). Lines read from a pipe or file are echoed after the prompt, so transcripts read
``you> hi`` / ``bot> ...``.

The loop prompts ``you> ``, replies ``bot> ...``, and keeps the conversation's last turns as
the model's context (as many as the model was trained with, or ``--history-turns``). Empty
input gets a hint; words the model never saw become ``<unk>`` (if none is known it says so,
then still replies); ``/reset`` starts a new conversation, ``/help`` lists the commands, and
``/quit``, end of input (Ctrl-D) or Ctrl-C end the session cleanly. Chinese models read
characters (the tokenization of :mod:`lhyrl.data.text`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # torch loads on use, so that `lhyrl --help` answers at once
    from lhyrl.nn.chat_model import ChatModel, Decoding

__all__ = ["MODEL_FILE", "add_chat_arguments", "chat", "load_chat_model", "main", "run_chat"]

MODEL_FILE = "model.pt"
"""The chat model's file inside a run directory."""

PROMPT = "you> "
BOT = "bot> "
HELP = "type a message and press Enter; /reset starts a new conversation, /quit (or Ctrl-D) leaves"
_QUIT = ("/quit", "/exit", "/q")


def load_chat_model(path: str | os.PathLike[str]) -> ChatModel:
    """Read a chat model from a run directory (its ``model.pt``) or from a chat-model file.

    Args:
        path: A run directory written by ``lhyrl train --env lhyrl/Dialogue-v0``, or a file
            written by :meth:`ChatModel.save` (e.g.
            ``lhyrl/envs/dialogue/weights/english_forward.pt``).

    Returns:
        The model, in evaluation mode.

    Raises:
        FileNotFoundError: If ``path`` does not exist or is a directory without ``model.pt``.
        ChatModelError: If the file is not a readable chat model of this format version.
    """
    path = Path(path)
    if path.is_dir():
        file = path / MODEL_FILE
        if not file.is_file():
            raise FileNotFoundError(
                f"{path} holds no {MODEL_FILE}; pass a run directory written by lhyrl train "
                "--env lhyrl/Dialogue-v0 (after training finished) or a chat-model file"
            )
        from lhyrl.nn.chat_model import ChatModel

        return ChatModel.load(file)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass a run directory or a chat-model file")
    from lhyrl.nn.chat_model import ChatModel

    return ChatModel.load(path)


def _write(stream: TextIO, text: str) -> None:
    stream.write(text)
    stream.flush()


def _read_line(input_stream: TextIO, output_stream: TextIO) -> str | None:
    """Prompt and read one line; ``None`` at end of input.

    The terminal's own line editing (canonical mode: backspace, Ctrl-U, Ctrl-D for end of
    input) applies; GNU readline is not loaded, so typing ahead of a prompt is never lost.
    """
    _write(output_stream, PROMPT)
    line = input_stream.readline()
    if line == "":
        return None
    line = line.rstrip("\r\n")
    if not _is_terminal(input_stream):  # a pipe or file: show the line, as a terminal would
        _write(output_stream, f"{line}\n")
    return line


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def chat(
    model: ChatModel,
    *,
    input_stream: TextIO,
    output_stream: TextIO,
    decoding: Decoding = "beam",
    beam_size: int = 4,
    history_turns: int | None = None,
    seed: int = 0,
) -> int:
    """Chat with ``model``, one line of input per turn, until ``/quit``, end of input or Ctrl-C.

    Args:
        model: The chat model.
        input_stream: Where the user's lines come from (e.g. ``sys.stdin``).
        output_stream: Where prompts and replies go (e.g. ``sys.stdout``).
        decoding: ``"greedy"``, ``"beam"`` or ``"sample"``.
        beam_size: Hypotheses kept by beam search.
        history_turns: Turns of the conversation (the user's and the bot's) kept as context;
            ``None`` keeps as many as the model was trained with (``model.context_turns``).
        seed: Seeds the sampling of ``decoding="sample"``.

    Returns:
        The number of replies given.
    """
    if decoding not in ("greedy", "beam", "sample"):
        raise ValueError(f"decoding must be 'greedy', 'beam' or 'sample', got {decoding!r}")
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1, got {beam_size}")
    keep = model.context_turns if history_turns is None else history_turns
    if keep < 1:
        raise ValueError(f"history_turns must be at least 1, got {keep}")
    import torch

    from lhyrl.data.text import tokenize

    generator = torch.Generator().manual_seed(seed)
    history: list[str] = []
    replies = 0
    try:
        while True:
            line = _read_line(input_stream, output_stream)
            if line is None:  # end of input
                _write(output_stream, "\n")
                break
            text = line.strip()
            command = text.lower()
            if not text:
                _write(output_stream, f"({HELP})\n")
                continue
            if command in _QUIT:
                break
            if command == "/reset":
                history.clear()
                _write(output_stream, "(new conversation)\n")
                continue
            if command == "/help":
                _write(output_stream, f"({HELP})\n")
                continue
            if not tokenize(text, model.language) or model.unknown_fraction(text) == 1.0:
                _write(output_stream, "(I know none of these words; I'll guess)\n")
            history = [*history, text][-keep:]
            reply = model.reply(
                history, decoding=decoding, beam_size=beam_size, generator=generator
            )
            history = [*history, reply][-keep:] if reply else history
            _write(output_stream, f"{BOT}{reply or '...'}\n")
            replies += 1
    except KeyboardInterrupt:  # Ctrl-C ends the session, without a traceback
        _write(output_stream, "\n")
    return replies


def add_chat_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``lhyrl chat`` and ``scripts/chat.py``."""
    parser.add_argument(
        "run_dir",
        nargs="?",
        default=None,
        help="a run directory (holding model.pt) or a chat-model file (default: the shipped "
        "model of --language)",
    )
    parser.add_argument(
        "--model", default=None, help="a chat-model file or run directory (same as RUN_DIR)"
    )
    parser.add_argument(
        "--language",
        choices=["english", "chinese"],
        default="english",
        help="the shipped model to talk to when no model is given",
    )
    parser.add_argument(
        "--decoding", choices=["greedy", "beam", "sample"], default="beam", help="reply decoding"
    )
    parser.add_argument("--beam-size", type=int, default=4, help="beams of --decoding beam")
    parser.add_argument(
        "--history-turns", type=int, default=None, help="turns kept as context (default: model's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --decoding sample")


def run_chat(
    args: argparse.Namespace,
    *,
    input_stream: TextIO | None = None,
    output_stream: TextIO | None = None,
) -> int:
    """Load the model the arguments name and chat on the terminal; returns the exit status (0).

    ``args.run_dir`` or ``args.model`` names a run directory or chat-model file; with neither,
    the shipped model of ``args.language`` (English or Chinese) answers.
    """
    if args.run_dir is not None and args.model is not None and args.run_dir != args.model:
        raise ValueError(f"give the model once: RUN_DIR {args.run_dir} or --model {args.model}")
    source = args.run_dir if args.run_dir is not None else args.model
    if source is None:
        from lhyrl.envs.dialogue.user import load_chat_model as load_shipped_model
        from lhyrl.envs.dialogue.user import shipped_model_file

        model = load_shipped_model(None, "forward", args.language)
        file = shipped_model_file("forward", args.language).name
        source = f"the shipped {args.language} model ({file})"
    else:
        model = load_chat_model(source)
    output = output_stream or sys.stdout
    _write(
        output,
        f"chatting with {source} ({model.language}, {len(model.vocabulary)} tokens, "
        f"{args.decoding} decoding)\n({HELP})\n",
    )
    stream = input_stream or sys.stdin
    if _is_terminal(stream) and threading.current_thread() is threading.main_thread():
        # Ctrl-C ends a terminal chat even when the parent left SIGINT ignored (a shell's
        # background job, nohup): Python then installs no KeyboardInterrupt of its own
        signal.signal(signal.SIGINT, signal.default_int_handler)
    chat(
        model,
        input_stream=stream,
        output_stream=output,
        decoding=args.decoding,
        beam_size=args.beam_size,
        history_turns=args.history_turns,
        seed=args.seed,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``scripts/chat.py``: the command line of ``lhyrl chat``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="chat", description="Talk to a trained chat model.")
    add_chat_arguments(parser)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    try:
        return run_chat(args)
    except (ValueError, FileNotFoundError) as err:  # ChatModelError is a ValueError
        if os.environ.get("LHYRL_DEBUG"):
            raise
        print(f"chat: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
