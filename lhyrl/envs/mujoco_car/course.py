"""The closed course of ``lhyrl/MujocoCar-v0``: a smooth random loop and its centreline geometry.

The course is a star-shaped loop ``r(θ) = R (1 + Σ_k a_k cos(kθ + φ_k))``, ``k = 2, 3, 4``,
driven counter-clockwise. Its centreline is kept as a closed polyline with the arc length,
heading and curvature at every vertex; positions along it are arc lengths ``s`` in metres,
taken modulo the course length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HARMONICS = np.array([2.0, 3.0, 4.0])  # (K,) the wobble's angular frequencies
MAX_CURVATURE = 0.3  # 1/m: no bend tighter than a 3.3 m radius (the car turns in about 1.1 m)


@dataclass(frozen=True)
class Projection:
    """Where a point lies relative to the centreline.

    Attributes:
        s: Arc length of the nearest centreline point, in ``[0, length)`` metres.
        offset: Signed distance from the centreline, positive to the left (metres).
        heading: Direction of the centreline at ``s`` (radians, unwrapped).
    """

    s: float
    offset: float
    heading: float


class Course:
    """A closed centreline, ``n_points`` vertices driven counter-clockwise.

    Args:
        points: ``(N, 2)`` vertices of the centreline in metres (the last joins the first).
        curvature: ``(N,)`` signed curvature at each vertex (1/m, positive turning left).
        half_width: Half the track width in metres.
    """

    def __init__(self, points: np.ndarray, curvature: np.ndarray, half_width: float) -> None:
        self.points = np.asarray(points, dtype=np.float64)  # (N, 2)
        self.curvature = np.asarray(curvature, dtype=np.float64)  # (N,)
        self.half_width = float(half_width)
        seg = np.roll(self.points, -1, axis=0) - self.points  # (N, 2) vertex i -> i + 1
        self.seg_len = np.linalg.norm(seg, axis=1)  # (N,)
        self.seg_dir = seg / self.seg_len[:, None]  # (N, 2) unit
        self.s = np.concatenate([[0.0], np.cumsum(self.seg_len)])  # (N + 1,) closes the loop
        self.length = float(self.s[-1])
        heading = np.unwrap(np.arctan2(self.seg_dir[:, 1], self.seg_dir[:, 0]))  # (N,)
        # heading at the vertices: the mean of the neighbouring segments' directions
        vertex_heading = heading - 0.5 * np.diff(heading, prepend=heading[-1] - 2 * np.pi)
        self.heading = np.append(vertex_heading, vertex_heading[0] + 2 * np.pi)  # (N + 1,)
        self._x = np.append(self.points[:, 0], self.points[0, 0])  # (N + 1,)
        self._y = np.append(self.points[:, 1], self.points[0, 1])  # (N + 1,)
        self._k = np.append(self.curvature, self.curvature[0])  # (N + 1,)

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        *,
        radius: float,
        wobble: float,
        half_width: float,
        n_points: int = 512,
    ) -> Course:
        """A random loop around the origin (drawn only from ``rng``).

        Args:
            rng: The generator the shape is drawn from.
            radius: Mean radius ``R`` of the loop in metres.
            wobble: Largest relative amplitude ``a_2`` of the harmonics (``a_k`` is drawn in
                ``[0, wobble / (k - 1)]``); amplitudes shrink until no bend is tighter than
                :data:`MAX_CURVATURE` allows.
            half_width: Half the track width in metres.
            n_points: Vertices of the centreline polyline.
        """
        amplitude = rng.uniform(0.0, 1.0, HARMONICS.shape) * wobble / (HARMONICS - 1.0)  # (K,)
        phase = rng.uniform(0.0, 2 * np.pi, HARMONICS.shape)  # (K,)
        theta = np.linspace(0.0, 2 * np.pi, n_points, endpoint=False)  # (N,)
        angle = HARMONICS[None, :] * theta[:, None] + phase[None, :]  # (N, K)
        for _ in range(50):
            r = radius * (1.0 + np.cos(angle) @ amplitude)  # (N,)
            dr = -radius * np.sin(angle) @ (amplitude * HARMONICS)  # (N,) dr/dθ
            ddr = -radius * np.cos(angle) @ (amplitude * HARMONICS**2)  # (N,) d²r/dθ²
            curvature = (r**2 + 2 * dr**2 - r * ddr) / (r**2 + dr**2) ** 1.5  # (N,)
            if np.abs(curvature).max() <= MAX_CURVATURE and r.min() > 2 * half_width:
                break
            amplitude = amplitude * 0.8
        points = np.column_stack([r * np.cos(theta), r * np.sin(theta)])  # (N, 2)
        return cls(points, curvature, half_width)

    def project(self, xy: np.ndarray) -> Projection:
        """The nearest centreline point to ``xy`` (``(2,)`` metres)."""
        n = len(self.points)
        i = int(np.argmin(np.sum((self.points - xy) ** 2, axis=1)))
        best: tuple[float, float, int, float] | None = None  # (dist², t, segment, cross)
        for j in ((i - 1) % n, i):  # the two segments that meet at vertex i
            rel = xy - self.points[j]  # (2,)
            t = min(max(float(rel @ self.seg_dir[j]), 0.0), float(self.seg_len[j]))
            foot = self.points[j] + t * self.seg_dir[j]  # (2,)
            dist2 = float(np.sum((xy - foot) ** 2))
            cross = float(self.seg_dir[j, 0] * rel[1] - self.seg_dir[j, 1] * rel[0])
            if best is None or dist2 < best[0]:
                best = (dist2, t, j, cross)
        assert best is not None
        dist2, t, j, cross = best
        s = float(self.s[j] + t) % self.length
        offset = float(np.copysign(np.sqrt(dist2), cross))
        heading = float(np.interp(s, self.s, self.heading))
        return Projection(s=s, offset=offset, heading=heading)

    def point_at(self, s: np.ndarray | float) -> np.ndarray:
        """Centreline points ``(..., 2)`` at arc lengths ``s`` (any shape, wrapped around)."""
        s = np.mod(s, self.length)
        out = np.empty((*np.shape(s), 2))
        out[..., 0] = np.interp(s, self.s, self._x)
        out[..., 1] = np.interp(s, self.s, self._y)
        return out

    def heading_at(self, s: np.ndarray | float) -> np.ndarray:
        """Centreline direction (radians, not wrapped) at arc lengths ``s``."""
        return np.asarray(np.interp(np.mod(s, self.length), self.s, self.heading))

    def curvature_at(self, s: np.ndarray | float) -> np.ndarray:
        """Signed centreline curvature (1/m, positive turning left) at arc lengths ``s``."""
        return np.asarray(np.interp(np.mod(s, self.length), self.s, self._k))

    def wrap_delta(self, delta: float) -> float:
        """An arc-length difference wrapped into ``[-length / 2, length / 2)``."""
        return (delta + 0.5 * self.length) % self.length - 0.5 * self.length
