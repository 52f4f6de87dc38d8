"""Config sections of the dialogue family (filled in with the dialogue run family)."""

from __future__ import annotations

SECTIONS: dict[str, type] = {}
