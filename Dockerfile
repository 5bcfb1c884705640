# Rhythm: one process (`rhythm run` migrates the database, then serves Slack and /healthz on port 3000).
#   docker build -t rhythm .
#   docker run -p 3000:3000 -v rhythm-data:/data -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET rhythm
# Socket Mode: pass SLACK_APP_TOKEN as well. PostgreSQL: set RHYTHM_DATABASE_URL.

# ---- build: install the app and its runtime dependencies (no dev extras) into a venv ----
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# README.md is the package's readme in pyproject.toml, so the build needs it.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install .

# ---- runtime: the venv only, as a non-root user ----
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RHYTHM_DATABASE_URL=sqlite+aiosqlite:////data/rhythm.db \
    RHYTHM_PORT=3000
RUN useradd --system --user-group --uid 10001 --create-home rhythm \
    && mkdir -p /app /data \
    && chown rhythm:rhythm /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Declared after the chown so the volume starts out owned by the app user.
VOLUME ["/data"]
USER rhythm
EXPOSE 3000
# No curl in slim images: ask /healthz with the standard library (an HTTP error status raises, so exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RHYTHM_PORT', '3000'), timeout=4)"]
CMD ["rhythm", "run"]
