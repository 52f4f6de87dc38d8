"""Sentence features from a recurrent autoencoder that lhyrl trains on the task's real text.

The Fréchet distance and MMD of :mod:`lhyrl.metrics.distances` compare feature vectors. For
images the field uses a pretrained Inception network (FID, Heusel et al. 2017); for text,
Semeniuta, Severyn and Gelly (2018, "On accurate evaluation of GANs for language generation")
use the Fréchet distance between sentence embeddings of a trained encoder. lhyrl downloads
no model, so :class:`SentenceAutoencoder` trains its own: a bidirectional GRU encoder whose
final state is all a decoder sees (a :class:`~lhyrl.nn.seq2seq.Seq2Seq` without attention),
trained to reproduce each real sentence of the task (Dai and Le 2015's sequence
autoencoder). A sentence's features are the encoder's final state: sentences the decoder can
tell apart get different features, so the features keep word identity and word order, which
bag-of-n-gram features (:class:`~lhyrl.metrics.distances.NgramEncoder`) only keep locally.

Fit it on real sentences (the training split), then encode generated and held-out real
sentences and compare them with :func:`~lhyrl.metrics.distances.frechet_distance`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lhyrl.data.text import PAD_ID, Vocabulary
from lhyrl.nn.seq2seq import Seq2Seq, Seq2SeqConfig

Sentences = Sequence[str] | Sequence[Sequence[str]] | Sequence[Sequence[int]] | np.ndarray
"""Strings (split on whitespace), token lists, or sequences of token ids (each id one token;
an (N, T) id array of a ``lhyrl/SeqGen-v0`` or ``TextGen-v0`` episode counts ``pad_id`` 0 as
padding)."""


@dataclass
class SentenceAutoencoderConfig:
    """Sizes and training budget of a :class:`SentenceAutoencoder`.

    Attributes:
        embedding_dim: Token embedding size.
        hidden_dim: GRU state size per direction; the features have ``2 * hidden_dim``.
        max_len: Sentences are cut to this many tokens.
        epochs: Passes over the fit sentences.
        batch_size: Sentences per gradient step.
        learning_rate: Adam's step size.
        heldout_fraction: Share of the fit sentences kept out of training to measure
            :attr:`SentenceAutoencoder.reconstruction_accuracy`.
    """

    embedding_dim: int = 64
    hidden_dim: int = 64
    max_len: int = 24
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 3e-3
    heldout_fraction: float = 0.1

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "hidden_dim", "max_len", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0.0 <= self.heldout_fraction < 1.0:
            raise ValueError(f"heldout_fraction must lie in [0, 1), got {self.heldout_fraction}")


def _tokens(sentences: Sentences) -> list[list[str]]:
    """Each sentence as a list of string tokens (ids become their decimal strings)."""
    out: list[list[str]] = []
    for sentence in sentences:
        if isinstance(sentence, str):
            out.append(sentence.split())
        elif isinstance(sentence, np.ndarray) or (
            len(sentence) and isinstance(sentence[0], int | np.integer)
        ):
            ids = [int(token) for token in sentence]
            if PAD_ID in ids:  # an episode: its tokens, then padding
                ids = ids[: ids.index(PAD_ID)]
            out.append([str(token) for token in ids])
        else:
            out.append([str(token) for token in sentence])
    if not out:
        raise ValueError("no sentences given")
    return out


class SentenceAutoencoder:
    """Sentence features: the final state of a GRU autoencoder trained on real sentences.

    Args:
        config: Sizes and budget; the defaults fit a few thousand sentences in seconds.
        seed: Seeds the weights, the held-out split and the batch order.
    """

    def __init__(self, *, config: SentenceAutoencoderConfig | None = None, seed: int = 0) -> None:
        self.config = config or SentenceAutoencoderConfig()
        self.seed = seed
        self.vocabulary: Vocabulary | None = None
        self.model: Seq2Seq | None = None
        self.reconstruction_accuracy = float("nan")
        """Share of held-out real tokens (and ends) the greedy decoder reproduces."""

    @property
    def dim(self) -> int:
        """Size of the features."""
        return 2 * self.config.hidden_dim

    def _encode(self, sentences: Sentences) -> torch.Tensor:
        """(N, T) ids: each sentence's tokens, ``<eos>``, padding."""
        assert self.vocabulary is not None
        tokens = [sentence[: self.config.max_len] for sentence in _tokens(sentences)]
        length = max(len(sentence) for sentence in tokens) + 1
        return torch.as_tensor(self.vocabulary.encode_batch(tokens, length))

    def fit(self, sentences: Sentences) -> SentenceAutoencoder:
        """Build the vocabulary and train the autoencoder on real sentences; returns ``self``."""
        cfg = self.config
        tokens = _tokens(sentences)
        if sum(1 for sentence in tokens if sentence) < 10:
            raise ValueError(f"fit needs at least 10 non-empty sentences, got {len(tokens)}")
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(tokens))
        n_heldout = round(cfg.heldout_fraction * len(tokens))
        train = [tokens[i] for i in order[n_heldout:]]
        heldout = [tokens[i] for i in order[:n_heldout]]
        self.vocabulary = Vocabulary.build(train)
        torch.manual_seed(self.seed)
        self.model = Seq2Seq(
            Seq2SeqConfig(
                vocab_size=len(self.vocabulary),
                embedding_dim=cfg.embedding_dim,
                hidden_dim=cfg.hidden_dim,
                cell="gru",
                bidirectional=True,
                attention="none",  # the final state is the decoder's only view of the source
            )
        )
        optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        data = self._encode(train)  # (N, T)
        generator = torch.Generator().manual_seed(self.seed)
        self.model.train()
        for _ in range(cfg.epochs):
            for batch in torch.randperm(len(data), generator=generator).split(cfg.batch_size):
                rows = data[batch]  # (B, T)
                rows = rows[:, : int((rows != PAD_ID).sum(1).max())]  # drop all-pad columns
                loss = self.model.loss(rows, rows)  # reproduce the sentence and its <eos>
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
                optimizer.step()
        self.model.eval()
        if heldout:
            self.reconstruction_accuracy = self._reconstruction_accuracy(heldout)
        return self

    @torch.no_grad()
    def _reconstruction_accuracy(self, sentences: list[list[str]]) -> float:
        assert self.model is not None
        target = self._encode(sentences)  # (N, T)
        decoded = self.model.greedy(target, max_len=target.shape[1]).tokens  # (N, <= T)
        out = torch.full_like(target, PAD_ID)
        out[:, : decoded.shape[1]] = decoded
        real = target != PAD_ID  # (N, T)
        return float(((out == target) & real).sum() / real.sum())

    @torch.no_grad()
    def __call__(self, sentences: Sentences, *, batch_size: int = 512) -> np.ndarray:
        """(N, 2 * hidden_dim) features of ``sentences``; an empty sentence is its ``<eos>``."""
        if self.model is None:
            raise ValueError("SentenceAutoencoder is not fitted: call fit(real_sentences) first")
        data = self._encode(sentences)  # (N, T)
        features = []
        for rows in data.split(batch_size):
            state = self.model.encode(rows).state  # (num_layers, B, 2H)
            features.append(state[-1])  # the top layer: (B, 2H)
        return torch.cat(features).numpy().astype(np.float64)
