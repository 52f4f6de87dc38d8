from __future__ import annotations

import json

import pytest
import torch

from lhyrl.data.dataset import DatasetError
from lhyrl.data.dialogue import (
    SEP_ID,
    TURN_SEPARATOR,
    DialogueData,
    DialoguePair,
    build_dialogue_vocabulary,
    dialogue_pairs,
    encode_pairs,
    encode_sources,
    load_conversations,
    split_conversations,
    tokenize_pairs,
)
from lhyrl.data.text import EOS_ID, PAD_ID, UNK_ID, Vocabulary

torch.set_num_threads(1)

CONVERSATIONS = [
    ("Hi there!", "Hello.", "How are you?"),
    ("What is your name?", "My name is Bot."),
    ("Do you like pizza?", "Yes, I do."),
]


def test_chatterbot_english_has_about_two_thousand_conversations():
    everything = load_conversations("english", deduplicate=False)
    assert everything.language == "english"
    assert len(everything) == 2025 and everything.skipped == 1  # one entry is a lone string
    assert all(len(turns) >= 2 and all(turns) for turns in everything.conversations)
    distinct = load_conversations("english")
    assert len(distinct) == 898 and distinct.duplicates == 1127  # tech_support.yml repeats
    assert len(dialogue_pairs(everything.conversations)) == 2306
    assert len(dialogue_pairs(distinct.conversations)) == 1179


def test_chatterbot_chinese_is_tokenized_as_characters():
    corpus = load_conversations("chinese")
    assert (len(corpus), corpus.duplicates, corpus.skipped) == (465, 2, 0)
    data = DialogueData.from_conversations(corpus.conversations, "chinese", seed=0)
    assert all(len(token) == 1 for token in data.vocabulary.itos[SEP_ID + 1 :][:50])
    with pytest.raises(ValueError, match="tokenized as chinese"):
        load_conversations("chinese", language="english")


def test_pairs_take_the_last_turns_as_context():
    assert dialogue_pairs(CONVERSATIONS[:1]) == [
        DialoguePair(("Hi there!",), "Hello."),
        DialoguePair(("Hello.",), "How are you?"),
    ]
    pairs = dialogue_pairs(CONVERSATIONS[:1], context_turns=2)
    assert pairs[1] == DialoguePair(("Hi there!", "Hello."), "How are you?")
    assert tokenize_pairs(pairs[1:], "english")[0].context == (
        "hi",
        "there",
        "!",
        TURN_SEPARATOR,
        "hello",
        ".",
    )
    with pytest.raises(ValueError, match="context_turns"):
        dialogue_pairs(CONVERSATIONS, context_turns=0)


def test_jsonl_and_tsv_files_round_trip(tmp_path):
    jsonl = tmp_path / "chat.jsonl"
    lines = [json.dumps({"turns": list(CONVERSATIONS[0])}), "", json.dumps(CONVERSATIONS[1])]
    jsonl.write_text("\n".join([*lines, json.dumps(["alone"])]) + "\n", encoding="utf-8")
    corpus = load_conversations(jsonl)
    assert corpus.conversations == tuple(CONVERSATIONS[:2]) and corpus.skipped == 1
    assert corpus.source == str(jsonl) and corpus.language == "english"

    tsv = tmp_path / "chat.tsv"
    tsv.write_text("\n".join("\t".join(turns) for turns in CONVERSATIONS), encoding="utf-8")
    assert load_conversations(tsv).conversations == tuple(CONVERSATIONS)

    chinese = tmp_path / "chat.txt"
    chinese.write_text("你好\t你好！\n你好\t你好！\n", encoding="utf-8")
    corpus = load_conversations(chinese, language="chinese", file_format="tsv")
    assert corpus.conversations == (("你好", "你好！"),) and corpus.duplicates == 1


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.jsonl", "", "is empty"),
        ("blank.tsv", "\n  \n", "is empty"),
        ("bad.jsonl", '["hi", "hello"]\n{"turns": ["a", "b"\n', "line 2: not valid JSON"),
        ("object.jsonl", '{"text": "hi"}\n', "line 1: a JSON object needs a 'turns' list"),
        ("number.jsonl", '["hi", "hello"]\n\n["what is six times seven", 42]\n', "line 3: turn 2"),
        ("scalar.jsonl", '"hi"\n', "line 1: expected a list of turns"),
        ("short.jsonl", '["hi"]\n[]\n', "no line holds a conversation of two turns"),
        ("commas.tsv", "hi, hello\n", "no line holds a conversation of two turns"),
        ("gap.tsv", "hi\t\thello\n", "line 1: turn 2 is blank"),
        ("chat.csv", "hi,hello\n", "cannot tell the format"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=match):
        load_conversations(path)


