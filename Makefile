# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
# The suite is CPU-bound, and how the interpreter was built matters: a distribution's python3 is built with
# profile-guided and link-time optimisation, and ran the same tests on 28 s of CPU where a plain source build (pyenv's
# default) took 35 s. So the venv is made from the system's python3 when it is 3.11 or newer and can make a venv, else
# from the python3 on PATH; `make PYTHON=...` picks another (it matters only when .venv is first made).
SYSTEM_PYTHON := /usr/bin/python3
PYTHON ?= $(shell $(SYSTEM_PYTHON) -c 'import ensurepip, sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& echo $(SYSTEM_PYTHON) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ARGS ?=
# Test processes, one per CPU: the suite is CPU-bound, and on 2 cores two processes finish it sooner than four
# (184 s against 205 s, with 302 s of CPU against 375 s); mypy runs beside them in the gaps while a test waits.
TEST_WORKERS ?= logical
# Python caches each module's compiled bytecode where it can; a machine that says otherwise (PYTHONDONTWRITEBYTECODE)
# would have every test process compile every module it imports again. Installing therefore skips compiling the
# whole of every package (12 s of the 36 s install): only what is imported is compiled, once, on first import.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test lint typecheck pytest demo bench migrate check lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

test: $(STAMP) lint
	@$(MAKE) --no-print-directory -j2 typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

demo: $(STAMP)
	$(BIN)/python -m tests.demo $(DEMO_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

check: $(STAMP)
	$(BIN)/python -m bot check

# Regenerate the exact versions after changing dependencies in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade -e '.[dev]'
	( echo "# Exact versions for reproducible installs; regenerate with 'make lock'."; \
	  $(BIN)/python -m pip freeze --exclude-editable ) > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
