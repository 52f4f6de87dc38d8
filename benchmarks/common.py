"""Helpers shared by the benchmarks: machine description and result tables."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lhyrl.files import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"
RETURN_THRESHOLDS = (0.9, 0.95)
"""The normalized returns a time-to-threshold table reports the time to (issue 18)."""


def machine() -> str:
    """One line naming the CPU, core count, OS and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def write_table(
    name: str,
    title: str,
    header: list[str],
    rows: list[list[str]],
    notes: str = "",
    command: str | None = None,
) -> Path:
    """Write a Markdown table with the command, machine and date to ``results/<name>.md``.

    ``command`` names the command that produced the rows when it is not this process's (a
    table rebuilt with ``--table-only`` from entries trained earlier).
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# {title}",
        "",
        f"- command: `{command or shlex.join(['python', *sys.argv])}`",
        f"- machine: {machine()}",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    if notes:
        lines += ["", notes.strip()]
    return atomic_write_text(RESULTS / f"{name}.md", "\n".join(lines) + "\n")


def first_reaching(curve: list[dict[str, float]], threshold: float) -> dict[str, float] | None:
    """The first evaluation of a learning curve at or above ``threshold`` (its ``normalized``)."""
    return next((p for p in curve if p["normalized"] >= threshold), None)


def time_to(cell: list[dict[str, Any]], threshold: float) -> tuple[dict[str, float] | None, int]:
    """Mean env steps and training seconds to ``threshold`` over the runs of ``cell`` (each with
    a ``curve`` of evaluations) that reached it, and how many did."""
    got = [h for h in (first_reaching(r["curve"], threshold) for r in cell) if h is not None]
    if not got:
        return None, 0
    keys = ("env_steps", "train_seconds")
    return {k: float(np.mean([h[k] for h in got])) for k in keys}, len(got)


def time_to_text(cell: list[dict[str, Any]], threshold: float) -> str:
    """:func:`time_to` as a table cell: ``steps / seconds (reached/runs)``."""
    reached, count = time_to(cell, threshold)
    if reached is None:
        return f"not reached (0/{len(cell)})"
    return f"{reached['env_steps']:,.0f} / {reached['train_seconds']:.0f} s ({count}/{len(cell)})"


def time_to_columns(cell: list[dict[str, Any]]) -> list[str]:
    """One :func:`time_to_text` cell per threshold of :data:`RETURN_THRESHOLDS`."""
    return [time_to_text(cell, threshold) for threshold in RETURN_THRESHOLDS]
