# Options Matrix — `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT   ?= 5000
PYTEST_ARGS ?= -n 2
HOST   ?= 127.0.0.1
FLASK   = $(BIN)/flask --app app

.PHONY: run test install migrate seed lint format bench clean

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/activate

install: $(BIN)/activate

migrate: install
	$(FLASK) init-db

seed: migrate
	$(FLASK) seed-demo

run: seed
	@echo "Serving Options Matrix on http://$(HOST):$(PORT) (Ctrl-C to stop)"
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --threads 4 --access-logfile - 'app.wsgi:app'

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/live.py
	$(BIN)/python bench/memo.py
	$(BIN)/python bench/history.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
