#!/usr/bin/env bash
# Set up, then run `rhythm demo`: a demo campaign on embedded SQLite, no Slack account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/rhythm demo "$@"
