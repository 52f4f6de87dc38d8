"""The chat models behind ``lhyrl/Dialogue-v0``: the shipped files and how a model is given.

Two :class:`~lhyrl.nn.chat_model.ChatModel` files per language ship with lhyrl, trained on
chatterbot-corpus (the training split of ``DialogueData.load(language, seed=0)``; English
words, Chinese characters) by ``benchmarks/train_dialogue_user.py``:

- ``weights/<language>_forward.pt``: context → reply. It is the simulated user that answers
  the agent, and Li et al.'s (2016) forward model ``p_seq2seq`` of the reward.
- ``weights/<language>_backward.pt``: reply → context, Li et al.'s backward model of the
  semantic-coherence term.

They are read through :mod:`importlib.resources`, so they are found wherever lhyrl is
installed.
"""

from __future__ import annotations

import os
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Literal

from lhyrl.data.text import Language
from lhyrl.nn.chat_model import ChatModel

Role = Literal["forward", "backward"]
"""``"forward"``: context → reply (the simulated user); ``"backward"``: reply → context."""

_ARGUMENT: dict[Role, str] = {"forward": "user_model", "backward": "backward_model"}


def shipped_model_file(role: Role, language: Language = "english") -> Traversable:
    """The resource of a shipped chat model (English and Chinese ones ship).

    Args:
        role: ``"forward"`` or ``"backward"``.
        language: The model's language.

    Returns:
        ``lhyrl/envs/dialogue/weights/<language>_<role>.pt`` as an importlib resource.
    """
    if role not in _ARGUMENT:
        raise ValueError(f"role must be 'forward' or 'backward', got {role!r}")
    return resources.files("lhyrl.envs.dialogue") / "weights" / f"{language}_{role}.pt"


def load_chat_model(
    model: ChatModel | str | os.PathLike[str] | None,
    role: Role,
    language: Language = "english",
) -> ChatModel:
    """The chat model given as an argument of ``lhyrl/Dialogue-v0``.

    Args:
        model: A :class:`ChatModel` (used as it is, not copied), the path of a file written
            by :meth:`ChatModel.save`, or ``None`` for the shipped model of ``role`` and
            ``language``.
        role: Which shipped model ``None`` stands for.
        language: The shipped model's language.

    Returns:
        The chat model.

    Raises:
        FileNotFoundError: If the file, or the shipped file, does not exist.
        lhyrl.nn.chat_model.ChatModelError: If the file is not a chat model of this version.
        ValueError: If ``model`` is of another type.
    """
    if role not in _ARGUMENT:
        raise ValueError(f"role must be 'forward' or 'backward', got {role!r}")
    argument = _ARGUMENT[role]
    if isinstance(model, ChatModel):
        return model
    if model is None:
        resource = shipped_model_file(role, language)
        if not resource.is_file():
            raise FileNotFoundError(
                f"the shipped {language} {role} chat model "
                f"lhyrl/envs/dialogue/weights/{language}_{role}.pt is missing (is lhyrl "
                f"installed whole?); pass {argument}= a ChatModel or the path of one"
            )
        with resources.as_file(resource) as path:
            return ChatModel.load(path)
    if isinstance(model, str | os.PathLike):
        return ChatModel.load(model)
    raise ValueError(
        f"{argument} must be a ChatModel, the path of a chat-model file, or None (the shipped "
        f"English model), got {type(model).__name__}"
    )


__all__ = ["Role", "load_chat_model", "shipped_model_file"]
