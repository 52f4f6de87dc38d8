"""Quality–diversity curves of sequence generators over sampling temperature.

Caccia et al. 2018, "Language GANs falling short" (ICLR 2020): a text GAN's lower NLL-oracle
at temperature 1 is not evidence that it beats maximum likelihood, because sampling an MLE
model at a lower temperature also buys quality with diversity. Compare generators by whole
curves, one point per temperature:

* on SeqGAN's oracle task (:func:`oracle_sweep`): NLL-oracle of the samples (quality, lower is
  better) against NLL-test of the tempered model on held-out oracle samples (coverage:
  a model that drops modes gives real data a low likelihood; lower is better), plus distinct-4
  and, optionally, self-BLEU-4 of the samples;
* on real text (:func:`text_sweep`): BLEU-4 of the samples against the reference set
  (quality), self-BLEU-4 (diversity: lower is more diverse), MS-Jaccard-4 (both at once,
  Montahaei et al. 2019) and distinct-4.

Every temperature draws its samples from the same seed, so the curves are smooth in the
temperature. :func:`quality_diversity_table` renders the rows as Markdown,
:func:`plot_quality_diversity` draws the curves (save with
:func:`lhyrl.metrics.aggregate.save_figure`) and :func:`compare_curves` says where one curve
lies below another.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from lhyrl.metrics.sequences import (
    TokenSequences,
    bleu,
    distinct_n,
    ms_jaccard,
    nll_oracle,
    nll_test,
    self_bleu,
    trim_sequences,
)
from lhyrl.nn.recurrent import SequenceGenerator

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_TEMPERATURES",
    "compare_curves",
    "oracle_sweep",
    "plot_quality_diversity",
    "quality_diversity_table",
    "text_sweep",
]

DEFAULT_TEMPERATURES = (0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5)
"""The temperatures of a sweep unless told otherwise (Caccia et al. sweep about 0.5 to 1.5)."""

Curve = list[dict[str, float]]
"""A sweep's table: one row per temperature, ``{"temperature": t, "<metric>": value, ...}``."""


def _check_temperatures(temperatures: Sequence[float]) -> list[float]:
    values = [float(t) for t in temperatures]
    if not values:
        raise ValueError("no temperatures to sweep")
    bad = [t for t in values if not t > 0]
    if bad:
        raise ValueError(f"temperatures must be positive, got {bad}")
    return values


@torch.no_grad()
def _draw(
    generator: SequenceGenerator,
    n: int,
    *,
    seq_len: int,
    start_token: int,
    seed: int,
    temperature: float,
) -> Tensor:
    """(n, T) samples at ``temperature`` from ``seed`` alone, in eval mode."""
    device = next(generator.parameters()).device
    rng = torch.Generator(device=device).manual_seed(seed)
    was_training = generator.training
    generator.eval()
    try:
        return generator.sample(
            n, seq_len, start_token=start_token, generator=rng, temperature=temperature
        )
    finally:
        generator.train(was_training)


