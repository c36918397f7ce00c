# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit lab notebooks gallery handout own study bench check-pages lock lint format clean

# Create .venv if missing, install the exact pins and `helpers` (editable) with uv (seconds, where pip takes minutes).
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; run e.g. 'make PYTHON=python3.12 ...'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@# Build Matplotlib's font cache now, so that no notebook prints "building the font cache".
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

## run: execute every notebook into the static site build/html/ (index.html, pages, MathJax) and build/figures/
run: $(STAMP)
	$(BIN)/python tools/notebooks.py build

## test: unit tests, doctests and nbval over notebooks/ (decimals to within one unit of their last digit), on 2 workers
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

## unit: the unit tests and docstring examples only (no notebooks, scripts or kernels): the quick loop while changing helpers
unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m 'not browser and not end_to_end' helpers tools tests

## check-pages: open build/html/ and the stored notebooks (in JupyterLab) in headless Chromium; after make run
check-pages: $(STAMP)
	@test -f build/html/index.html || { echo "build/html/index.html is missing: run 'make run' first"; exit 1; }
	$(BIN)/python -m pytest -m browser tests/test_pages.py tests/test_lab.py

## lab: open JupyterLab on the notebooks (with --allow-root when run as root, e.g. in Docker)
lab: $(STAMP)
	$(BIN)/jupyter lab $$(test "$$(id -u)" = 0 && echo --allow-root) notebooks/

## notebooks: re-execute the notebooks in place to refresh their stored outputs
notebooks: $(STAMP)
	$(BIN)/python tools/notebooks.py execute

## gallery: copy the README's key figures from build/figures to docs/gallery (refuses figures older than the notebooks)
gallery: $(STAMP)
	$(BIN)/python tools/notebooks.py gallery

## handout: student copies of the notebooks, without solutions, in build/handout/ (and build/handout/handouts.zip)
handout: $(STAMP)
	$(BIN)/python tools/notebooks.py handout

## own: run notebook 12 on a folder of photos (subfolders included) into build/own/: make own PHOTOS=path/to/folder [K=256] [R=8] [CLUSTERS=6]
own: $(STAMP)
	@test -n "$(PHOTOS)" || { echo "usage: make own PHOTOS=path/to/folder [K=256] [R=8] [CLUSTERS=6]"; exit 2; }
	$(BIN)/python tools/own.py own "$(PHOTOS)" $(if $(K),K=$(K)) $(if $(R),r=$(R)) $(if $(CLUSTERS),n_clusters=$(CLUSTERS))

## study: notebook 13 on a folder with one subfolder per label into build/study/ (page and CSV): make study PHOTOS=path/to/folder [K=256] [MAX=2000]
study: $(STAMP)
	@test -n "$(PHOTOS)" || { echo "usage: make study PHOTOS=path/to/folder [K=256] [MAX=2000] (one subfolder per label)"; exit 2; }
	$(BIN)/python tools/own.py study "$(PHOTOS)" $(if $(K),K=$(K)) $(if $(MAX),max_photos=$(MAX))

## bench: time the lecture's code against helpers, and the nearest-code search against the bare float32 product of its shape (not part of make test)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

## lock: regenerate requirements.lock from pyproject.toml and constraints.txt (keeps the current pins where possible)
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra notebooks --extra test --constraint constraints.txt \
		--universal --python-version 3.11 --custom-compile-command "make lock" --output-file requirements.lock

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean:
	rm -rf build
