# The two set-up commands: `make run` (demo on SQLite) and `make test` (whole suite on PostgreSQL + Redis).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/loyalty
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
DEMO_ENV := DEBUG=True
TEST_ENV := DEBUG=False SECRET_KEY=test-only-secret-key-that-is-long-enough-0123456789 \
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) ALLOWED_HOSTS=testserver,127.0.0.1,localhost

.PHONY: run test lint format api-snapshot

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py demo_bootstrap
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(BIN)/.installed
	$(TEST_ENV) DATABASE_URL=sqlite://:memory: $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The committed contract of /api/v1/ (tests/api/test_api_contract.py compares the served schema with it).
# Generating the schema opens no database connection, so no server needs to run.
api-snapshot: $(BIN)/.installed
	$(TEST_ENV) $(BIN)/python manage.py spectacular --validate --fail-on-warn \
		--format openapi-json --lang en --file docs/api/openapi-v1.json
	$(BIN)/python -m json.tool --sort-keys --indent 2 docs/api/openapi-v1.json docs/api/openapi-v1.json
