# Two set-up commands: `make demo` and `make test`. Both create or reuse .venv in the repo root.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test venv lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	@touch $(STAMP)

demo: venv
	$(BIN)/python -m emov2.demo

test: venv
	$(BIN)/ruff check src tests
	OMP_NUM_THREADS=2 $(BIN)/python -m pytest -q -p no:cacheprovider tests

lint: venv
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
