"""Shipped hyperparameter presets: ``<algo>/<env>.yaml`` (``/`` in an env id becomes ``-``).

Each file holds config keys, as a ``--config`` file does; ``lhyrl train --algo ALGO --env ENV``
starts from the file of that pair, and flags override it (see :mod:`lhyrl.config`).
"""
