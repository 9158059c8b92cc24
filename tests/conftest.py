"""Suite-wide settings: no display, no network-dependent data sources."""

import os

# Plots render off-screen in tests and in notebooks executed by the tests.
os.environ.setdefault("MPLBACKEND", "Agg")
