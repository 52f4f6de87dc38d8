"""An SB3 logger output that keeps every dump, for tests that check what a trainer logs."""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.logger import KVWriter


class Recorder(KVWriter):
    """Keeps every dump of an SB3 logger."""

    def __init__(self) -> None:
        self.dumps: list[dict[str, Any]] = []

    def write(self, key_values: dict[str, Any], key_excluded: Any, step: int = 0) -> None:
        self.dumps.append(dict(key_values))

    def close(self) -> None:
        pass
