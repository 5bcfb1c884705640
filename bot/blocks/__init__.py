"""Functional core: pure Block Kit renderers (dict in, dict out) that stay inside Slack's limits."""
