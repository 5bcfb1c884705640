"""Time-triggered entry points (scheduled snapshots, huddles, reminders) — built from team settings in the DB."""
