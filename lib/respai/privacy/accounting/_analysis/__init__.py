"""Pure functions behind :mod:`respai.privacy.accounting` (no state, no validation)."""
