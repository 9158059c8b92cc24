"""Instructor tooling for the course: release, run, validate and grade notebooks."""

__version__ = "0.1.0"
