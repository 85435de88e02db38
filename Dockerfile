# Salesflow production image: one image for web (gunicorn), worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# WeasyPrint renders the quote and invoice PDFs with pango/harfbuzz; DejaVu is the fallback font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 salesflow
WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=salesflow:salesflow . .
RUN mkdir -p /app/var /app/staticfiles /data/media && chown -R salesflow:salesflow /app/var /app/staticfiles /data

ENV DEBUG=0 \
    SALESFLOW_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media

USER salesflow
EXPOSE 8000

# docker-compose.yml runs migrate + collectstatic before this; worker and beat override the command.
CMD ["gunicorn", "crm.wsgi", "-w", "2", "-b", "0.0.0.0:8000", "--access-logfile", "-"]
