"""Compositions shared by handlers, jobs, the API and the CLI: load → decide → render."""
