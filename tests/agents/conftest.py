"""Fixtures for the agent tests: demonstrations from hand-written experts."""

from __future__ import annotations

import pytest
import torch
from agent_experts import cartpole_expert, make_demonstrations, pendulum_expert

from lhyrl.data import Demonstrations

torch.set_num_threads(1)  # the tests share a small machine


@pytest.fixture(scope="session")
def cartpole_demos() -> Demonstrations:
    return make_demonstrations("CartPole-v1", cartpole_expert, n_episodes=4, seed=0)


@pytest.fixture(scope="session")
def pendulum_demos() -> Demonstrations:
    return make_demonstrations("Pendulum-v1", pendulum_expert, n_episodes=20, seed=0)
