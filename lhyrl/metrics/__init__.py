"""Evaluation metrics: returns, sequence metrics, and sample-based metrics of generative models."""

from lhyrl.metrics.distances import (
    NgramEncoder,
    Standardizer,
    frechet_distance,
    mmd_rbf,
    state_action_features,
)
from lhyrl.metrics.generative import (
    LikelihoodEstimate,
    MemorizationReport,
    ModeCoverage,
    memorization,
    mode_coverage,
    sample_log_likelihood,
)
from lhyrl.metrics.returns import EvalResult, evaluate_policy, normalized_return
from lhyrl.metrics.sequences import (
    bleu,
    distinct_n,
    ms_jaccard,
    nll_oracle,
    nll_test,
    self_bleu,
)
from lhyrl.metrics.text_encoder import SentenceAutoencoder, SentenceAutoencoderConfig

__all__ = [
    "EvalResult",
    "LikelihoodEstimate",
    "MemorizationReport",
    "ModeCoverage",
    "NgramEncoder",
    "SentenceAutoencoder",
    "SentenceAutoencoderConfig",
    "Standardizer",
    "bleu",
    "distinct_n",
    "evaluate_policy",
    "frechet_distance",
    "memorization",
    "mmd_rbf",
    "mode_coverage",
    "ms_jaccard",
    "nll_oracle",
    "nll_test",
    "normalized_return",
    "sample_log_likelihood",
    "self_bleu",
    "state_action_features",
]
