# The one entry point: CI calls `make test`; people call `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LINT_PATHS := $(wildcard src tests bench docs examples)

.PHONY: help install demo test lint typecheck pytest docs bench bench-quick bench-fanout bench-parser soak fuzz clean

help:
	@echo "make demo | test | docs | bench | bench-quick | bench-fanout | bench-parser | soak | fuzz | clean"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m eventsource._demo

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

pytest: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report --include='*/eventsource/_parser.py' --fail-under=100
	$(BIN)/coverage report

test: lint typecheck pytest

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs,bench]'
	touch $(BENCH_STAMP)

# End to end against every peer, interleaved (bench/README.md has the last table).
bench: $(BENCH_STAMP)
	$(BIN)/python bench/e2e.py
	$(BIN)/python bench/parser.py

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/e2e.py --quick

# Fan-out memory, its own run: 1,000 connections at once, burst and held (bench/README.md).
bench-fanout: $(BENCH_STAMP)
	$(BIN)/python bench/e2e.py --modes fanout --connections 1000

bench-parser: $(BENCH_STAMP)
	$(BIN)/python bench/parser.py

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak --soak-long

fuzz: $(STAMP)
	$(BIN)/python -m pytest tests/test_parser_properties.py tests/test_fuzz_client.py --hypothesis-profile=fuzz

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .pytest_cache .hypothesis site build dist
