# Options Matrix — `make run` serves the demo, `make serve` serves in production, `make test`
# runs every check and the whole suite.
#
# `make run` installs the runtime dependencies only; `make test`, `make lint`, `make format`
# and `make bench` add the dev extras once (stamp files in the venv record what is installed,
# and a change to pyproject.toml installs again).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1
# gunicorn workers and threads per worker; empty: app/web/serving.py decides (2 per core, 2–8
# workers; 4 threads). DATABASE_URL, REDIS_URL and the rest pass through the environment.
WORKERS ?=
THREADS ?=
# Two workers: one takes the browser tests, both share the rest (see tests/conftest.py).
PYTEST_ARGS ?= -n 2
FLASK   = $(BIN)/flask --app app
# exec: gunicorn replaces the shell, so a stop signal reaches its master directly.
GUNICORN = HOST='$(HOST)' PORT='$(PORT)' WORKERS='$(WORKERS)' THREADS='$(THREADS)' \
	exec $(BIN)/gunicorn -c app/web/serving.py app.wsgi:app
RUNTIME = $(VENV)/.runtime-installed
DEV     = $(VENV)/.dev-installed

.PHONY: run serve test install install-dev migrate seed lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(RUNTIME)

install-dev: $(DEV)

migrate: install
	$(FLASK) init-db

seed: migrate
	$(FLASK) seed-demo

run: seed
	@echo "Serving Options Matrix on http://$(HOST):$(PORT) (Ctrl-C to stop)"
	$(GUNICORN)

# Production: install, migrate (never seeds the demo), serve with the settings of
# app/web/serving.py (no --preload: each worker builds its own database engine).
serve: migrate
	$(GUNICORN)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/memo.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/pages.py --database postgresql
	$(BIN)/python bench/load.py --database postgresql --analysts 100 --observers 20 --duration 60 --options 5 --criteria 7
	$(BIN)/python bench/load.py --analysts 50 --observers 10 --duration 60 --options 5 --criteria 7
	$(BIN)/python bench/scaleout.py
	$(BIN)/python bench/crash.py --database sqlite
	$(BIN)/python bench/crash.py --database postgresql

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis *.egg-info
