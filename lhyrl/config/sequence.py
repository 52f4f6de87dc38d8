"""Config sections of the sequence family (filled in with the sequence run family)."""

from __future__ import annotations

SECTIONS: dict[str, type] = {}
