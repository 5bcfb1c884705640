"""The outbox: every proactive Slack message is a row first, then sent, paced and retried by the worker."""
