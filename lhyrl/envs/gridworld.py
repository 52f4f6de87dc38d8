"""An objectworld gridworld (Levine et al. 2011) whose MDP is exposed for inverse RL."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

ACTIONS = ("stay", "up", "down", "left", "right")
"""The meaning of each action index."""

MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)
"""``(row, col)`` displacement of each action; rows grow downwards."""

DEFAULT_HORIZON = 50
"""Steps per episode by default; ``lhyrl/GridWorld-v0`` is also registered with this
``max_episode_steps``."""

POSITIVE_RADIUS = (3.0, 2.0)
"""Distances to colours 0 and 1 within which a cell's true reward is +1 (see the class doc)."""

_MAX_LAYOUT_DRAWS = 1000
_CELL_PIXELS = 24
_OBJECT_COLOURS = np.array(
    [[31, 119, 180], [255, 127, 14], [148, 103, 189], [23, 190, 207], [140, 86, 75]],
    dtype=np.uint8,
)
_REWARD_TINTS = {-1: (250, 205, 205), 0: (240, 240, 240), 1: (200, 240, 200)}


class GridWorldEnv(gym.Env[np.int64, np.int64]):
    """An objectworld gridworld for inverse RL (``lhyrl/GridWorld-v0``).

    ## Description

    The objectworld of Levine et al. (2011), "Nonlinear Inverse Reinforcement Learning with
    Gaussian Processes": an agent walks on a `size` x `size` grid on which `n_objects` objects
    of `n_colours` colours lie. The reward of a cell depends non-linearly on the distances to
    the nearest objects of colours 0 and 1; inverse RL sees only the features (distances
    thresholded at 1, 2, ...) and must recover it. The layout, and so the whole MDP, is fixed
    by `layout_seed`; `reset(seed=...)` only draws the start cell and the wind.

    For tabular inverse RL the env exposes its MDP as arrays (`S = size * size` states,
    `A = 5` actions, `F = n_colours * max_distance` features):

    | Attribute                    | Shape       | Meaning                                       |
    |------------------------------|-------------|-----------------------------------------------|
    | `transition_matrix`          | `(S, A, S)` | `[s, a, s2]`: P(next is s2), rows sum to 1    |
    | `feature_matrix`             | `(S, F)`    | the features of each cell, float64 (0 or 1)   |
    | `true_reward`                | `(S,)`      | reward on arriving in each cell, float64      |
    | `initial_state_distribution` | `(S,)`      | uniform over the cells                        |
    | `gamma`                      | -           | discount the expert plans with (0.99)         |
    | `horizon`                    | -           | steps per episode (50)                        |

    Feature `c * max_distance + (d - 1)` is 1 when the nearest object of colour `c` is at
    (Euclidean, in cells) distance at most `d`, for `d = 1 .. max_distance`; an object's own
    cell is at distance 0. `object_cells` and `object_colours` give the layout itself.

    ## Action Space

    `Discrete(5)`: `0` stay, `1` up, `2` down, `3` left, `4` right. With probability `wind`
    the action is replaced by one drawn uniformly from all five (which may be the same one).
    A move off the grid leaves the agent where it is.

    ## Observation Space

    `Discrete(S)`: the index `row * size + col` of the agent's cell (row 0 at the top).

    ## Rewards

    On arriving in a cell (also by staying in it) the agent receives that cell's
    `true_reward`: +1 if it is within distance 3 of an object of colour 0 and within
    distance 2 of one of colour 1; -1 if it is within distance 3 of colour 0 but not within 2
    of colour 1; 0 otherwise. Other colours are distractors. An episode's return is the sum
    of the rewards of the 50 cells it moves into.

    ## Starting State

    A cell drawn uniformly from all `S` cells (objects do not block the agent), or the state
    given as `reset(options={"state": s})`.

    ## Episode End

    Never terminated; truncated after `horizon` steps (50). `lhyrl/GridWorld-v0` is also
    registered with `max_episode_steps=50`; change the episode length with `horizon=...`,
    since a different `max_episode_steps` only adds an outer time limit that `horizon` does
    not know about. `info` holds the agent's `row` and `col`.

    ## Arguments

    `gym.make("lhyrl/GridWorld-v0", size=10, n_objects=8, n_colours=2, wind=0.3,
    max_distance=None, layout_seed=0, horizon=50, gamma=0.99, render_mode=None)`: the grid's
    side, the number of objects, their colours (at least 2), the wind probability, the largest
    feature distance (`size` when `None`), the seed of the layout, the episode length, and the
    discount `gamma` the expert plans with. The
    layout is redrawn (from the same seed) until some cell has reward +1. Bad values raise
    `ValueError`. `render_mode="rgb_array"` draws the grid tinted by the true reward (green
    +1, red -1), the objects as coloured discs and the agent as a black square.

    ## Version History

    - v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        *,
        size: int = 10,
        n_objects: int = 8,
        n_colours: int = 2,
        wind: float = 0.3,
        max_distance: int | None = None,
        layout_seed: int = 0,
        horizon: int = DEFAULT_HORIZON,
        gamma: float = 0.99,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if int(size) != size or size < 2:
            raise ValueError(f"size must be an integer of at least 2, got {size}")
        if int(n_colours) != n_colours or n_colours < 2:
            raise ValueError(f"n_colours must be an integer of at least 2, got {n_colours}")
        if int(n_objects) != n_objects or not 2 <= n_objects <= size * size:
            raise ValueError(
                f"n_objects must be in [2, size * size = {size * size}], got {n_objects}"
            )
        if not 0.0 <= wind <= 1.0:
            raise ValueError(f"wind must be a probability in [0, 1], got {wind}")
        if max_distance is None:
            max_distance = size
        if int(max_distance) != max_distance or max_distance < 1:
            raise ValueError(f"max_distance must be a positive integer, got {max_distance}")
        if int(horizon) != horizon or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon}")
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {gamma}")
        self.horizon = int(horizon)
        """Steps per episode."""
        self.size = int(size)
        self.n_objects = int(n_objects)
        self.n_colours = int(n_colours)
        self.wind = float(wind)
        self.max_distance = int(max_distance)
        self.layout_seed = int(layout_seed)
        self.gamma = float(gamma)
        self.render_mode = render_mode

        n_states = self.size * self.size
        self.observation_space = spaces.Discrete(n_states)
        self.action_space = spaces.Discrete(len(ACTIONS))
        self.cells = np.stack(np.divmod(np.arange(n_states), self.size), axis=1)  # (S, 2)
        self.object_cells, self.object_colours, distances = self._draw_layout()
        self.nearest_distance = distances
        """``(S, n_colours)`` distance from each cell to the nearest object of each colour."""
        self.feature_matrix = self._features(distances)
        self.true_reward = _objectworld_reward(distances)
        self.transition_matrix = self._transitions()
        self.initial_state_distribution = np.full(n_states, 1.0 / n_states)
        self._state = 0
        self._elapsed = 0

    # --- the MDP -------------------------------------------------------------------------

    def _draw_layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.layout_seed)
        for _ in range(_MAX_LAYOUT_DRAWS):
            cells = rng.choice(len(self.cells), size=self.n_objects, replace=False)
            colours = rng.integers(self.n_colours, size=self.n_objects)
            distances = self._nearest_distances(cells, colours)
            if np.any(_objectworld_reward(distances) > 0):
                return cells.astype(np.int64), colours.astype(np.int64), distances
        raise ValueError(
            f"no layout of {self.n_objects} objects on a {self.size}x{self.size} grid gives any "
            f"cell reward +1 in {_MAX_LAYOUT_DRAWS} draws; use more objects"
        )

    def _nearest_distances(self, cells: np.ndarray, colours: np.ndarray) -> np.ndarray:
        offsets = self.cells[:, None, :] - self.cells[cells][None, :, :]  # (S, n_objects, 2)
        dist = np.hypot(offsets[..., 0], offsets[..., 1])
        nearest = np.full((len(self.cells), self.n_colours), np.inf)
        for colour in range(self.n_colours):
            mask = colours == colour
            if mask.any():
                nearest[:, colour] = dist[:, mask].min(axis=1)
        return nearest

    def _features(self, distances: np.ndarray) -> np.ndarray:
        thresholds = np.arange(1, self.max_distance + 1, dtype=np.float64)  # (M,)
        within = distances[:, :, None] <= thresholds[None, None, :] + 1e-9  # (S, C, M)
        return within.reshape(len(self.cells), -1).astype(np.float64)

    def _move(self, states: np.ndarray, action: int) -> np.ndarray:
        rc = np.clip(self.cells[states] + MOVES[action], 0, self.size - 1)
        return rc[..., 0] * self.size + rc[..., 1]

    def _transitions(self) -> np.ndarray:
        n_states, n_actions = len(self.cells), len(ACTIONS)
        states = np.arange(n_states)
        moved = np.zeros((n_states, n_actions, n_states))
        for action in range(n_actions):
            moved[states, action, self._move(states, action)] = 1.0
        windy = moved.mean(axis=1, keepdims=True)  # a uniformly random action
        return (1.0 - self.wind) * moved + self.wind * windy

    # --- acting --------------------------------------------------------------------------

    def _info(self) -> dict[str, Any]:
        row, col = self.cells[self._state]
        return {"row": int(row), "col": int(col)}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict[str, Any]]:
        """Start in a uniformly drawn cell (``seed`` fixes it, not the layout).

        ``options={"state": s}`` starts in the state ``s`` instead.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        start = options.pop("state", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; the only one is 'state'")
        if start is None:
            start = self.np_random.choice(len(self.cells), p=self.initial_state_distribution)
        elif not (isinstance(start, int | np.integer) and 0 <= start < len(self.cells)):
            raise ValueError(f"options['state'] must be a state index in [0, {len(self.cells)})")
        self._state = int(start)
        self._elapsed = 0
        return np.int64(self._state), self._info()

    def step(self, action: Any) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        """Move (perhaps blown by the wind) and receive the reward of the cell arrived in."""
        act = np.asarray(action)
        if act.shape != () or act.dtype.kind not in "iu":
            raise ValueError(
                f"GridWorld expects one integer action in [0, {len(ACTIONS)}) {ACTIONS}; got "
                f"shape {act.shape} and dtype {act.dtype}"
            )
        if not 0 <= int(act) < len(ACTIONS):
            raise ValueError(f"actions must be in [0, {len(ACTIONS)}) {ACTIONS}, got {int(act)}")
        taken = int(act)
        if self.np_random.random() < self.wind:
            taken = int(self.np_random.integers(len(ACTIONS)))
        self._state = int(self._move(np.array(self._state), taken))
        reward = float(self.true_reward[self._state])
        self._elapsed += 1
        truncated = self._elapsed >= self.horizon
        return np.int64(self._state), reward, False, truncated, self._info()

    def render(self) -> np.ndarray | None:
        """A top-down picture of the grid, its objects and the agent (``rgb_array``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode to make().")
            return None
        px = _CELL_PIXELS
        tints = np.array([_REWARD_TINTS[int(r)] for r in self.true_reward], dtype=np.uint8)
        frame = np.repeat(np.repeat(tints.reshape(self.size, self.size, 3), px, axis=0), px, axis=1)
        frame[::px, :] = 160  # grid lines
        frame[:, ::px] = 160
        yy, xx = np.mgrid[0:px, 0:px] - (px - 1) / 2.0
        disc = np.hypot(yy, xx) <= px * 0.35
        for cell, colour in zip(self.object_cells, self.object_colours, strict=True):
            row, col = self.cells[cell]
            patch = frame[row * px : (row + 1) * px, col * px : (col + 1) * px]
            patch[disc] = _OBJECT_COLOURS[colour % len(_OBJECT_COLOURS)]
        row, col = self.cells[self._state]
        margin = px // 4
        frame[
            row * px + margin : (row + 1) * px - margin, col * px + margin : (col + 1) * px - margin
        ] = 0
        return frame


def _objectworld_reward(distances: np.ndarray) -> np.ndarray:
    """Objectworld's reward from ``(S, C)`` distances: +1 near colours 0 and 1, -1 near 0 only."""
    near_0 = distances[:, 0] <= POSITIVE_RADIUS[0] + 1e-9
    near_1 = distances[:, 1] <= POSITIVE_RADIUS[1] + 1e-9
    return np.where(near_0 & near_1, 1.0, np.where(near_0, -1.0, 0.0))
