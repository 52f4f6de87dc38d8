"""Evaluation metrics: episode returns and expert-normalized returns; sequence metrics."""

from lhyrl.metrics.returns import EvalResult, evaluate_policy, normalized_return
from lhyrl.metrics.sequences import bleu, distinct_n, nll_oracle, nll_test, self_bleu

__all__ = [
    "EvalResult",
    "bleu",
    "distinct_n",
    "evaluate_policy",
    "nll_oracle",
    "nll_test",
    "normalized_return",
    "self_bleu",
]
