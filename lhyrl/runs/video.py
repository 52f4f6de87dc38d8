"""Videos of evaluation episodes in TensorBoard, for envs that render ``rgb_array`` frames.

TensorBoard shows a "video" as an animated GIF in its Images tab. The GIF is encoded here with
Pillow (already installed with matplotlib), so no video library is needed: one episode's
frames, thinned to at most :data:`MAX_FRAMES` and shrunk to at most :data:`MAX_SIDE` pixels.
"""

from __future__ import annotations

import io
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from tensorboard.compat.proto.summary_pb2 import Summary

from lhyrl.data.rollout import as_policy_fn

__all__ = ["MAX_FRAMES", "MAX_SIDE", "episode_frames", "gif_bytes", "log_video", "renders_frames"]

MAX_FRAMES = 150
"""Frames kept of one episode (evenly spaced), so that event files stay small."""
MAX_SIDE = 256
"""Largest width or height of a kept frame, in pixels."""


def renders_frames(env_id: str) -> bool:
    """Whether the env renders ``rgb_array`` frames."""
    env = gym.make(env_id)
    try:
        return "rgb_array" in env.metadata.get("render_modes", [])
    finally:
        env.close()


def episode_frames(
    env_id: str, policy: Any, *, seed: int, max_steps: int = 1000
) -> tuple[list[np.ndarray], int]:
    """One deterministic episode of ``policy`` from ``env.reset(seed=seed)``: frames and fps.

    Args:
        env_id: The env (made with ``render_mode="rgb_array"``).
        policy: An SB3 policy or model, or a batched ``obs -> actions`` callable.
        seed: The seed of the reset.
        max_steps: At most this many steps are played.

    Returns:
        The rendered frames, each ``(H, W, 3)`` uint8, and the env's frame rate.
    """
    act = as_policy_fn(policy, deterministic=True)
    env = gym.make(env_id, render_mode="rgb_array")
    try:
        obs, _ = env.reset(seed=seed)
        frames = [np.asarray(env.render())]
        for _ in range(max_steps):
            action = act(np.asarray(obs)[None])[0]  # a batch of one
            obs, _, terminated, truncated, _ = env.step(action)
            frames.append(np.asarray(env.render()))
            if terminated or truncated:
                break
        fps = int(env.metadata.get("render_fps") or 30)
    finally:
        env.close()
    return frames, fps


def gif_bytes(frames: list[np.ndarray], fps: int) -> tuple[bytes, int, int]:
    """An animated GIF of ``frames`` (thinned and shrunk); its bytes, height and width."""
    keep = max(1, -(-len(frames) // MAX_FRAMES))
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames[::keep]]
    scale = min(1.0, MAX_SIDE / max(images[0].size))
    if scale < 1.0:
        size = (max(1, round(images[0].width * scale)), max(1, round(images[0].height * scale)))
        images = [image.resize(size) for image in images]
    buffer = io.BytesIO()
    duration = max(20, round(1000 * keep / max(fps, 1)))  # ms per kept frame
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
    )
    return buffer.getvalue(), images[0].height, images[0].width


def log_video(logger: Logger, tag: str, frames: list[np.ndarray], fps: int, step: int) -> None:
    """Write ``frames`` as an animated GIF to the logger's TensorBoard file at ``step``."""
    if not frames:
        return
    data, height, width = gif_bytes(frames, fps)
    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=data)
    summary = Summary(value=[Summary.Value(tag=tag, image=image)])
    for output in logger.output_formats:
        if isinstance(output, TensorBoardOutputFormat):
            file_writer = output.writer._get_file_writer()
            file_writer.add_summary(summary, step)
            output.writer.flush()
