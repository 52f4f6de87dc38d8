"""A tiny English dialogue corpus and chat model shared by the dialogue-agent tests."""

from __future__ import annotations

from lhyrl.agents.dialogue import new_chat_model
from lhyrl.data.text import Vocabulary
from lhyrl.nn import Seq2SeqConfig
from lhyrl.nn.chat_model import ChatModel

PAIRS = [
    ("how are you ?", "i am fine , thanks"),
    ("what ?", "i don't know"),
    ("i like pizza", "pizza is great"),
    ("pizza is great", "what is your name ?"),
    ("what is your name ?", "my name is bot"),
    ("the sky is blue", "yes it is"),
    ("do you like music ?", "yes i like music"),
    ("where are you ?", "i am at home"),
]


LENGTH = 8
"""``source_len`` and ``target_len`` of the tiny chat models (and the env's ``max_reply_len``)."""


def tiny_chat_model(
    vocabulary: Vocabulary, *, context_turns: int = 1, dropout: float = 0.0, seed: int = 0
) -> ChatModel:
    """An untrained 16-unit chat model of ``vocabulary``, its weights drawn from ``seed``."""
    config = Seq2SeqConfig(len(vocabulary), embedding_dim=16, hidden_dim=16, dropout=dropout)
    return new_chat_model(
        config=config,
        vocabulary=vocabulary,
        language="english",
        source_len=LENGTH,
        target_len=LENGTH,
        context_turns=context_turns,
        seed=seed,
    )
