# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= .caserun
PORT ?= 8321
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint typecheck unit install clean browsers

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start caserun on SQLite with a demo project, and print the URL to open.
run: $(STAMP)
	$(BIN)/caserun serve --data-dir $(DATA_DIR) --port $(PORT) --demo

## Lint, type-check and run the whole suite (SQLite and, when reachable, PostgreSQL).
test: $(STAMP) browsers lint
	CASERUN_TEST_DATABASE_URL=$${CASERUN_TEST_DATABASE_URL:-$(PG_URL)} $(BIN)/pytest

## Debian's Chromium for the browser tests (Playwright's own download does not work here), poppler for the PDF test.
browsers:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	@command -v pdftoppm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
