"""One module per subcommand: parse arguments, call :mod:`autograde.core`, print, exit code."""
