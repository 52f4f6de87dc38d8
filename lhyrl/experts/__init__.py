"""Scripted and trained experts, one per environment family, for demonstrations and labels."""

from lhyrl.experts.driving import DrivingExpert

__all__ = ["DrivingExpert"]
