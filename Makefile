# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite runs twice: on the embedded SQLite and on this PostgreSQL server
# (each run creates a fresh database on it and drops it afterwards).
TEST_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/crm db upgrade
	$(BIN)/crm serve

test: $(STAMP)
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: $(STAMP)
	CRM_TEST_DATABASE=sqlite $(BIN)/python -m pytest

test-postgres: $(STAMP)
	CRM_TEST_DATABASE=$(TEST_POSTGRES) $(BIN)/python -m pytest

bench: $(STAMP)
	CRM_BENCH_POSTGRES=$(TEST_POSTGRES) $(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