def test_a_missing_file_or_unknown_language_gets_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="neither 'english', 'chinese'"):
        load_conversations(tmp_path / "missing.jsonl")
    with pytest.raises(DatasetError, match="neither 'english', 'chinese'"):
        load_conversations("french")
    path = tmp_path / "chat.tsv"
    path.write_text("hi\thello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="language must be"):
        load_conversations(path, language="klingon")  # type: ignore[arg-type]
    path.write_bytes(b"hi\t\xff\xfe\n")
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_conversations(path)


def test_splits_are_fixed_by_the_seed_disjoint_and_keep_repeats_together():
    corpus = load_conversations("english", deduplicate=False)
    splits = split_conversations(corpus.conversations, seed=3)
    assert splits == split_conversations(corpus.conversations, seed=3)
    assert splits != split_conversations(corpus.conversations, seed=4)
    assert sum(map(len, splits)) == len(corpus)
    train, validation, test = (set(part) for part in splits)
    assert not train & validation and not train & test and not validation & test
    assert len(train) == round(0.8 * 898) and len(validation) == round(0.1 * 898)
    with pytest.raises(ValueError, match="fractions"):
        split_conversations(corpus.conversations, seed=0, fractions=(0.5, 0.5, 0.5))


def test_the_vocabulary_comes_from_the_training_split_only():
    data = DialogueData.from_conversations(CONVERSATIONS, "english", seed=0, fractions=(1 / 3,) * 3)
    train_tokens = {t for pair in data.train for t in (*pair.context, *pair.reply)}
    held_out = {t for pair in data.validation + data.test for t in (*pair.context, *pair.reply)}
    assert set(data.vocabulary.itos[SEP_ID + 1 :]) == train_tokens
    assert held_out - train_tokens  # words seen only outside training are unknown
    src, _ = data.encode("test", source_len=8, target_len=8)
    assert UNK_ID in src
    vocabulary = build_dialogue_vocabulary(CONVERSATIONS, "english", max_size=8)
    assert len(vocabulary) == 8 and vocabulary.itos[SEP_ID] == TURN_SEPARATOR


def test_pairs_encode_in_the_form_seq2seq_reads():
    vocabulary = Vocabulary(["<sep>", "a", "b", "c"])  # ids 4-7
    pairs = tokenize_pairs(
        [DialoguePair(("a b", "c"), "c a"), DialoguePair(("b",), "a b c b a")], "english"
    )
    src, tgt = encode_pairs(pairs, vocabulary, source_len=3, target_len=4)
    assert src.dtype == tgt.dtype == torch.long
    assert src.tolist() == [[6, 4, 7], [6, PAD_ID, PAD_ID]]  # the oldest tokens are cut
    assert tgt.tolist() == [[7, 5, EOS_ID, PAD_ID], [5, 6, 7, 6]]  # no room for EOS
    with pytest.raises(ValueError, match="empty"):
        encode_sources([()], vocabulary, 3)


def test_dialogue_data_loads_chatterbot_with_a_seeded_split():
    data = DialogueData.load("english", seed=0)
    again = DialogueData.load("english", seed=0)
    assert data == again
    assert (len(data.train), len(data.validation), len(data.test)) == (902, 149, 128)
    src, tgt = data.encode("validation", source_len=20, target_len=20)
    assert src.shape == tgt.shape == (149, 20)
    assert ((src != PAD_ID).sum(1) >= 1).all()
    with pytest.raises(ValueError, match="split"):
        data.encode("dev", source_len=20, target_len=20)  # type: ignore[arg-type]
