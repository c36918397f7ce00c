# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lab notebooks gallery bench lint format clean

# Create .venv if missing, install the exact pins and `helpers` (editable).
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; run e.g. 'make PYTHON=python3.12 ...'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@# Build Matplotlib's font cache now, so that no notebook prints "building the font cache".
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

## run: execute every notebook headlessly into build/ (HTML + figures); the committed notebooks are not touched
run: $(STAMP)
	$(BIN)/python tools/notebooks.py build

## test: unit tests, doctests and strict nbval over notebooks/
test: $(STAMP)
	$(BIN)/python -m pytest

## lab: open JupyterLab on the notebooks
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

## notebooks: re-execute the notebooks in place to refresh their stored outputs
notebooks: $(STAMP)
	$(BIN)/python tools/notebooks.py execute

## gallery: copy the README's key figures from build/figures to docs/gallery (after make run)
gallery: $(STAMP)
	$(BIN)/python tools/notebooks.py gallery

## bench: time the lecture's code against helpers (not part of make test)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean:
	rm -rf build
