# The one entry point: CI calls `make test`; people call `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The package alone (what `make demo` needs), then the tools on top (`make test`).
PACKAGE_STAMP := $(VENV)/.installed-package
STAMP  := $(VENV)/.installed
LINT_PATHS := $(wildcard src tests bench docs examples conftest.py)

.PHONY: help install demo test lint typecheck pytest docs bench bench-quick bench-fanout bench-parser bench-stores soak fuzz clean

help:
	@echo "make demo | test | docs | bench | bench-quick | bench-fanout | bench-parser | bench-stores | soak | fuzz | clean"

$(BIN)/python:
	@echo "== creating $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# pip's own output is the progress report: these installs take a while on a cold cache.
$(PACKAGE_STAMP): pyproject.toml | $(BIN)/python
	@echo "== installing eventsource-client and its dependencies (aiohttp, anyio)"
	$(BIN)/python -m pip install --progress-bar on -e .
	touch $(PACKAGE_STAMP)

$(STAMP): pyproject.toml $(PACKAGE_STAMP)
	@echo "== installing the test, lint, type-check and docs tools (pytest, mypy, ruff, mkdocs, ...)"
	$(BIN)/python -m pip install --progress-bar on -e '.[dev,docs]'
	touch $(STAMP)

install: $(STAMP)

demo: $(PACKAGE_STAMP)
	$(BIN)/python -m eventsource._demo

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

# Branch coverage gates: every line and branch of the modules in FULL_COVERAGE
# (the parser and the sans-IO connection, with its backoff record, verdicts and requests; a module split out of them keeps its
# prefix, or add its pattern here, comma-separated), and 95% of src overall.
FULL_COVERAGE := */eventsource/_parser*.py,*/eventsource/_connection*.py,*/eventsource/_backoff.py,*/eventsource/_verdicts.py,*/eventsource/_request.py
MIN_COVERAGE  := 95

pytest: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report --include='$(FULL_COVERAGE)' --fail-under=100
	$(BIN)/coverage report --fail-under=$(MIN_COVERAGE)

test: lint typecheck pytest

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	@echo "== installing the peers the benchmarks compare against"
	$(BIN)/python -m pip install --progress-bar on -e '.[dev,docs,bench]'
	touch $(BENCH_STAMP)

# End to end against every peer, interleaved (bench/README.md has the last table), then
# issue 14's memory row: 10,000 connections, against the leanest peer and the lean raw reader.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/e2e.py
	$(BIN)/python bench/e2e.py --modes fanout --connections 10000 --no-held --fanout-rounds 3 \
		--drivers raw_aiohttp,aiohttp_sse_client2,ours_async_for,ours_batches
	$(BIN)/python bench/parser.py
	$(BIN)/python bench/stores.py

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/e2e.py --quick

# Fan-out memory, its own run: 1,000 connections at once, burst and held (bench/README.md).
bench-fanout: $(BENCH_STAMP)
	$(BIN)/python bench/e2e.py --modes fanout --connections 1000

bench-parser: $(BENCH_STAMP)
	$(BIN)/python bench/parser.py

# Last-event-id stores: throughput with each store over the same run without one.
bench-stores: $(BENCH_STAMP)
	$(BIN)/python bench/stores.py

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak --soak-long

fuzz: $(STAMP)
	$(BIN)/python -m pytest tests/test_parser_properties.py tests/test_fuzz_client.py --hypothesis-profile=fuzz

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .pytest_cache .hypothesis site build dist
