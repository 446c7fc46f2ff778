# Set-up is part of every target: a fresh clone needs only python3 (3.11+) and pip.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test coverage lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c 'from promptctl._code_store import warm; warm()'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/promptctl lint
	$(BIN)/promptctl list
	env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY $(BIN)/promptctl test --mode replay

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest runs two workers per core (addopts in pyproject.toml, tests/conftest.py). Byte-code caches stay on
# even where the environment turns them off (PYTHONDONTWRITEBYTECODE): without them every
# worker re-rewrites the asserts of every test module and every child process recompiles
# promptctl (~3 s of CPU per worker); __pycache__ is git-ignored.
test: lint typecheck
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest

# Line coverage of src/promptctl, child processes included (docs/contributing.md).
coverage: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .promptctl build src/*.egg-info