def oracle_sweep(
    generator: SequenceGenerator,
    *,
    oracle: SequenceGenerator,
    test: Tensor | np.ndarray,
    seq_len: int,
    start_token: int = 0,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    n_samples: int = 9984,
    seed: int = 0,
    distinct_samples: int = 2048,
    self_bleu_samples: int = 0,
) -> Curve:
    """NLL-oracle against NLL-test (and distinct-4, self-BLEU-4) at each temperature.

    The oracle experiment of Caccia et al. 2018 (section 5.1, Figure 3), on SeqGAN's synthetic
    task: at each temperature t, ``n_samples`` samples of ``softmax(logits / t)`` are scored
    by the oracle (NLL-oracle, :func:`~lhyrl.metrics.nll_oracle`), and the tempered model
    scores the held-out oracle samples ``test`` (NLL-test, :func:`~lhyrl.metrics.nll_test`
    with ``temperature=t``). Both in nats per token, averaged over full batches of 64.

    Args:
        generator: The model to sweep.
        oracle: The oracle LSTM (``lhyrl.nn.load_oracle("seqgan")``).
        test: (N, T) held-out oracle samples.
        seq_len: Length T of the samples.
        start_token: The first input of generator and oracle.
        temperatures: Temperatures to sample at.
        n_samples: Samples per temperature (at least 64).
        seed: Seeds every temperature's samples (the same seed for each).
        distinct_samples: How many of the samples distinct-4 counts.
        self_bleu_samples: If positive, self-BLEU-4 of this many samples (its cost grows with
            the square of the count: 256 take a few seconds).

    Returns:
        One row per temperature: ``temperature``, ``nll_oracle``, ``nll_test``,
        ``distinct_4`` and, if asked, ``self_bleu_4``.

    Raises:
        ValueError: For no or non-positive temperatures, or fewer than 64 samples.
    """
    rows: Curve = []
    for t in _check_temperatures(temperatures):
        samples = _draw(
            generator, n_samples, seq_len=seq_len, start_token=start_token, seed=seed, temperature=t
        )  # (N, T)
        row = {
            "temperature": t,
            "nll_oracle": nll_oracle(oracle, samples, start_token=start_token),
            "nll_test": nll_test(generator, test, start_token=start_token, temperature=t),
            "distinct_4": distinct_n(samples[:distinct_samples], 4),
        }
        if self_bleu_samples > 0:
            row["self_bleu_4"] = self_bleu(samples[:self_bleu_samples], 4)
        rows.append(row)
    return rows


def text_sweep(
    generator: SequenceGenerator,
    *,
    references: TokenSequences,
    seq_len: int,
    start_token: int,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    n_samples: int = 500,
    max_references: int = 500,
    stop_tokens: Collection[int] = (),
    seed: int = 0,
) -> Curve:
    """BLEU-4 (quality) against self-BLEU-4 (diversity), MS-Jaccard-4, distinct-4 per temperature.

    The real-text evaluation of Caccia et al. 2018 (section 5.2; BLEU and self-BLEU as in
    Texygen, Zhu et al. 2018) with MS-Jaccard (Montahaei et al. 2019): at each temperature,
    ``n_samples`` samples are scored by BLEU-4 against (up to ``max_references`` of) the
    references, by self-BLEU-4 among themselves, by MS-Jaccard-4 against the references, and
    by distinct-4.

    Args:
        generator: The model to sweep.
        references: Held-out real sentences as token ids (the test set).
        seq_len: Tokens sampled per sentence.
        start_token: The generator's first input (e.g. ``<bos>``).
        temperatures: Temperatures to sample at.
        n_samples: Samples per temperature (BLEU's cost grows with samples x references).
        max_references: References BLEU compares with (a random subset, seeded).
        stop_tokens: A sentence ends before the first of these (e.g. ``<eos>`` and ``<pad>``);
            applied to samples and references.
        seed: Seeds the samples and the reference subset.

    Returns:
        One row per temperature: ``temperature``, ``bleu_4``, ``self_bleu_4``,
        ``ms_jaccard_4``, ``distinct_4``.
    """
    refs = [r for r in trim_sequences(references, stop_tokens) if r]
    if not refs:
        raise ValueError("no non-empty reference sentence")
    if len(refs) > max_references:
        keep = np.random.default_rng(seed).choice(len(refs), max_references, replace=False)
        refs = [refs[i] for i in sorted(keep)]
    rows: Curve = []
    for t in _check_temperatures(temperatures):
        drawn = _draw(
            generator, n_samples, seq_len=seq_len, start_token=start_token, seed=seed, temperature=t
        )  # (N, T)
        samples = [s or [-1] for s in trim_sequences(drawn, stop_tokens)]  # [-1]: empty
        rows.append(
            {
                "temperature": t,
                "bleu_4": bleu(samples, refs, 4),
                "self_bleu_4": self_bleu(samples, 4),
                "ms_jaccard_4": ms_jaccard(samples, refs, 4),
                "distinct_4": distinct_n(samples, 4),
            }
        )
    return rows


def quality_diversity_table(curves: Mapping[str, Curve], *, digits: int = 3) -> str:
    """The curves as one Markdown table: a row per model and temperature.

    Args:
        curves: Model name → the rows of its sweep (all with the same metrics).
        digits: Decimals shown.
    """
    if not curves:
        raise ValueError("no curves")
    metrics = [k for k in next(iter(curves.values()))[0] if k != "temperature"]
    lines = [
        "| model | temperature | " + " | ".join(metrics) + " |",
        "|---|---|" + "---|" * len(metrics),
    ]
    for name, rows in curves.items():
        for row in rows:
            values = " | ".join(f"{row[m]:.{digits}f}" for m in metrics)
            lines.append(f"| {name} | {row['temperature']:g} | {values} |")
    return "\n".join(lines)


def compare_curves(curve: Curve, reference: Curve, *, x: str, y: str) -> list[dict[str, float]]:
    """Where ``curve`` lies below ``reference`` in the (x, y) plane, lower being better on both.

    ``reference``'s points, sorted by ``x``, are joined by straight lines; each point of
    ``curve`` whose ``x`` lies within that range is compared with the reference's ``y`` at the
    same ``x``. A negative gap means the point lies below (better than) the reference curve.

    Args:
        curve: The rows of one sweep.
        reference: The rows of the sweep to compare with (at least 2).
        x: The metric on the x axis (e.g. ``"nll_oracle"``).
        y: The metric on the y axis (e.g. ``"nll_test"``).

    Returns:
        Per comparable point: ``temperature``, ``x``, ``y``, ``reference_y``, ``gap``
        (``y - reference_y``). Points outside the reference's x range are left out.
    """
    if len(reference) < 2:
        raise ValueError("the reference curve needs at least 2 points")
    ref = sorted(reference, key=lambda r: r[x])
    xs = np.array([r[x] for r in ref])
    ys = np.array([r[y] for r in ref])
    out = []
    for row in curve:
        if xs[0] <= row[x] <= xs[-1]:
            ref_y = float(np.interp(row[x], xs, ys))
            out.append(
                {
                    "temperature": row["temperature"],
                    "x": row[x],
                    "y": row[y],
                    "reference_y": ref_y,
                    "gap": row[y] - ref_y,
                }
            )
    return out


def plot_quality_diversity(
    curves: Mapping[str, Curve],
    *,
    x: str,
    y: str,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str = "Quality–diversity over sampling temperature",
) -> Figure:
    """One line per model through its temperatures; the first model's points name theirs.

    Args:
        curves: Model name → its sweep's rows.
        x: The metric on the x axis (e.g. ``"nll_oracle"``, or ``"bleu_4"``).
        y: The metric on the y axis (e.g. ``"nll_test"``, or ``"self_bleu_4"``).
        xlabel: Axis label; default the metric's name.
        ylabel: Axis label; default the metric's name.
        title: The figure's title.

    Returns:
        The figure.
    """
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("no curves to plot")
    figure = Figure(figsize=(7.2, 5.2), dpi=120)
    ax = figure.add_subplot()
    markers = "osD^vP*X"
    temperatures: set[float] = set()
    for i, (name, rows) in enumerate(curves.items()):
        ordered = sorted(rows, key=lambda r: r["temperature"])
        temperatures.update(r["temperature"] for r in ordered)
        xs, ys = [r[x] for r in ordered], [r[y] for r in ordered]
        (line,) = ax.plot(xs, ys, marker=markers[i % len(markers)], label=name, linewidth=1.5)
        if i == 0:  # the first curve's points carry their temperatures (others would overprint)
            for row in ordered:
                ax.annotate(
                    f"t={row['temperature']:g}",
                    (row[x], row[y]),
                    textcoords="offset points",
                    xytext=(5, 3),
                    fontsize=7,
                    color=line.get_color(),
                )
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.grid(alpha=0.3)
    low, high = min(temperatures), max(temperatures)
    ax.legend(title=f"model (points: t = {low:g} to {high:g})")
    ax.set_title(title)
    figure.tight_layout()
    return figure
