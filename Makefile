# The two set-up commands: `make run` (the demo) and `make test` (the whole suite), both on PostgreSQL:
# DATABASE_URL / TEST_DATABASE_URL when a server answers there, else an embedded one (devtools/embedded_postgres.py).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/loyalty
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PORT ?= 8000
DEMO_ENV := DEBUG=True
PG := $(BIN)/python -m devtools.embedded_postgres
TEST_ENV := DEBUG=False SECRET_KEY=test-only-secret-key-that-is-long-enough-0123456789 \
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) ALLOWED_HOSTS=testserver,127.0.0.1,localhost

.PHONY: run test lint format api-snapshot

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	$(DEMO_ENV) $(PG) run -- 'exec $(BIN)/python manage.py demo_bootstrap --migrate --serve 127.0.0.1:$(PORT)'

test: $(BIN)/.installed
	$(TEST_ENV) $(PG) run --prefer '$(TEST_DATABASE_URL)' -- \
		'$(BIN)/python manage.py makemigrations --check --dry-run && $(BIN)/pytest $(PYTEST_ARGS)'

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
