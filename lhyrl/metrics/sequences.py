"""Metrics of generated token sequences: NLL-oracle, NLL-test, BLEU, self-BLEU, distinct-n.

MS-Jaccard (:func:`ms_jaccard`) compares the n-gram frequencies of samples and references.

NLL-oracle follows the SeqGAN paper (its protocol is in :mod:`lhyrl.nn.oracle`): the average
over the T generated tokens of ``-log p_oracle(x_t | x_<t)`` (the start token is not scored),
averaged over full batches of 64 sequences; a trailing partial batch is dropped.

BLEU comes from NLTK (``nltk.translate.bleu_score``). BLEU-n is the cumulative score with equal
weights ``1/n`` on the 1- to n-gram precisions, with NLTK's smoothing ``method1`` (as Texygen,
the benchmark platform of SeqGAN and its successors, computes it). :func:`bleu` averages the
sentence-level score of each candidate against the whole reference set; its cost grows with
``candidates × references``, so subsample large sets.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import torch
from torch import Tensor

from lhyrl.nn.recurrent import SequenceGenerator

TokenSequences = Tensor | np.ndarray | Sequence[Sequence[int]]
"""A batch of token sequences: a (N, T) tensor or array, or N lists of possibly unequal length."""


def _as_tensor(sequences: Tensor | np.ndarray, device: torch.device) -> Tensor:
    tokens = torch.as_tensor(sequences, dtype=torch.long, device=device)
    if tokens.dim() != 2:
        raise ValueError(f"sequences must be (N, T), got shape {tuple(tokens.shape)}")
    return tokens


@torch.no_grad()
def _mean_nll(
    model: SequenceGenerator,
    sequences: Tensor | np.ndarray,
    start_token: int,
    batch_size: int,
    temperature: float = 1.0,
) -> float:
    """Mean per-token NLL of ``sequences`` under ``model``, over full batches only."""
    tokens = _as_tensor(sequences, model.embedding.weight.device)  # (N, T)
    n_batches = tokens.shape[0] // batch_size
    if n_batches == 0:
        raise ValueError(
            f"need at least one full batch of {batch_size} sequences, got {tokens.shape[0]}"
        )
    was_training = model.training
    model.eval()
    try:
        batch_nlls = [
            -model.log_prob(
                tokens[i * batch_size : (i + 1) * batch_size], start_token, temperature=temperature
            ).mean()
            for i in range(n_batches)
        ]
    finally:
        model.train(was_training)
    return float(torch.stack(batch_nlls).mean())


def nll_oracle(
    oracle: SequenceGenerator,
    samples: Tensor | np.ndarray,
    *,
    start_token: int = 0,
    batch_size: int = 64,
) -> float:
    """SeqGAN's NLL-oracle: how unlikely the oracle finds a generator's samples.

    Args:
        oracle: The oracle LSTM (see :mod:`lhyrl.nn.oracle`).
        samples: (N, T) generated tokens, without the start token.
        start_token: The oracle's first input.
        batch_size: Sequences per batch; the last ``N % batch_size`` samples are dropped.

    Returns:
        Nats per token, averaged over the T tokens and the full batches (lower is better).

    Raises:
        ValueError: If there is not one full batch.
    """
    return _mean_nll(oracle, samples, start_token, batch_size)


def nll_test(
    generator: SequenceGenerator,
    sequences: Tensor | np.ndarray,
    *,
    start_token: int = 0,
    batch_size: int = 64,
    temperature: float = 1.0,
) -> float:
    """A generator's NLL on held-out sequences, averaged like :func:`nll_oracle`.

    The generator is scored in eval mode and left in the mode it was in.

    Args:
        generator: The model to score.
        sequences: (N, T) held-out tokens, without the start token.
        start_token: The generator's first input.
        batch_size: Sequences per batch; the last ``N % batch_size`` sequences are dropped.
        temperature: Scores the tempered model ``softmax(logits / temperature)``, the one
            that samples at that temperature (NLL-test of Caccia et al. 2018's temperature
            sweep).

    Returns:
        Nats per token (lower is better).
    """
    return _mean_nll(generator, sequences, start_token, batch_size, temperature)


def _as_lists(sequences: TokenSequences) -> list[list[int]]:
    if isinstance(sequences, Tensor):
        sequences = sequences.detach().cpu().numpy()
    if isinstance(sequences, np.ndarray):
        return sequences.tolist()
    return [[int(token) for token in sequence] for sequence in sequences]


def trim_sequences(sequences: TokenSequences, stop_tokens: Collection[int]) -> list[list[int]]:
    """Each sequence up to (without) its first stop token, e.g. ``<eos>`` or ``<pad>``."""
    stops = set(stop_tokens)
    out = []
    for sequence in _as_lists(sequences):
        cut = next((i for i, token in enumerate(sequence) if token in stops), len(sequence))
        out.append(sequence[:cut])
    return out


def _bleu_weights(n: int) -> tuple[float, ...]:
    if n < 1:
        raise ValueError(f"BLEU order n must be at least 1, got {n}")
    return (1.0 / n,) * n


def bleu(candidates: TokenSequences, references: TokenSequences, n: int = 4) -> float:
    """Mean sentence-level BLEU-n of each candidate against all the references.

    Args:
        candidates: The generated sequences.
        references: The reference set every candidate is compared with.
        n: Highest n-gram order (BLEU-2 .. BLEU-5 are usual).

    Returns:
        BLEU-n in [0, 1]; 1 when every candidate also appears among the references.
    """
    weights = _bleu_weights(n)
    hypotheses = _as_lists(candidates)
    refs = _as_lists(references)
    if not hypotheses or not refs:
        raise ValueError("bleu needs at least one candidate and one reference")
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # 0.4 s: lazily

    smoothing = SmoothingFunction().method1
    scores = [
        sentence_bleu(refs, hypothesis, weights, smoothing_function=smoothing)
        for hypothesis in hypotheses
    ]
    return float(np.mean(scores))


def self_bleu(
    samples: TokenSequences, n: int = 4, *, max_samples: int | None = None, seed: int = 0
) -> float:
    """Self-BLEU-n: each sample's BLEU against the other samples; high means little diversity.

    Args:
        samples: The generated sequences (at least 2).
        n: Highest n-gram order.
        max_samples: If set, score a random subset of this many samples among themselves
            (the cost grows with the square of the number of samples).
        seed: Seeds the choice of the subset.

    Returns:
        Self-BLEU-n in [0, 1].
    """
    weights = _bleu_weights(n)
    sequences = _as_lists(samples)
    if max_samples is not None and len(sequences) > max_samples:
        chosen = np.random.default_rng(seed).choice(len(sequences), max_samples, replace=False)
        sequences = [sequences[i] for i in sorted(chosen)]
    if len(sequences) < 2:
        raise ValueError(f"self_bleu needs at least 2 samples, got {len(sequences)}")
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # 0.4 s: lazily

    smoothing = SmoothingFunction().method1
    scores = [
        sentence_bleu(
            sequences[:i] + sequences[i + 1 :], hypothesis, weights, smoothing_function=smoothing
        )
        for i, hypothesis in enumerate(sequences)
    ]
    return float(np.mean(scores))


def distinct_n(sequences: TokenSequences, n: int) -> float:
    """Distinct-n: the number of distinct n-grams over the number of n-grams, over all sequences.

    Args:
        sequences: Token sequences, possibly of unequal length.
        n: The n-gram order.

    Returns:
        A ratio in (0, 1]; 0.0 when no sequence has n tokens.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    total = 0
    distinct: set[tuple[int, ...]] = set()
    for sequence in _as_lists(sequences):
        grams = [tuple(sequence[i : i + n]) for i in range(len(sequence) - n + 1)]
        total += len(grams)
        distinct.update(grams)
    return len(distinct) / total if total else 0.0


