"""Top-down pictures of the driving task, drawn with Pillow.

``human`` mode shows them in a matplotlib window.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from lhyrl.envs.driving.dynamics import VEHICLE_LENGTH, VEHICLE_WIDTH
from lhyrl.envs.driving.sim import DrivingSim

SIZE = (600, 240)  # pixels (width, height)
SCALE = 4.0  # pixels per metre
EGO_AT = 0.3  # the ego car sits this far across the picture; the road runs to the right
GRASS, ASPHALT, MARKING = (86, 130, 70), (90, 90, 96), (235, 235, 235)
EGO_COLOR, CAR_COLOR, CRASH_COLOR = (60, 120, 230), (235, 190, 60), (220, 60, 60)


def draw_frame(sim: DrivingSim, index: int, crashed: bool = False) -> np.ndarray:
    """Draw environment ``index`` of ``sim`` centred on its ego car.

    Returns:
        An ``(H, W, 3)`` uint8 picture; the ego car's road direction points right.
    """
    cfg = sim.config
    row = np.array([index])
    ex, ey, road_heading = (a[0] for a in sim.roads.to_world(row, sim.ego_s[row], sim.ego_d[row]))
    cos, sin = np.cos(-road_heading), np.sin(-road_heading)
    width, height = SIZE

    def to_pixels(x: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
        rx, ry = (x - ex) * cos - (y - ey) * sin, (x - ex) * sin + (y - ey) * cos
        px, py = width * EGO_AT + rx * SCALE, height / 2 - ry * SCALE
        return list(zip(px.tolist(), py.tolist(), strict=True))

    image = Image.new("RGB", SIZE, GRASS)
    draw = ImageDraw.Draw(image)
    s = sim.ego_s[index] + np.arange(-width * EGO_AT / SCALE - 10, width / SCALE + 10, 2.0)
    rows = np.zeros_like(s, dtype=np.int64) + index

    def line(d: float) -> list[tuple[float, float]]:
        x, y, _ = sim.roads.to_world(rows, s, np.full_like(s, d))
        return to_pixels(x, y)

    draw.polygon(line(cfg.half_width) + line(-cfg.half_width)[::-1], fill=ASPHALT)
    for edge in (cfg.half_width, -cfg.half_width):
        draw.line(line(edge), fill=MARKING, width=2)
    for k in range(1, cfg.lanes):
        points = line(-cfg.half_width + k * cfg.lane_width)
        for start in range(0, len(points) - 2, 6):  # dashes: 6 m painted, 6 m gap
            draw.line(points[start : start + 4], fill=MARKING, width=1)

    def car(s_c: float, d_c: float, psi: float, color: tuple[int, int, int]) -> None:
        x, y, theta = (a[0] for a in sim.roads.to_world(row, np.array([s_c]), np.array([d_c])))
        h = theta + psi
        corners = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) * [
            VEHICLE_LENGTH / 2,
            VEHICLE_WIDTH / 2,
        ]
        cx = x + corners[:, 0] * np.cos(h) - corners[:, 1] * np.sin(h)
        cy = y + corners[:, 0] * np.sin(h) + corners[:, 1] * np.cos(h)
        draw.polygon(to_pixels(cx, cy), fill=color, outline=(20, 20, 20))

    visible = np.abs(sim.car_s[index] - sim.ego_s[index]) < width / SCALE
    for j in np.flatnonzero(visible):
        psi = np.arctan2(
            sim.car_target_d[index, j] - sim.car_d[index, j], max(sim.car_v[index, j], 1.0)
        )
        car(sim.car_s[index, j], sim.car_d[index, j], float(np.clip(psi, -0.3, 0.3)), CAR_COLOR)
    car(
        sim.ego_s[index],
        sim.ego_d[index],
        sim.ego_psi[index],
        CRASH_COLOR if crashed else EGO_COLOR,
    )
    return np.asarray(image, dtype=np.uint8)


class HumanWindow:
    """A matplotlib window that shows frames as they come."""

    def __init__(self, title: str, fps: int) -> None:
        import matplotlib.pyplot as plt

        self._plt = plt
        self._fps = fps
        self._figure, axes = plt.subplots(figsize=(SIZE[0] / 100, SIZE[1] / 100), dpi=100)
        self._figure.canvas.manager.set_window_title(title)  # type: ignore[union-attr]
        axes.set_axis_off()
        self._figure.subplots_adjust(0, 0, 1, 1)
        self._image = axes.imshow(np.zeros((SIZE[1], SIZE[0], 3), dtype=np.uint8))

    def show(self, frame: np.ndarray) -> None:
        """Display ``frame`` and wait one frame period."""
        self._image.set_data(frame)
        self._figure.canvas.draw_idle()
        self._plt.pause(1.0 / self._fps)

    def close(self) -> None:
        """Close the window."""
        self._plt.close(self._figure)
