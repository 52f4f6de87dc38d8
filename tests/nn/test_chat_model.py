"""ChatModel: text in, text out, and its one-file format."""

from __future__ import annotations

import pytest
import torch

from lhyrl.data.text import UNK_ID, Vocabulary
from lhyrl.nn.chat_model import ChatModel, ChatModelError
from lhyrl.nn.seq2seq import Seq2Seq, Seq2SeqConfig

WORDS = ["<sep>", "hello", "there", "how", "are", "you", "fine", "?", "."]


def _model(seed: int = 0, context_turns: int = 2) -> ChatModel:
    torch.manual_seed(seed)
    vocabulary = Vocabulary(WORDS)
    seq2seq = Seq2Seq(Seq2SeqConfig(vocab_size=len(vocabulary), embedding_dim=8, hidden_dim=8))
    return ChatModel(seq2seq, vocabulary, "english", 6, 5, context_turns)


def test_contexts_keep_the_last_turns_joined_by_the_separator() -> None:
    model = _model(context_turns=2)
    tokens = model.context_tokens(["hello", "how are you ?", "fine ."])
    assert tokens == ["how", "are", "you", "?", "<sep>", "fine", "."]
    src = model.encode_contexts([["hello", "how are you ?", "fine ."]])  # (1, S)
    assert src.shape == (1, 6)  # the last source_len tokens, those nearest the reply
    assert model.vocabulary.decode(src[0].tolist()) == tokens[-6:]
    # Empty or unknown input still gives a source: a single <unk>.
    assert model.encode_contexts([["", "   "]])[0, 0].item() == UNK_ID
    assert model.unknown_fraction("hello zebra") == 0.5


def test_replies_are_text_for_every_decoding() -> None:
    model = _model()
    for decoding in ("greedy", "beam"):
        assert isinstance(model.reply(["hello there"], decoding=decoding), str)
    generator = torch.Generator().manual_seed(0)
    first = model.reply(["hello"], decoding="sample", generator=generator)
    again = model.reply(["hello"], decoding="sample", generator=torch.Generator().manual_seed(0))
    assert first == again
    with pytest.raises(ValueError, match=r"torch\.Generator"):
        model.reply(["hello"], decoding="sample")
    with pytest.raises(ValueError, match="decoding"):
        model.reply(["hello"], decoding="nucleus")  # type: ignore[arg-type]


def test_file_round_trip_full_and_half_precision(tmp_path) -> None:
    model = _model()
    src = model.encode_contexts([["hello there"], ["how are you ?"]])
    expected = model.generate(src).tokens
    loaded = ChatModel.load(model.save(tmp_path / "full.pt"))
    assert torch.equal(loaded.generate(src).tokens, expected)
    for (name, a), b in zip(
        model.model.state_dict().items(), loaded.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    half = ChatModel.load(model.save(tmp_path / "half.pt", half=True))
    assert (tmp_path / "half.pt").stat().st_size < (tmp_path / "full.pt").stat().st_size
    for a, b in zip(model.model.parameters(), half.model.parameters(), strict=True):
        assert b.dtype == torch.float32
        torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)
    assert (half.language, half.source_len, half.target_len, half.context_turns) == (
        "english",
        6,
        5,
        2,
    )


def test_bad_files_and_mismatches_are_refused(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no chat model"):
        ChatModel.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ChatModelError, match="unreadable"):
        ChatModel.load(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ChatModelError, match="not a chat-model file"):
        ChatModel.load(tmp_path / "other.pt")
    data = _model().to_dict()
    data["format_version"] = 99
    torch.save(data, tmp_path / "newer.pt")
    with pytest.raises(ChatModelError, match="format version 99"):
        ChatModel.load(tmp_path / "newer.pt")
    data = _model().to_dict()
    data["vocabulary"] = data["vocabulary"][:-1]
    torch.save(data, tmp_path / "short.pt")
    with pytest.raises(ValueError, match="vocabulary"):
        ChatModel.load(tmp_path / "short.pt")
    model = _model()
    with pytest.raises(ValueError, match="vocabulary holds"):
        ChatModel(model.model, Vocabulary(WORDS[:-1]), "english", 6, 5)
    with pytest.raises(ValueError, match="source_len"):
        ChatModel(model.model, model.vocabulary, "english", 0, 5)
