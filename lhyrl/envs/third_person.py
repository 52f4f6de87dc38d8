"""Third-person views of MuJoCo envs: the same scene through another camera, in other colours.

Third-person imitation (Stadie, Abbeel and Sutskever 2017, lecture 19) learns from a
demonstrator that is seen differently from the learner: another viewpoint, other colours.
:class:`DomainFrames` gives any MuJoCo env (Gymnasium's, or ``lhyrl/MujocoCar-v0``) such a
view: after every ``reset`` and ``step`` it renders a small RGB frame of the scene as one
domain sees it and puts it in ``info["frame"]``. The observation is left as it is, so the
policy keeps its low-dimensional observations while a discriminator reads the frames, as in
the paper. :data:`VIEWS` holds two domains for each supported env:

- ``first-person``: the learner's view;
- ``third-person``: the demonstrator's, from another camera and with the bodies recoloured.

Frames are rendered off-screen (``MUJOCO_GL=egl`` on headless Linux, set when :mod:`lhyrl`
is imported unless already set) by a renderer of the env's own model and data; the
recolouring changes that model, so the env's own ``render`` shows the domain's colours too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

RGBA = tuple[float, float, float, float]


@dataclass(frozen=True)
class DomainView:
    """How one domain sees a MuJoCo scene.

    Attributes:
        camera: A camera of the model, by name; ``None`` uses a free camera placed by the
            fields below.
        distance: The free camera's distance from its look-at point (m).
        azimuth: Its azimuth (degrees; 90 looks along +y).
        elevation: Its elevation (degrees; negative looks down).
        lookat: The point it looks at, when it tracks no body.
        track_body: A body whose position the free camera looks at, following it.
        geom_colours: ``(geom name, RGBA)`` pairs recoloured in this domain.
    """

    camera: str | None = None
    distance: float = 3.0
    azimuth: float = 90.0
    elevation: float = -20.0
    lookat: tuple[float, float, float] = (0.0, 0.0, 0.0)
    track_body: str | None = None
    geom_colours: tuple[tuple[str, RGBA], ...] = ()


VIEWS: dict[str, dict[str, DomainView]] = {
    "InvertedPendulum-v5": {
        # side on, MuJoCo's own colours
        "first-person": DomainView(distance=2.4, azimuth=90.0, elevation=0.0, lookat=(0, 0, 0.3)),
        # from the front left and above, in other colours
        "third-person": DomainView(
            distance=2.8,
            azimuth=135.0,
            elevation=-30.0,
            lookat=(0.0, 0.0, 0.3),
            geom_colours=(
                ("rail", (0.95, 0.85, 0.2, 1.0)),
                ("cart", (0.1, 0.55, 0.95, 1.0)),
                ("cpole", (0.95, 0.25, 0.2, 1.0)),
            ),
        ),
    },
    "lhyrl/MujocoCar-v0": {
        "first-person": DomainView(camera="chase"),  # behind the car, a red body
        # from straight above, following the car, a blue body
        "third-person": DomainView(
            distance=9.0,
            azimuth=90.0,
            elevation=-89.0,
            track_body="chassis",
            geom_colours=(
                ("chassis", (0.1, 0.35, 0.95, 1.0)),
                ("nose", (0.1, 0.35, 0.95, 1.0)),
                ("spoiler", (0.95, 0.95, 0.95, 1.0)),
                ("seat", (0.95, 0.95, 0.95, 1.0)),
            ),
        ),
    },
}
"""The two domains of each env that has them, by env id."""


def domain_view(env_id: str, domain: str) -> DomainView:
    """The view ``domain`` (``first-person`` or ``third-person``) of ``env_id``.

    Raises:
        ValueError: If the env or the domain has no view, naming the ones that do.
    """
    if env_id not in VIEWS:
        raise ValueError(f"no third-person views for env {env_id!r}; views exist for {list(VIEWS)}")
    if domain not in VIEWS[env_id]:
        raise ValueError(f"domain must be one of {list(VIEWS[env_id])}, got {domain!r}")
    return VIEWS[env_id][domain]


class DomainFrames(gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Adds ``info["frame"]``, a ``(size, size, 3)`` uint8 picture as one domain sees it.

    Args:
        env: A MuJoCo env (its unwrapped env has ``model`` and ``data``).
        view: A :class:`DomainView`, or the name of one of :data:`VIEWS` for this env
            (``"first-person"`` or ``"third-person"``).
        size: Height and width of the frames in pixels.

    Raises:
        ValueError: If the env is not a MuJoCo env, ``size`` is below 8, a named view does
            not exist, or the view names a camera, body or geom the model lacks.
    """

    def __init__(self, env: gym.Env[Any, Any], view: DomainView | str, *, size: int = 32) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, view=view, size=size)
        super().__init__(env)
        base = env.unwrapped
        model, data = getattr(base, "model", None), getattr(base, "data", None)
        if not isinstance(model, mujoco.MjModel) or not isinstance(data, mujoco.MjData):
            raise ValueError(f"DomainFrames needs a MuJoCo env, got {type(base).__name__}")
        if size < 8:
            raise ValueError(f"size must be at least 8 pixels, got {size}")
        if isinstance(view, str):
            env_id = env.spec.id if env.spec is not None else type(base).__name__
            view = domain_view(env_id, view)
        self.view = view
        self.size = int(size)
        self._model, self._data = model, data
        for name, rgba in view.geom_colours:
            geom = _named(model, mujoco.mjtObj.mjOBJ_GEOM, name, "geom")
            model.geom_matid[geom] = -1  # a material's colour would win over the geom's
            model.geom_rgba[geom] = rgba
        self._camera: str | mujoco.MjvCamera
        if view.camera is not None:
            _named(model, mujoco.mjtObj.mjOBJ_CAMERA, view.camera, "camera")
            self._camera = view.camera
        else:
            camera = mujoco.MjvCamera()
            camera.distance, camera.azimuth = view.distance, view.azimuth
            camera.elevation = view.elevation
            camera.lookat[:] = view.lookat
            if view.track_body is not None:
                camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
                body = _named(model, mujoco.mjtObj.mjOBJ_BODY, view.track_body, "body")
                camera.trackbodyid = body
            self._camera = camera
        self._renderer: mujoco.Renderer | None = None

    def frame(self) -> np.ndarray:
        """The current scene in this domain: ``(size, size, 3)`` uint8."""
        if self._renderer is None:
            self._renderer = _small_renderer(self._model, self.size)
        self._renderer.update_scene(self._data, camera=self._camera)
        decorate = getattr(self.env.unwrapped, "decorate_scene", None)
        if decorate is not None:  # e.g. MujocoCar-v0's course
            decorate(self._renderer.scene)
        return self._renderer.render().copy()

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the env; ``info["frame"]`` is the first frame."""
        obs, info = self.env.reset(**kwargs)
        return obs, {**info, "frame": self.frame()}

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step the env; ``info["frame"]`` shows the state after the step."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {**info, "frame": self.frame()}

    def close(self) -> None:
        """Free the renderer, then close the env."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        super().close()


