"""What every stage shares: one-line errors, params fields, atomic file I/O, the CLI, plotting."""
