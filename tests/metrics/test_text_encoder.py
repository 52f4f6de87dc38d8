"""The sentence autoencoder learns its text and its features see word order."""

from __future__ import annotations

import numpy as np
import pytest

from lhyrl.metrics import NgramEncoder, SentenceAutoencoder, SentenceAutoencoderConfig
from lhyrl.metrics.distances import frechet_distance

WORDS = [f"w{i}" for i in range(12)]


def counting_sentences(n: int, seed: int) -> list[list[str]]:
    """Runs of consecutive words (w3 w4 w5 ...), 3 to 7 long, from a random start."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        start, length = rng.integers(len(WORDS)), rng.integers(3, 8)
        out.append([WORDS[(start + k) % len(WORDS)] for k in range(length)])
    return out


def shuffled(sentences: list[list[str]], seed: int) -> list[list[str]]:
    """The same words in a random order: unigram counts unchanged, order gone."""
    rng = np.random.default_rng(seed)
    return [list(rng.permutation(sentence)) for sentence in sentences]


@pytest.fixture(scope="module")
def encoder() -> SentenceAutoencoder:
    config = SentenceAutoencoderConfig(embedding_dim=16, hidden_dim=32, epochs=15)
    return SentenceAutoencoder(config=config, seed=0).fit(counting_sentences(600, seed=0))


def test_it_reconstructs_held_out_sentences(encoder: SentenceAutoencoder) -> None:
    # chance is 1/15 per token; a run is fixed by its first word and its length
    assert encoder.reconstruction_accuracy > 0.9


def test_frechet_distance_on_its_features_sees_word_order(encoder: SentenceAutoencoder) -> None:
    real, other_real = counting_sentences(400, seed=1), counting_sentences(400, seed=2)
    same = frechet_distance(encoder(real), encoder(other_real))
    mixed = frechet_distance(encoder(real), encoder(shuffled(other_real, seed=3)))
    assert encoder(real).shape == (400, encoder.dim)
    assert mixed > 5 * same  # identical distributions: near 0; shuffled: far
    # bag-of-n-gram features barely move when only the order changes
    ngram = NgramEncoder(dim=8, ngram_range=(1, 1)).fit([" ".join(s) for s in real])
    texts = [" ".join(s) for s in other_real]
    shuffled_texts = [" ".join(s) for s in shuffled(other_real, seed=3)]
    assert frechet_distance(ngram(texts), ngram(shuffled_texts)) < 1e-6


def test_token_id_episodes_stop_at_padding(encoder: SentenceAutoencoder) -> None:
    as_ids = SentenceAutoencoder(config=SentenceAutoencoderConfig(epochs=1), seed=0)
    episodes = np.array([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0]] * 6)
    as_ids.fit(episodes)
    assert as_ids.vocabulary is not None and "0" not in as_ids.vocabulary.stoi
    features = as_ids(episodes)
    assert np.allclose(features[0], features[2]) and not np.allclose(features[0], features[1])


def test_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        SentenceAutoencoder()(["a b"])
    with pytest.raises(ValueError, match="at least 10"):
        SentenceAutoencoder().fit(["a b"])
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        SentenceAutoencoderConfig(epochs=0)
