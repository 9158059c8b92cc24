"""Tests of respai.efficiency."""
