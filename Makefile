# Front doors: `make repro` (set up .venv if needed, then run the pipeline), `make images`
# (the image pipeline, images/dvc.yaml) and `make test`. Stage commands call `python`, so
# the venv's bin goes first on PATH.
VENV := .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export DVC_STUDIO_OFFLINE := true
export DVC_NO_ANALYTICS := 1

.PHONY: setup bytecode repro images test lint bench clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Where PYTHONDONTWRITEBYTECODE is set, Python never caches the package's bytecode and every
# stage process compiles it again (0.4 s each); compileall writes it anyway, and only for
# files that changed.
bytecode: setup
	python -m compileall -q src

repro: bytecode
	dvc repro

# A separate pipeline with its own params (images/params.yaml): `dvc repro` above never runs it.
images: bytecode
	dvc repro images/dvc.yaml

# Two workers, stealing work from each other: the end-to-end tests are long and uneven.
test: bytecode
	python -m pytest -n 2 --dist worksteal

lint: setup
	ruff check . && ruff format --check .

bench: bytecode
	python benchmarks/bench.py

clean-venv:
	rm -rf $(VENV)