FRAME_QUALITY = {"numslices": 8, "numstacks": 4, "numquads": 1}
"""The render quality of the frames (``model.vis.quality``): coarse spheres, cylinders and
capsules, one quad a face. The frames are small, so they show the same scene, and a CPU (EGL
without a GPU) renders them 3-5x faster than at MuJoCo's defaults (MujocoCar-v0: 12 ms a
frame against 40 ms from the chase camera, 5.6 ms against 28 ms from above;
InvertedPendulum-v5: 0.34 ms against 1.0 ms). Multisampling stays: without it, parts
thinner than a pixel (the pendulum's rail seen side on) drop out of 32x32 frames."""


def _small_renderer(model: mujoco.MjModel, size: int) -> mujoco.Renderer:
    """A ``size`` x ``size`` renderer of ``model`` at :data:`FRAME_QUALITY`, without shadows.

    The quality is read when the renderer's context is made, so it is set only for that and
    then put back: the env's own ``render`` keeps the model's.
    """
    quality = model.vis.quality
    saved = {name: getattr(quality, name) for name in FRAME_QUALITY}
    try:
        for name, value in FRAME_QUALITY.items():
            setattr(quality, name, value)
        renderer = mujoco.Renderer(model, height=size, width=size)
    finally:
        for name, value in saved.items():
            setattr(quality, name, value)
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
    return renderer


def _named(model: mujoco.MjModel, kind: mujoco.mjtObj, name: str, what: str) -> int:
    """The id of the model's ``what`` called ``name``."""
    index = mujoco.mj_name2id(model, kind, name)
    if index < 0:
        raise ValueError(f"the model has no {what} named {name!r}")
    return int(index)
