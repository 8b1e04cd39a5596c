# Two set-up commands: `make demo` and `make test`. Both create or reuse .venv in the repo root.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test venv lint clean data

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	@touch $(STAMP)

# The embedded data set (Debian's dataset-fashion-mnist) is system data: installed here, never by the library.
FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

data:
	@test -f $(FMNIST) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
	  && (apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null 2>&1 \
	      || (apt-get update -qq && apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null)) \
	  || echo "note: install Fashion-MNIST with 'sudo apt-get install dataset-fashion-mnist'"; }

demo: venv data
	$(BIN)/python -m emov2.demo

test: venv
	$(BIN)/ruff check src tests
	OMP_NUM_THREADS=2 $(BIN)/python -m pytest -q -p no:cacheprovider tests

lint: venv
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
