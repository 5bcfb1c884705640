#!/usr/bin/env bash
# Set up, lint, type-check, then run the test suite on SQLite and on PostgreSQL.
# PostgreSQL: RHYTHM_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/test). Locally it is skipped
# with a notice when unreachable; under CI=true it is mandatory. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

echo "== tests on SQLite"
env -u RHYTHM_TEST_DATABASE_URL .venv/bin/pytest "$@"

PG=${RHYTHM_TEST_PG:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
if .venv/bin/python - "$PG" <<'PY'
import sys, psycopg
url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except psycopg.Error as exc:
    print(f"PostgreSQL unreachable: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
PY
then
  echo "== tests on PostgreSQL"
  RHYTHM_TEST_DATABASE_URL="$PG" .venv/bin/pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is required under CI" >&2
  exit 1
else
  echo "== PostgreSQL not reachable: skipped the PostgreSQL run (CI makes it mandatory)"
fi
