"""Procedurally generated curved multi-lane roads, stored as arrays over arc length.

A road is its centre line, sampled every metre: curvature ``kappa``, heading ``theta`` and
position ``(x, y)``. Positions on the road are Frenet coordinates ``(s, d)``: ``s`` the arc length
along the centre line and ``d`` the signed lateral offset (positive to the left). Lane ``k``
(0 is the rightmost) has its centre at ``d = (k - (lanes - 1) / 2) * lane_width``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SEGMENT_LENGTH = (80.0, 220.0)  # metres of constant curvature before the next segment
STRAIGHT_PROBABILITY = 0.35
CURVATURE_RANGE = (1.0 / 900.0, 1.0 / 250.0)  # 1/m; radius 250 m is 2.9 m/s^2 at 27 m/s
TRANSITION_LENGTH = 40  # metres over which curvature ramps between segments (clothoid-like)


def draw_segments(
    rng: np.random.Generator, n_points: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Draw the random numbers that define one road: ``(4, K)`` uniforms for ``K`` segments.

    Rows are the segments' length, whether each is straight, its side and its curvature.
    ``out``, if given, is a ``(4, K)`` float64 array to fill (the same numbers).
    """
    if out is None:
        return rng.random((4, segment_count(n_points)))
    return rng.random(out=out)


def segment_count(n_points: int) -> int:
    """Enough segments of the shortest length to cover ``n_points`` samples and the ramp."""
    return int(np.ceil((n_points + TRANSITION_LENGTH) / SEGMENT_LENGTH[0])) + 1


def curvature_profiles(uniforms: np.ndarray, n_points: int) -> np.ndarray:
    """Turn ``(R, 4, K)`` segment draws into ``(R, n_points)`` smooth curvature profiles.

    Each profile is piecewise constant (straights and arcs of random radius and side), then
    smoothed with a moving average so curvature ramps linearly between segments.
    """
    out = np.empty((len(uniforms), n_points))
    _write_profiles(*_segments(uniforms), np.arange(len(uniforms)), out)
    return out


def _segments(uniforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment lengths (whole metres) and curvatures, ``(R, K)`` each, from their draws."""
    lengths = (SEGMENT_LENGTH[0] + (SEGMENT_LENGTH[1] - SEGMENT_LENGTH[0]) * uniforms[:, 0]).astype(
        np.int64
    )  # (R, K)
    side = np.where(uniforms[:, 2] < 0.5, -1.0, 1.0)
    magnitude = CURVATURE_RANGE[0] + (CURVATURE_RANGE[1] - CURVATURE_RANGE[0]) * uniforms[:, 3]
    values = np.where(uniforms[:, 1] < STRAIGHT_PROBABILITY, 0.0, side * magnitude)
    return lengths, values


@njit(cache=True)
def _write_profiles(
    lengths: np.ndarray, values: np.ndarray, rows: np.ndarray, out: np.ndarray
) -> None:
    """Write the smoothed profile of segments ``r`` into row ``rows[r]`` of ``out`` (M wide).

    The raw profile repeats each segment's curvature over its length, starts with
    :data:`TRANSITION_LENGTH` metres of straight, and is smoothed by a moving average over
    :data:`TRANSITION_LENGTH` metres (a running sum, as ``np.cumsum`` adds, in order).
    """
    n_points = out.shape[1]
    total = n_points + TRANSITION_LENGTH
    raw = np.empty(total)
    window = np.empty(total + 1)
    for r in range(len(rows)):
        at = 0
        for k in range(lengths.shape[1]):
            stop = min(at + lengths[r, k], total)
            raw[at:stop] = values[r, k]
            at = stop
        if at < total:
            raise ValueError("road segments too short for the road")
        raw[:TRANSITION_LENGTH] = 0.0  # every road starts straight
        window[0] = 0.0
        running = 0.0
        for i in range(total):
            running += raw[i]
            window[i + 1] = running
        row = out[rows[r]]
        for i in range(n_points):
            row[i] = (window[i + TRANSITION_LENGTH] - window[i]) / TRANSITION_LENGTH


class Roads:
    """A batch of roads, one per environment: arrays of shape ``(B, M)`` over ``s = 0 .. M-1`` m.

    Curvature is all the dynamics need; heading and world positions (for drawing and for the
    pure-pursuit controller) are integrated from it on first use after a road is built.

    Attributes:
        kappa: Curvature (1/m), positive when the road turns left.
    """

    def __init__(self, batch: int, n_points: int) -> None:
        self.kappa = np.zeros((batch, n_points))
        self._theta = np.zeros((batch, n_points))
        self._x = np.zeros((batch, n_points))
        self._y = np.zeros((batch, n_points))
        self._integrated = np.ones(batch, dtype=bool)

    @property
    def n_points(self) -> int:
        """Samples per road (the road is ``n_points - 1`` metres long)."""
        return self.kappa.shape[1]

    def build(self, indices: np.ndarray, uniforms: np.ndarray) -> None:
        """Build the roads of environments ``indices`` from their ``(R, 4, K)`` segment draws."""
        _write_profiles(*_segments(uniforms), np.asarray(indices, dtype=np.int64), self.kappa)
        self._integrated[indices] = False

    def _integrate(self) -> None:
        """Heading ``theta`` and centre line ``(x, y)`` of roads built since the last call."""
        rows = np.flatnonzero(~self._integrated)
        theta = np.zeros((len(rows), self.n_points))
        np.cumsum(self.kappa[rows, :-1], axis=1, out=theta[:, 1:])  # ds = 1 m
        self._theta[rows] = theta
        self._x[rows, 1:] = np.cumsum(np.cos(theta[:, :-1]), axis=1)
        self._y[rows, 1:] = np.cumsum(np.sin(theta[:, :-1]), axis=1)
        self._x[rows, 0] = self._y[rows, 0] = 0.0
        self._integrated[rows] = True

    def _index(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        i = np.minimum(np.maximum(s.astype(np.int64), 0), self.n_points - 2)
        return i, np.minimum(np.maximum(s - i, 0.0), 1.0)

    def curvature_at(self, rows: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Curvature at arc length ``s`` (any shape broadcastable with ``rows``)."""
        return self.kappa[rows, np.minimum(np.maximum(s, 0.0).astype(np.int64), self.n_points - 1)]

    def to_world(
        self, rows: np.ndarray, s: np.ndarray, d: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map Frenet ``(s, d)`` to world ``(x, y)`` and the road heading there."""
        if not self._integrated.all():
            self._integrate()
        i, f = self._index(s)
        x = self._x[rows, i] * (1 - f) + self._x[rows, i + 1] * f
        y = self._y[rows, i] * (1 - f) + self._y[rows, i + 1] * f
        theta = self._theta[rows, i] * (1 - f) + self._theta[rows, i + 1] * f
        return x - d * np.sin(theta), y + d * np.cos(theta), theta
