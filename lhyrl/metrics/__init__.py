"""Evaluation metrics: episode returns and expert-normalized returns."""

from lhyrl.metrics.returns import EvalResult, evaluate_policy, normalized_return

__all__ = ["EvalResult", "evaluate_policy", "normalized_return"]
