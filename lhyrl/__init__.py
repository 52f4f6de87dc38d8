"""lhyrl: reinforcement- and imitation-learning environments and agents.

Importing :mod:`lhyrl` registers every environment id under ``lhyrl/`` with Gymnasium, so
``gym.make("lhyrl/Driving-v0")`` works after ``import lhyrl`` (or, with no import, as
``gym.make("lhyrl:lhyrl/Driving-v0")``).
"""

from lhyrl import envs as envs  # registers the environment ids

__version__ = "0.1.0"
