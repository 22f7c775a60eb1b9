# Footfall: `make demo` and `make test` work on a fresh clone; both create .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
export FOOTFALL_HOME ?= $(CURDIR)/.footfall
export DAGSTER_HOME ?= $(FOOTFALL_HOME)/dagster

.PHONY: install demo test lint ui bench clean browser-deps

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

test: lint browser-deps
	$(BIN)/python -m pytest -q

# The UI browser test (tests/test_ui_browser.py) drives the system's Chromium through Playwright's
# Python package; nothing is downloaded at test time (never `playwright install`). As root on
# Debian (CI) Chromium is installed with apt-get; elsewhere the test skips with its reason, unless
# FOOTFALL_REQUIRE_BROWSER=1 (CI sets it), which turns a missing browser into a failure here.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		echo "browser-deps: $$(chromium --version 2>/dev/null || chromium-browser --version)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium fonts-dejavu-core >/dev/null && chromium --version 2>/dev/null; \
	elif [ "$${FOOTFALL_REQUIRE_BROWSER:-0}" = 1 ]; then \
		echo "browser-deps: Chromium is missing and cannot be installed without root and apt-get;" \
			"install it (sudo apt-get install chromium) or unset FOOTFALL_REQUIRE_BROWSER." >&2; \
		exit 1; \
	else \
		echo "browser-deps: no Chromium; the UI browser test will be skipped" \
			"(sudo apt-get install chromium, or make browser-deps as root, to run it)."; \
	fi

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
