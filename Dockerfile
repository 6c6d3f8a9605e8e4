FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
WORKDIR /app
# The metrics directory exists from the start, so a one-off `manage.py` in a fresh container
# (not started by bin/web or bin/worker, which empty it) can count into it.
RUN useradd --create-home --uid 1000 loyalty \
    && install -d -o loyalty /tmp/metrics
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic never connects: the URL only has to name PostgreSQL.
RUN DEBUG=True DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --noinput
USER loyalty
EXPOSE 8000
# The web process; docker-compose.yml runs bin/worker and bin/beat from this image too, and
# .ci/prod-shape runs the same three scripts as plain processes.
CMD ["bin/web"]
