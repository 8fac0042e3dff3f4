# The hub's image: one image for web (gunicorn), the Celery worker and Celery beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MDM_ENV=production

WORKDIR /app

# Dependencies first, from the hashed lock file (every version and file CI ran), so a code change does not
# reinstall them. The package itself is not installed: the code runs from /app (PYTHONPATH), where settings find
# templates/.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# The simulators and the demo (simulators/, demo/) are not copied: production never loads them.
COPY manage.py ./
COPY config ./config
COPY mdm ./mdm
COPY matching ./matching
COPY governance ./governance
COPY templates ./templates

RUN useradd --create-home --uid 10001 mdm \
    && mkdir -p /app/staticfiles /app/var \
    && chown mdm:mdm /app/staticfiles /app/var
USER mdm

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "-c", "config/gunicorn.py", "--bind", "0.0.0.0:8000"]
