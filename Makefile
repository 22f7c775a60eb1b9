# Footfall: `make demo` and `make test` work on a fresh clone; both create .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
export FOOTFALL_HOME ?= $(CURDIR)/.footfall
export DAGSTER_HOME ?= $(FOOTFALL_HOME)/dagster

.PHONY: install demo test lint ui bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/footfall demo

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q

ui: install
	$(BIN)/footfall init
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: install
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/rules.py
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/transform.py
	$(BIN)/python benchmarks/mining.py --skip-rules
	$(BIN)/python benchmarks/forecast.py
	$(BIN)/python benchmarks/recommend.py
	$(BIN)/python benchmarks/video.py

clean:
	rm -rf $(FOOTFALL_HOME)
