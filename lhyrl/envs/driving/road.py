"""Procedurally generated curved multi-lane roads, stored as arrays over arc length.

A road is its centre line, sampled every metre: curvature ``kappa``, heading ``theta`` and
position ``(x, y)``. Positions on the road are Frenet coordinates ``(s, d)``: ``s`` the arc length
along the centre line and ``d`` the signed lateral offset (positive to the left). Lane ``k``
(0 is the rightmost) has its centre at ``d = (k - (lanes - 1) / 2) * lane_width``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENT_LENGTH = (80.0, 220.0)  # metres of constant curvature before the next segment
STRAIGHT_PROBABILITY = 0.35
CURVATURE_RANGE = (1.0 / 900.0, 1.0 / 250.0)  # 1/m; radius 250 m is 2.9 m/s^2 at 27 m/s
TRANSITION_LENGTH = 40  # metres over which curvature ramps between segments (clothoid-like)


def generate_curvature(rng: np.random.Generator, n_points: int) -> np.ndarray:
    """Draw a smooth curvature profile of ``n_points`` one-metre samples.

    The profile is piecewise constant (straights and arcs of random radius and side), then
    smoothed with a moving average so curvature ramps linearly between segments.
    """
    raw = np.zeros(n_points + TRANSITION_LENGTH, dtype=np.float64)
    start = 0
    while start < len(raw):
        length = int(rng.uniform(*SEGMENT_LENGTH))
        if rng.random() < STRAIGHT_PROBABILITY:
            value = 0.0
        else:
            value = float(rng.choice([-1.0, 1.0]) * rng.uniform(*CURVATURE_RANGE))
        raw[start : start + length] = value
        start += length
    raw[:TRANSITION_LENGTH] = 0.0  # every road starts straight
    kernel = np.full(TRANSITION_LENGTH, 1.0 / TRANSITION_LENGTH)
    return np.convolve(raw, kernel, mode="valid")[:n_points]


@dataclass
class Roads:
    """A batch of roads, one per environment: arrays of shape ``(B, M)`` over ``s = 0 .. M-1`` m.

    Attributes:
        kappa: Curvature (1/m), positive when the road turns left.
        theta: Heading of the centre line (rad).
        x: Centre-line x position (m).
        y: Centre-line y position (m).
    """

    kappa: np.ndarray
    theta: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def empty(cls, batch: int, n_points: int) -> Roads:
        """Allocate ``batch`` roads of ``n_points`` samples, all zeros."""
        return cls(*(np.zeros((batch, n_points)) for _ in range(4)))

    @property
    def n_points(self) -> int:
        """Samples per road (the road is ``n_points - 1`` metres long)."""
        return self.kappa.shape[1]

    def regenerate(self, index: int, rng: np.random.Generator) -> None:
        """Draw a new road for environment ``index`` from ``rng``."""
        kappa = generate_curvature(rng, self.n_points)
        theta = np.concatenate(([0.0], np.cumsum(kappa[:-1])))  # ds = 1 m
        self.kappa[index] = kappa
        self.theta[index] = theta
        self.x[index] = np.concatenate(([0.0], np.cumsum(np.cos(theta[:-1]))))
        self.y[index] = np.concatenate(([0.0], np.cumsum(np.sin(theta[:-1]))))

    def _index(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        i = np.minimum(np.maximum(s.astype(np.int64), 0), self.n_points - 2)
        return i, np.minimum(np.maximum(s - i, 0.0), 1.0)

    def curvature_at(self, rows: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Curvature at arc length ``s`` (any shape broadcastable with ``rows``)."""
        i, _ = self._index(s)
        return self.kappa[rows, i]

    def to_world(
        self, rows: np.ndarray, s: np.ndarray, d: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map Frenet ``(s, d)`` to world ``(x, y)`` and the road heading there."""
        i, f = self._index(s)
        x = self.x[rows, i] * (1 - f) + self.x[rows, i + 1] * f
        y = self.y[rows, i] * (1 - f) + self.y[rows, i + 1] * f
        theta = self.theta[rows, i] * (1 - f) + self.theta[rows, i + 1] * f
        return x - d * np.sin(theta), y + d * np.cos(theta), theta
