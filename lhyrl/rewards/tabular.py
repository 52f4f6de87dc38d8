"""Tabular MDPs with state rewards: planners, visitation frequencies, EVD, and reward models.

Every function here shares one set of conventions:

* an MDP has ``S`` states and ``A`` actions, and ``transition_matrix[s, a, s2]`` is the
  probability of moving to ``s2`` when taking action ``a`` in state ``s`` (``(S, A, S)``);
* a reward is a vector ``(S,)``: ``reward[s2]`` is received on *arriving* in ``s2``, so an
  episode's return is the sum of the rewards of the states it moves into;
* values are discounted and infinite-horizon: ``V(s) = E[sum_t gamma^t reward[s_{t+1}]]``
  starting from ``s_0 = s``, with ``0 <= gamma < 1``;
* a policy is deterministic, ``(S,)`` integer actions, or stochastic, ``(S, A)`` action
  probabilities whose rows sum to 1.

The planners are plain numpy (float64). The reward models at the end of the module are torch
modules that map a feature matrix ``(S, F)`` to a reward ``(S,)``; MaxEnt IRL learns them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = [
    "FEATURE_REWARD_KINDS",
    "LinearFeatureReward",
    "MLPFeatureReward",
    "check_transition_matrix",
    "expected_value_difference",
    "greedy_policy",
    "make_feature_reward",
    "optimal_policy",
    "policy_evaluation",
    "policy_iteration",
    "policy_value",
    "soft_policy_iteration",
    "soft_value_iteration",
    "state_visitation_frequencies",
    "value_iteration",
]

_ROW_SUM_TOL = 1e-8
_TIE_TOL = 1e-7  # actions whose Q-values are this close to the best count as tied
_PRECISION_FLOOR = 1e-6  # relative changes this small that stop shrinking are rounding noise


# --- validation --------------------------------------------------------------------------


def check_transition_matrix(transition_matrix: np.ndarray) -> np.ndarray:
    """Validate a transition matrix and return it as float64.

    Args:
        transition_matrix: ``(S, A, S)`` probabilities of the next state.

    Returns:
        The same matrix as a float64 array.

    Raises:
        ValueError: If it is not ``(S, A, S)``, holds non-finite or negative entries, or a row
            ``transition_matrix[s, a]`` does not sum to 1.
    """
    p = np.asarray(transition_matrix, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] != p.shape[2] or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"a transition matrix must have shape (S, A, S), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("a transition matrix must hold finite, non-negative probabilities")
    sums = p.sum(axis=2)
    bad = np.argwhere(np.abs(sums - 1.0) > _ROW_SUM_TOL)
    if len(bad):
        s, a = bad[0]
        raise ValueError(
            f"transition_matrix[{s}, {a}] sums to {sums[s, a]:.6g}, not 1 ({len(bad)} such rows)"
        )
    return p


def _check_vector(name: str, value: np.ndarray, n_states: int) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if v.shape != (n_states,):
        raise ValueError(f"{name} must have shape ({n_states},), got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite, got NaN or inf entries")
    return v


def _check_distribution(value: np.ndarray, n_states: int) -> np.ndarray:
    p0 = _check_vector("initial_state_distribution", value, n_states)
    if np.any(p0 < 0) or abs(p0.sum() - 1.0) > 1e-6:
        raise ValueError(
            f"initial_state_distribution must be non-negative and sum to 1, got sum {p0.sum()}"
        )
    return p0


def _check_gamma(gamma: float) -> float:
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    return float(gamma)


def _checked_mdp(
    transition_matrix: np.ndarray, reward: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Validate an MDP's arrays; also return the transitions flattened to ``(S * A, S)``."""
    p = check_transition_matrix(transition_matrix)
    n_states, n_actions, _ = p.shape
    r = _check_vector("reward", reward, n_states)
    return p, r, _check_gamma(gamma), p.reshape(n_states * n_actions, n_states)


