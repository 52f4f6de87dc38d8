import numpy as np
import pytest

from lhyrl.data.text import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    BigramModel,
    TextCorpus,
    Vocabulary,
    detokenize,
    load_chatterbot_corpus,
    load_text_file,
    tokenize,
)


def test_english_splits_lowercased_words_and_punctuation():
    assert tokenize("Hello, World! It's 42 o'clock.") == [
        "hello",
        ",",
        "world",
        "!",
        "it's",
        "42",
        "o'clock",
        ".",
    ]
    assert detokenize(["hello", ",", "world"]) == "hello , world"


def test_chinese_splits_characters_but_keeps_latin_words():
    tokens = tokenize("我用 Python 3 写代码。", "chinese")
    assert tokens == ["我", "用", "Python", "3", "写", "代", "码", "。"]
    assert detokenize(tokens, "chinese") == "我用Python 3写代码。"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        tokenize("bonjour", "french")  # type: ignore[arg-type]


def test_vocabulary_orders_by_count_then_code_point_after_specials():
    vocab = Vocabulary.build([["b", "a", "c"], ["c", "b"], ["c"]])
    assert vocab.itos == ["<pad>", "<bos>", "<eos>", "<unk>", "c", "b", "a"]
    assert (PAD_ID, BOS_ID, EOS_ID, UNK_ID) == (0, 1, 2, 3)
    assert Vocabulary.build([["c"], ["b", "c", "a"], ["b", "c"]]) == vocab  # order-free
    assert len(Vocabulary.build([["a", "b", "b"]], min_count=2)) == 5
    assert len(Vocabulary.build([["a", "b", "c"]], max_size=5)) == 5


def test_encode_decode_round_trip_with_unknown_and_specials():
    vocab = Vocabulary.build([["the", "cat", "sat"]])
    ids = vocab.encode(["the", "dog", "sat"], bos=True, eos=True)
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID and ids[2] == UNK_ID
    assert vocab.decode([*ids, PAD_ID, 4]) == ["the", "<unk>", "sat"]  # stops at <eos>
    assert vocab.decode(ids, strip_special=False)[0] == "<bos>"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([99])


def test_encode_batch_appends_eos_when_there_is_room_then_pads():
    vocab = Vocabulary.build([["a", "b", "c"]])
    out = vocab.encode_batch([["a"], ["a", "b", "c"]], length=3)
    a, b, c = vocab.encode(["a", "b", "c"])
    np.testing.assert_array_equal(out, [[a, EOS_ID, PAD_ID], [a, b, c]])
    assert out.dtype == np.int64


def test_vocabulary_save_and_load(tmp_path):
    vocab = Vocabulary.build([["你", "好"], ["hello"]])
    assert Vocabulary.load(vocab.save(tmp_path / "vocab.json")) == vocab
    (tmp_path / "bad.json").write_text('["a", "b"]')
    with pytest.raises(ValueError, match="not a vocabulary file"):
        Vocabulary.load(tmp_path / "bad.json")


def test_chatterbot_corpus_loads_english_and_chinese_deterministically():
    english = load_chatterbot_corpus("english")
    chinese = load_chatterbot_corpus("chinese")
    assert len(english) > 1000 and len(chinese) > 500
    assert len(set(english)) == len(english)  # repeated prompts dropped
    assert TextCorpus.load("english").vocabulary == TextCorpus.load("english").vocabulary
    assert any("你好" in s for s in chinese)


def test_text_file_corpus_one_sentence_per_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("The cat sat.\n\n  A dog ran.  \n", encoding="utf-8")
    assert load_text_file(path) == ["The cat sat.", "A dog ran."]
    corpus = TextCorpus.load(path)
    assert corpus.sentences == (("the", "cat", "sat", "."), ("a", "dog", "ran", "."))
    assert corpus.encode(5).shape == (2, 5)


def test_empty_corpus_gets_a_clear_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="corpus is empty"):
        TextCorpus.load(path)
    with pytest.raises(ValueError, match="corpus is empty"):
        TextCorpus.from_sentences(["", "   "])
    with pytest.raises(FileNotFoundError, match="neither"):
        TextCorpus.load(tmp_path / "missing.txt")


def test_bigram_model_is_normalised_and_prefers_corpus_bigrams():
    corpus = TextCorpus.from_sentences(["the cat sat", "the cat ran", "a dog sat"])
    vocab = corpus.vocabulary
    model = BigramModel((vocab.encode(s) for s in corpus.sentences), len(vocab))
    everything = np.arange(len(vocab))
    for previous in (BOS_ID, vocab.stoi["cat"], UNK_ID):
        total = np.exp(model.log_prob(np.full_like(everything, previous), everything)).sum()
        assert total == pytest.approx(1.0)
    the, cat, dog = vocab.stoi["the"], vocab.stoi["cat"], vocab.stoi["dog"]
    assert model.log_prob(np.array([the]), np.array([cat]))[0] > np.log(0.5)
    assert model.log_prob(np.array(the), np.array(dog)) < np.log(0.1)
    seen = model.sentence_log_prob(vocab.encode(["the", "cat", "sat"]))
    unseen = model.sentence_log_prob(vocab.encode(["sat", "the", "dog"]))
    assert seen > unseen
