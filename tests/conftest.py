"""Settings for the whole suite.

``make test`` runs the suite on every core with pytest-xdist (one worker per core), so each
worker keeps torch to one intra-op thread: two workers of two threads each on two cores run
several times slower than two of one (issue 18's measurements). Runs started through
``lhyrl train`` default to one thread already.
"""

from __future__ import annotations

import torch

torch.set_num_threads(1)
