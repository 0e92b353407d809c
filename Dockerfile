# syntax=docker/dockerfile:1
# OneTime: one image for every process (web, bot, scheduler, migrate); see compose.yaml.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/requirements.lock
# Exactly the locked versions, nothing resolved at build time.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-deps -r /tmp/requirements.lock

FROM python:${PYTHON_VERSION}-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/var/lib/onetime/metrics
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin onetime
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY manage.py pyproject.toml README.md ./
COPY onetime ./onetime
COPY docker/entrypoint.sh /usr/local/bin/onetime-entrypoint
# The `onetime` command-line client (/opt/venv/bin/onetime): the project itself, editable
# over /app and without dependencies (the lock installed them); only its build backend is
# fetched, for this step alone.
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps -e . \
    && rm -rf onetime.egg-info
# Static files are collected into the image. The keys below exist for this one command
# only (settings refuse to load without keys); nothing secret is baked into the image.
RUN SECRET_KEY=collectstatic-only \
    ONETIME_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /var/lib/onetime/metrics \
    && chown onetime /var/lib/onetime/metrics
USER onetime
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
ENTRYPOINT ["onetime-entrypoint"]
CMD ["web"]
