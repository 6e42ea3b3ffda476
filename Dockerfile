# syntax=docker/dockerfile:1
# Image of the billing service: one image for the web (gunicorn), worker and beat (celery)
# services of docker-compose.yml; scripts/docker-entrypoint.sh picks the process.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=billing_project.settings \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media

# Shared libraries WeasyPrint loads at runtime (invoice PDFs), a font and the MIME database.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libffi8 fonts-dejavu-core shared-mime-info \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The code stays root-owned (read-only for the app user). STATIC_ROOT and MEDIA_ROOT belong to app,
# so the named volumes docker-compose mounts there are created with that content and ownership.
COPY . .
RUN chmod 0755 scripts/docker-entrypoint.sh \
    && mkdir -p "$STATIC_ROOT" "$MEDIA_ROOT" \
    && chown app:app "$STATIC_ROOT" "$MEDIA_ROOT"

USER app

# Settings need no database or Redis to import; these values exist for this step only.
RUN SECRET_KEY=collectstatic-build-only \
    DATABASE_URL=postgresql://build:build@localhost:5432/build \
    python manage.py collectstatic --noinput

EXPOSE 8000

ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
# :8000, WEB_CONCURRENCY (3) workers, prometheus_client multi-process mode when PROMETHEUS_MULTIPROC_DIR is set.
CMD ["gunicorn", "--config", "config/gunicorn.conf.py"]
