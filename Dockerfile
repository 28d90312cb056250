# One image for every process: web (gunicorn), the Celery workers, beat and the migrations.
# docs/deploy.md shows how Kubernetes and docker-compose run it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# WeasyPrint needs Pango and HarfBuzz; the fonts make the PDF packet readable. Versions are not
# pinned (.hadolint.yaml says why).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 app \
    && useradd --create-home --uid 1000 --gid 1000 app

WORKDIR /app
# The dependencies first, so that a change to the code alone reuses this layer; their version
# ranges are pyproject.toml's.
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY . .
# Settings refuse to load without these; at build time they only need to exist.
RUN SECRET_KEY=build-only DATABASE_URL=postgresql://build/build REDIS_URL=redis://build:6379/0 \
    STATIC_ROOT=/app/staticfiles python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /app/media /app/signing && chown -R app:app /app/media /app/signing

# Numeric, so that Kubernetes can check runAsNonRoot against the image.
USER 1000:1000
ENV STATIC_ROOT=/app/staticfiles MEDIA_ROOT=/app/media PYTHONPATH=/app
EXPOSE 8000
CMD ["gunicorn", "truststream.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
