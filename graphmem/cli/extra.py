"""More CLI commands (evaluation, questions, note history), registered on import."""
