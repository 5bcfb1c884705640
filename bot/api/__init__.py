"""The ASGI app: /slack/events, /healthz (and the ingest API as it arrives)."""
