# The two commands of the README: `make demo` and `make test`. Each creates .venv from the
# pinned requirements on first use (needs only Python 3.11 and the package index).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

.PHONY: venv demo test lint
venv: $(VENV)/.installed

# The main job: a fresh SQLite registry in var/demo, eager Celery, real fixture data.
demo: $(VENV)/.installed
	LEAKLEDGER_DATA_DIR=var/demo $(PY) manage.py demo --fresh

# Two processes (pytest-xdist), each with its own test database: the suite is CPU-bound, and the
# machines that run it (a developer's, CI's) have two cores. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: $(VENV)/.installed
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy
