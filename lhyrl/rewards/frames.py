"""A learned reward over pictures: frame pairs through a domain-confused CNN (third-person GAIL).

:class:`FrameRewardNet` is a :class:`~lhyrl.rewards.RewardNet` whose features are not the
transition's ``(s, a, s')`` but two pictures of it, the frame before and the frame after the
step (``info["frame"]`` of :class:`lhyrl.envs.third_person.DomainFrames`), stacked along the
channels and flattened, so that the adversarial machinery (input noise, gradient penalties,
replay, ensembles) acts on them unchanged. Its network is a
:class:`~lhyrl.nn.domain.DomainConfusionDiscriminator`: a discriminator head for the reward
and a domain classifier behind gradient reversal.

:class:`FramePairs` is the ``VecEnv`` wrapper that hands a trainer each step's frame pairs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn
from torch import Tensor

from lhyrl.data.spaces import space_to_description
from lhyrl.nn.domain import (
    DomainConfusionConfig,
    DomainConfusionDiscriminator,
    FrameEncoderConfig,
    frames_to_tensor,
)
from lhyrl.rewards.learned import _REWARD_NETS, RewardNet

__all__ = ["FramePairs", "FrameRewardNet"]


class FrameRewardNet(RewardNet):
    """A discriminator over frame pairs ``(frame_t, frame_t+1)``, with a domain classifier.

    The features of a transition (:meth:`frame_features`) are its two RGB frames stacked to
    6 channels, scaled to [0, 1] and flattened: ``(B, 6 * S * S)``. The observation and action
    spaces are the env's (the policy's), kept so that the trainer can check them; the network
    never reads observations or actions.

    Args:
        observation_space: The (single-env) observation space of the policy.
        action_space: The (single-env) action space.
        frame_size: Height and width S of the frames.
        channels: Output channels of the encoder's stride-2 convolutions.
        feature_dim: Size of the encoder's features.
        domain_hidden: Hidden width of the domain classifier.
        reversal: The gradient reversal's coefficient; 0 leaves the features alone (the
            domain classifier is then only a probe).
    """

    def __init__(
        self,
        *,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        frame_size: int = 32,
        channels: tuple[int, ...] = (16, 32, 32),
        feature_dim: int = 128,
        domain_hidden: int = 64,
        reversal: float = 1.0,
    ) -> None:
        self.frame_size = int(frame_size)
        super().__init__(observation_space=observation_space, action_space=action_space)
        self.network = DomainConfusionDiscriminator(
            DomainConfusionConfig(
                encoder=FrameEncoderConfig(
                    in_channels=6,
                    frame_size=self.frame_size,
                    channels=tuple(channels),
                    feature_dim=feature_dim,
                ),
                domain_hidden=domain_hidden,
                reversal=reversal,
            )
        )

    @property
    def feature_dim(self) -> int:
        """Size of one transition's features: two RGB frames, ``6 * S * S``."""
        return 6 * self.frame_size**2

    def raw_features(self, obs: Any, acts: Any, next_obs: Any) -> Tensor:
        """Not defined: a frame reward reads frames (see :meth:`frame_features`)."""
        raise TypeError(
            "FrameRewardNet reads frames, not observations: use frame_features(frames, next_frames)"
        )

    def frame_features(self, frames: Any, next_frames: Any) -> Tensor:
        """Features ``(B, 6 * S * S)`` of uint8 frame pairs, each ``(B, S, S, 3)``."""
        frames, next_frames = np.asarray(frames), np.asarray(next_frames)
        expected = (self.frame_size, self.frame_size, 3)
        if frames.shape[1:] != expected or next_frames.shape[1:] != expected:
            raise ValueError(
                f"this discriminator reads {expected} frames; got {frames.shape[1:]} and "
                f"{next_frames.shape[1:]}"
            )
        pictures = frames_to_tensor(frames, next_frames, device=self._device())  # (B, 6, S, S)
        return pictures.flatten(1)  # (B, 6 * S * S)

    def pictures(self, x: Tensor) -> Tensor:
        """Features ``(B, D)`` back to stacked pictures ``(B, 6, S, S)``."""
        return x.view(len(x), 6, self.frame_size, self.frame_size)

    def forward_features(self, x: Tensor, terminal: Tensor) -> Tensor:
        """Discriminator logits ``(B,)`` (the reward before the objective's transform)."""
        del terminal
        return self.network(self.pictures(x))  # (B,)

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Discriminator and domain logits ``(B,)`` each, from one pass of the encoder."""
        return self.network.both(self.pictures(x))

    def predict_frames(self, frames: Any, next_frames: Any) -> np.ndarray:
        """Discriminator logits of frame pairs as a float32 array ``(B,)`` (eval mode)."""
        was_training = self.training
        self.eval()
        try:
            x = self.frame_features(frames, next_frames)
            logits = self.forward_features(x, x.new_zeros(len(x))).detach()
        finally:
            self.train(was_training)
        return logits.cpu().numpy().astype(np.float32)

    def config(self) -> dict[str, Any]:
        """Constructor arguments as plain data."""
        encoder = self.network.config.encoder
        return {
            "observation_space": space_to_description(self.observation_space),
            "action_space": space_to_description(self.action_space),
            "frame_size": self.frame_size,
            "channels": list(encoder.channels),
            "feature_dim": encoder.feature_dim,
            "domain_hidden": self.network.config.domain_hidden,
            "reversal": self.network.reversal.coeff,
        }


_REWARD_NETS["FrameRewardNet"] = FrameRewardNet


class FramePairs(VecEnvWrapper):
    """Keeps each step's frame pairs: :attr:`frames` before and :attr:`next_frames` after it.

    Every sub-env must put its picture in ``info["frame"]`` after each reset and step (wrap it
    in :class:`lhyrl.envs.third_person.DomainFrames`). For an episode that ends, the frame
    after the step is its last picture, and the next step starts from the reset's.

    Args:
        venv: The vector env (SB3's: it keeps ``reset_infos``).
        frame_shape: The shape every frame must have, e.g. ``(32, 32, 3)``; ``None``: any.

    Raises:
        ValueError: At the first reset, if the frames are missing or of another shape.
    """

    def __init__(self, venv: VecEnv, *, frame_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(venv)
        self.frame_shape = frame_shape
        self._current: np.ndarray | None = None
        self.frames: np.ndarray | None = None
        """The pictures before the last step, ``(N, H, W, 3)`` uint8."""
        self.next_frames: np.ndarray | None = None
        """The pictures after the last step, ``(N, H, W, 3)`` uint8."""

    def _frame(self, info: dict[str, Any], what: str) -> np.ndarray:
        if "frame" not in info:
            raise ValueError(
                f"the learner's env gives no info['frame'] after {what}: wrap each sub-env in "
                "lhyrl.envs.third_person.DomainFrames(env, 'first-person'), e.g. "
                "make_vec_env(env_id, wrapper_class=partial(DomainFrames, view='first-person'))"
            )
        frame = np.asarray(info["frame"])
        if self.frame_shape is not None and frame.shape != tuple(self.frame_shape):
            raise ValueError(
                f"the learner's env renders {frame.shape} frames; the demonstrations' are "
                f"{tuple(self.frame_shape)}: render at the demonstrations' frame size"
            )
        return frame

    def reset(self) -> Any:
        """Reset every sub-env and keep its first frame."""
        obs = self.venv.reset()
        infos = self.venv.reset_infos
        self._current = np.stack([self._frame(info, "a reset") for info in infos])
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        """Step, and keep the frames before and after the step."""
        obs, rewards, dones, infos = self.venv.step_wait()
        if self._current is None:
            raise RuntimeError("reset the FramePairs wrapper before stepping it")
        after = np.stack([self._frame(info, "a step") for info in infos])
        self.frames, self.next_frames = self._current, after
        current = after.copy()
        reset_infos = self.venv.reset_infos
        for i in np.flatnonzero(dones):
            current[i] = self._frame(reset_infos[i], "a reset")
        self._current = current
        return obs, rewards, dones, infos