def _policy_matrix(policy: np.ndarray, n_states: int, n_actions: int) -> np.ndarray:
    """A policy as ``(S, A)`` action probabilities."""
    pi = np.asarray(policy)
    if pi.shape == (n_states,):
        if pi.dtype.kind not in "iu" or np.any((pi < 0) | (pi >= n_actions)):
            raise ValueError(
                f"a deterministic policy must hold integer actions in [0, {n_actions})"
            )
        return np.eye(n_actions)[pi]
    if pi.shape == (n_states, n_actions):
        pi = pi.astype(np.float64)
        if np.any(pi < 0) or np.any(np.abs(pi.sum(axis=1) - 1.0) > 1e-6):
            raise ValueError("a stochastic policy's rows must be probabilities summing to 1")
        return pi
    raise ValueError(
        f"a policy must have shape ({n_states},) (actions) or ({n_states}, {n_actions}) "
        f"(probabilities), got {pi.shape}"
    )


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``a x = b`` (float64) with torch's LAPACK.

    numpy's OpenBLAS may start a thread per core for a small solve and, on a busy machine,
    then take milliseconds instead of microseconds; torch honours ``torch.set_num_threads``.
    """
    return torch.linalg.solve(torch.as_tensor(a), torch.as_tensor(b)).numpy()


# --- planning ----------------------------------------------------------------------------


def value_iteration(
    transition_matrix: np.ndarray,
    reward: np.ndarray,
    *,
    gamma: float,
    tol: float = 1e-10,
    max_iterations: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values by value iteration: ``Q(s, a) = sum_s2 P(s2 | s, a) (r(s2) + gamma V(s2))``.

    Args:
        transition_matrix: ``(S, A, S)``.
        reward: ``(S,)``, received on arriving in a state.
        gamma: Discount factor in ``[0, 1)``.
        tol: Stop when no value changes by more than this in one sweep.
        max_iterations: Sweeps allowed before giving up.

    Returns:
        ``(values (S,), q_values (S, A))``.

    Raises:
        ValueError: For malformed inputs.
        RuntimeError: If it has not converged after ``max_iterations`` sweeps.
    """
    p, r, gamma, flat = _checked_mdp(transition_matrix, reward, gamma)
    n_states, n_actions, _ = p.shape
    expected_reward = flat @ r  # (S * A,)
    values = np.zeros(n_states)
    for _ in range(max_iterations):
        q = (expected_reward + gamma * (flat @ values)).reshape(n_states, n_actions)
        new_values = q.max(axis=1)
        delta = np.max(np.abs(new_values - values))
        values = new_values
        if delta <= tol:
            return values, q
    raise RuntimeError(f"value iteration did not converge in {max_iterations} sweeps")


