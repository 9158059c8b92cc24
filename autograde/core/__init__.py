"""The work behind each ``autograde`` command: pure functions and small data classes.

Commands in :mod:`autograde.commands` only parse arguments and call these.
"""
