FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 1000 loyalty
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic never connects: the URL only has to name PostgreSQL.
RUN DEBUG=True DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --noinput
USER loyalty
EXPOSE 8000
CMD ["gunicorn", "loyalty.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