def policy_iteration(
    transition_matrix: np.ndarray,
    reward: np.ndarray,
    *,
    gamma: float,
    max_iterations: int = 10_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values by policy iteration: exact evaluation, then greedy improvement.

    It reaches the same values as :func:`value_iteration` (to solver precision) in a handful
    of linear solves, which is much faster when ``gamma`` is close to 1.

    Args:
        transition_matrix: ``(S, A, S)``.
        reward: ``(S,)``, received on arriving in a state.
        gamma: Discount factor in ``[0, 1)``.
        max_iterations: Improvement steps allowed before giving up.

    Returns:
        ``(values (S,), q_values (S, A))``.

    Raises:
        ValueError: For malformed inputs.
        RuntimeError: If the policy still changes after ``max_iterations`` steps.
    """
    p, r, gamma, flat = _checked_mdp(transition_matrix, reward, gamma)
    n_states, n_actions, _ = p.shape
    expected_reward = (flat @ r).reshape(n_states, n_actions)
    policy = np.argmax(expected_reward, axis=1)
    states = np.arange(n_states)
    for _ in range(max_iterations):
        p_pi = p[states, policy]  # (S, S)
        values = _solve(np.eye(n_states) - gamma * p_pi, expected_reward[states, policy])
        q = expected_reward + gamma * (flat @ values).reshape(n_states, n_actions)
        best = np.argmax(q, axis=1)
        current = q[states, policy]
        better = q[states, best] > current + _TIE_TOL * np.maximum(1.0, np.abs(current))
        if not better.any():
            return values, q
        policy = np.where(better, best, policy)
    raise RuntimeError(f"policy iteration did not converge in {max_iterations} steps")


def optimal_policy(
    transition_matrix: np.ndarray, reward: np.ndarray, *, gamma: float
) -> np.ndarray:
    """The optimal deterministic policy under ``reward``; ties go to the lowest action index.

    Actions whose optimal Q-values are within ``1e-7`` (relative) of the best count as tied.

    Args:
        transition_matrix: ``(S, A, S)``.
        reward: ``(S,)``.
        gamma: Discount factor in ``[0, 1)``.

    Returns:
        ``(S,)`` int64 actions.
    """
    _, q = policy_iteration(transition_matrix, reward, gamma=gamma)
    return greedy_policy(q)


def greedy_policy(q_values: np.ndarray) -> np.ndarray:
    """The lowest-index action among those whose Q-values are within ``1e-7`` of the best.

    Args:
        q_values: ``(S, A)``.

    Returns:
        ``(S,)`` int64 actions.
    """
    q = np.asarray(q_values, dtype=np.float64)
    best = q.max(axis=1, keepdims=True)
    tied = q >= best - _TIE_TOL * np.maximum(1.0, np.abs(best))
    return np.argmax(tied, axis=1).astype(np.int64)


def soft_value_iteration(
    transition_matrix: np.ndarray,
    reward: np.ndarray,
    *,
    gamma: float,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    initial_values: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-causal-entropy planning: soft value iteration and its stochastic policy.

    ``Q(s, a) = sum_s2 P(s2 | s, a) (r(s2) + gamma V(s2))`` with ``V(s) = log sum_a exp Q(s, a)``;
    the policy is ``pi(a | s) = exp(Q(s, a) - V(s))`` (Ziebart et al. 2008, 2010).

    Args:
        transition_matrix: ``(S, A, S)``.
        reward: ``(S,)``.
        gamma: Discount factor in ``[0, 1)``.
        tol: Stop when no soft value changes by more than this in one sweep.
        max_iterations: Sweeps allowed before giving up.
        initial_values: ``(S,)`` soft values to start from (a warm start, e.g. the previous
            solution during IRL); zeros by default.

    Returns:
        ``(soft_values (S,), policy (S, A))``.

    Raises:
        ValueError: For malformed inputs.
        RuntimeError: If it has not converged after ``max_iterations`` sweeps.
    """
    p, r, gamma, flat = _checked_mdp(transition_matrix, reward, gamma)
    n_states, n_actions, _ = p.shape
    expected_reward = flat @ r
    values = (
        np.zeros(n_states)
        if initial_values is None
        else _check_vector("initial_values", initial_values, n_states).copy()
    )
    for _ in range(max_iterations):
        q = (expected_reward + gamma * (flat @ values)).reshape(n_states, n_actions)
        q_max = q.max(axis=1)
        new_values = q_max + np.log(np.exp(q - q_max[:, None]).sum(axis=1))
        delta = np.max(np.abs(new_values - values))
        values = new_values
        if delta <= tol:
            policy = np.exp(q - values[:, None])
            return values, policy / policy.sum(axis=1, keepdims=True)
    raise RuntimeError(f"soft value iteration did not converge in {max_iterations} sweeps")


def soft_policy_iteration(
    transition_matrix: np.ndarray,
    reward: np.ndarray,
    *,
    gamma: float,
    tol: float = 1e-8,
    max_iterations: int = 1_000,
    initial_policy: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The same solution as :func:`soft_value_iteration`, by soft policy iteration.

    Each step evaluates the current stochastic policy's soft values exactly, solving
    ``(I - gamma P_pi) V = P_pi r + H_pi`` (``H_pi`` the policy's entropy per state), and then
    sets ``pi(a | s) = exp(Q(s, a) - V(s))``. It converges in tens of linear solves where
    soft value iteration needs thousands of sweeps for ``gamma`` close to 1.

    Args:
        transition_matrix: ``(S, A, S)``.
        reward: ``(S,)``.
        gamma: Discount factor in ``[0, 1)``.
        tol: Stop when no soft value changes by more than ``tol * max(1, max |V|)`` in a
            step (or by less than ``1e-6`` times that scale without shrinking further, which
            happens with huge rewards, where rounding errors dominate).
        max_iterations: Steps allowed before giving up.
        initial_policy: ``(S, A)`` probabilities to start from (a warm start); uniform by
            default.

    Returns:
        ``(soft_values (S,), policy (S, A))``.

    Raises:
        ValueError: For malformed inputs.
        RuntimeError: If it has not converged after ``max_iterations`` steps.
    """
    p, r, gamma, flat = _checked_mdp(transition_matrix, reward, gamma)
    n_states, n_actions, _ = p.shape
    expected_reward = (flat @ r).reshape(n_states, n_actions)
    if initial_policy is None:
        log_pi = np.full((n_states, n_actions), -np.log(n_actions))
    else:
        pi0 = _policy_matrix(initial_policy, n_states, n_actions)
        with np.errstate(divide="ignore"):
            log_pi = np.log(pi0)
    values = np.full(n_states, np.inf)
    last_delta = np.inf
    for _ in range(max_iterations):
        pi = np.exp(log_pi)
        p_pi = np.einsum("sa,sat->st", pi, p)
        bonus = (pi * (expected_reward - np.where(pi > 0, log_pi, 0.0))).sum(axis=1)
        new_values = _solve(np.eye(n_states) - gamma * p_pi, bonus)
        q = expected_reward + gamma * (flat @ new_values).reshape(n_states, n_actions)
        q_max = q.max(axis=1, keepdims=True)
        log_pi = q - (q_max + np.log(np.exp(q - q_max).sum(axis=1, keepdims=True)))
        delta = np.max(np.abs(new_values - values))
        values = new_values
        scale = max(1.0, float(np.max(np.abs(values))))
        if delta <= tol * scale or (delta >= last_delta and delta <= _PRECISION_FLOOR * scale):
            return values, np.exp(log_pi)  # converged, or stuck at rounding-error level
        last_delta = delta
    raise RuntimeError(f"soft policy iteration did not converge in {max_iterations} steps")


def policy_evaluation(
    transition_matrix: np.ndarray, reward: np.ndarray, policy: np.ndarray, *, gamma: float
) -> np.ndarray:
    """Exact values of a policy, by solving ``(I - gamma P_pi) V = P_pi r``.

    Args:
        transition_matrix: ``(S, A, S)``.
        reward: ``(S,)``.
        policy: ``(S,)`` actions or ``(S, A)`` probabilities.
        gamma: Discount factor in ``[0, 1)``.

    Returns:
        ``(S,)`` values.
    """
    p = check_transition_matrix(transition_matrix)
    n_states, n_actions, _ = p.shape
    r = _check_vector("reward", reward, n_states)
    gamma = _check_gamma(gamma)
    pi = _policy_matrix(policy, n_states, n_actions)
    p_pi = np.einsum("sa,sat->st", pi, p)  # (S, S)
    return _solve(np.eye(n_states) - gamma * p_pi, p_pi @ r)


def policy_value(
    transition_matrix: np.ndarray,
    reward: np.ndarray,
    policy: np.ndarray,
    initial_state_distribution: np.ndarray,
    *,
    gamma: float,
) -> float:
    """The expected discounted return of a policy from the initial-state distribution.

    Args:
        transition_matrix: ``(S, A, S)``.
        reward: ``(S,)``.
        policy: ``(S,)`` actions or ``(S, A)`` probabilities.
        initial_state_distribution: ``(S,)`` probabilities of the first state.
        gamma: Discount factor in ``[0, 1)``.

    Returns:
        ``sum_s p0(s) V_pi(s)``.
    """
    values = policy_evaluation(transition_matrix, reward, policy, gamma=gamma)
    return float(_check_distribution(initial_state_distribution, len(values)) @ values)


def state_visitation_frequencies(
    transition_matrix: np.ndarray,
    policy: np.ndarray,
    initial_state_distribution: np.ndarray,
    *,
    horizon: int,
    survival: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """Expected visits to each state in the steps ``1 .. horizon`` of an episode.

    This is MaxEnt IRL's forward pass: ``p_t = p_{t-1} P_pi`` from ``p_0`` = the initial-state
    distribution, and the result is ``sum_t survival[t-1] p_t``. With ``survival`` the fraction
    of episodes that last at least ``t`` steps, it is the expected count of arrivals in each
    state of an episode whose length is drawn like theirs (independently of the states).

    Args:
        transition_matrix: ``(S, A, S)``.
        policy: ``(S,)`` actions or ``(S, A)`` probabilities.
        initial_state_distribution: ``(S,)``.
        horizon: Steps per episode, at least 1.
        survival: ``(horizon,)`` weights of the steps ``1 .. horizon``; all 1 by default.

    Returns:
        ``(S,)`` expected visit counts; they sum to ``sum(survival)``.
    """
    p = check_transition_matrix(transition_matrix)
    n_states, n_actions, _ = p.shape
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    weights = np.ones(horizon) if survival is None else np.asarray(survival, dtype=np.float64)
    if weights.shape != (horizon,):
        raise ValueError(f"survival must have shape ({horizon},), got {weights.shape}")
    pi = _policy_matrix(policy, n_states, n_actions)
    p_pi = np.einsum("sa,sat->st", pi, p)
    dist = _check_distribution(initial_state_distribution, n_states)
    visits = np.zeros(n_states)
    for weight in weights:
        dist = dist @ p_pi
        visits += weight * dist
    return visits


def expected_value_difference(
    transition_matrix: np.ndarray,
    true_reward: np.ndarray,
    recovered_reward: np.ndarray,
    initial_state_distribution: np.ndarray,
    *,
    gamma: float,
) -> float:
    """Expected value difference (Levine et al. 2011) of a recovered reward.

    The value, under the true reward, of the optimal policy minus that of the policy that is
    optimal under the recovered reward. It is 0 when the recovered reward leads to optimal
    behaviour and is never negative (up to the planners' tolerance).

    Args:
        transition_matrix: ``(S, A, S)``.
        true_reward: ``(S,)``.
        recovered_reward: ``(S,)``, e.g. a learned reward.
        initial_state_distribution: ``(S,)``.
        gamma: Discount factor in ``[0, 1)``.

    Returns:
        The difference of expected discounted returns from the initial-state distribution.
    """
    best = optimal_policy(transition_matrix, true_reward, gamma=gamma)
    recovered = optimal_policy(transition_matrix, recovered_reward, gamma=gamma)
    p0 = initial_state_distribution
    return policy_value(transition_matrix, true_reward, best, p0, gamma=gamma) - policy_value(
        transition_matrix, true_reward, recovered, p0, gamma=gamma
    )


# --- reward models -----------------------------------------------------------------------

FEATURE_REWARD_KINDS = ("linear", "deep")
"""The kinds :func:`make_feature_reward` builds."""


class LinearFeatureReward(nn.Module):
    """A reward linear in the state features, ``r = features @ theta`` (no bias).

    Args:
        n_features: ``F``, the width of the feature matrix.
        seed: Seeds the weights' initialization (small, ``N(0, 0.01^2)``).
    """

    def __init__(self, n_features: int, *, seed: int = 0) -> None:
        super().__init__()
        if n_features < 1:
            raise ValueError(f"n_features must be at least 1, got {n_features}")
        generator = torch.Generator().manual_seed(seed)
        init = 0.01 * torch.randn(n_features, generator=generator, dtype=torch.float64)
        self.theta = nn.Parameter(init)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Rewards ``(S,)`` of the states whose features are ``(S, F)``."""
        return features @ self.theta


class MLPFeatureReward(nn.Module):
    """A non-linear reward of the state features: an MLP (deep MaxEnt IRL, Wulfmeier 2015).

    Args:
        n_features: ``F``, the width of the feature matrix.
        hidden_sizes: Widths of the hidden layers (ReLU after each).
        seed: Seeds the weights' initialization (PyTorch's default scheme).
    """

    def __init__(
        self, n_features: int, *, hidden_sizes: Sequence[int] = (32, 32), seed: int = 0
    ) -> None:
        super().__init__()
        if n_features < 1:
            raise ValueError(f"n_features must be at least 1, got {n_features}")
        if not hidden_sizes or any(int(h) < 1 for h in hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive widths, got {tuple(hidden_sizes)}")
        layers: list[nn.Module] = []
        width = n_features
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for hidden in hidden_sizes:
                layers += [nn.Linear(width, int(hidden), dtype=torch.float64), nn.ReLU()]
                width = int(hidden)
            layers.append(nn.Linear(width, 1, dtype=torch.float64))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Rewards ``(S,)`` of the states whose features are ``(S, F)``."""
        return self.net(features).squeeze(-1)


def make_feature_reward(
    kind: str, n_features: int, *, hidden_sizes: Sequence[int] = (32, 32), seed: int = 0
) -> nn.Module:
    """Build a reward model over state features.

    Args:
        kind: ``"linear"`` (:class:`LinearFeatureReward`) or ``"deep"``
            (:class:`MLPFeatureReward`).
        n_features: ``F``.
        hidden_sizes: Hidden widths of the ``"deep"`` model (ignored for ``"linear"``).
        seed: Seeds the initialization.

    Returns:
        A float64 module mapping features ``(S, F)`` to rewards ``(S,)``.

    Raises:
        ValueError: For an unknown ``kind``.
    """
    if kind == "linear":
        return LinearFeatureReward(n_features, seed=seed)
    if kind == "deep":
        return MLPFeatureReward(n_features, hidden_sizes=hidden_sizes, seed=seed)
    raise ValueError(f"reward must be one of {FEATURE_REWARD_KINDS}, got {kind!r}")