def _ngram_counts(sequences: list[list[int]], n: int) -> dict[tuple[int, ...], int]:
    counts: dict[tuple[int, ...], int] = {}
    for sequence in sequences:
        for i in range(len(sequence) - n + 1):
            gram = tuple(sequence[i : i + n])
            counts[gram] = counts.get(gram, 0) + 1
    return counts


def ms_jaccard(samples: TokenSequences, references: TokenSequences, n: int = 4) -> float:
    """MS-Jaccard-n: how alike the n-gram distributions of two sets of sequences are.

    Montahaei, Alihosseini and Soleymani 2019, "Jointly measuring diversity and quality in
    text generation models": for each order k = 1 .. n, every k-gram's count in a set is
    divided by the number of sequences in the set, and the two sets' generalised Jaccard
    similarity ``sum_g min(c_s(g), c_r(g)) / sum_g max(c_s(g), c_r(g))`` is taken;
    MS-Jaccard-n is the geometric mean of the n similarities. It falls when samples are bad
    (n-grams the references lack) and when they lack diversity (too few of the references'
    n-grams, or the same ones too often).

    Args:
        samples: Generated sequences.
        references: Real sequences (e.g. the test set).
        n: Highest n-gram order.

    Returns:
        A similarity in [0, 1]; 1 when both sets have the same n-gram frequencies per sequence.

    Raises:
        ValueError: If a set is empty or ``n`` is below 1.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    generated, real = _as_lists(samples), _as_lists(references)
    if not generated or not real:
        raise ValueError("ms_jaccard needs at least one sample and one reference")
    log_sum = 0.0
    for k in range(1, n + 1):
        ours, theirs = _ngram_counts(generated, k), _ngram_counts(real, k)
        low = high = 0.0
        for gram in ours.keys() | theirs.keys():
            a, b = ours.get(gram, 0) / len(generated), theirs.get(gram, 0) / len(real)
            low += min(a, b)
            high += max(a, b)
        if low == 0.0:
            return 0.0
        log_sum += np.log(low / high)
    return float(np.exp(log_sum / n))
