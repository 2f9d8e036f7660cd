# Two commands on a fresh machine (Python 3.11):  make demo  |  make test
# Both create .venv and install archbuilder at the versions of the checked-in lock (requirements/lock.txt),
# so a new release elsewhere cannot break a fresh machine; pyproject.toml keeps the tested ranges for
# `pip install archbuilder`.
# - make demo installs what the demo and the CLI need: archbuilder's own dependencies (TensorFlow, Keras,
#   KerasTuner, pydantic, PyYAML, matplotlib and theirs), each pinned by the lock (`-c`: the lock constrains,
#   it adds nothing).
# - make test installs the whole lock on top: the test tools, the export converters, the CPU builds of JAX
#   and PyTorch.
# Refresh the lock to the newest releases in those ranges and re-run the suite:  make relock test
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCK := requirements/lock.txt
# Quiet pip: no version check, and no notes about the machine's empty extra indexes.
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test test-all lint relock clean

DEMO_STAMP := $(VENV)/.demo-stamp
# TensorFlow's C++ headers (tensorflow/include, 430 MB of its 1.9 GB) serve only to compile custom ops; running
# needs none of them, so the demo's environment leaves them out (about 1.9 GB instead of 4.0 GB in all).
$(DEMO_STAMP): pyproject.toml $(LOCK) Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -c $(LOCK) setuptools wheel 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
	$(PIP) install -c $(LOCK) --no-build-isolation -e . 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
	rm -rf $(VENV)/lib/python3*/site-packages/tensorflow/include
	$(PY) -m pip check
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml $(LOCK) Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r $(LOCK) 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
	$(PIP) install --no-deps --no-build-isolation -e . 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
	$(PY) -m pip check
	touch $(STAMP)

# The demo runs in the full environment when make test made one, else in its own light one.
demo: $(if $(wildcard $(STAMP)),$(STAMP),$(DEMO_STAMP))
	$(VENV)/bin/archbuilder train lenet5 --data digits --resize --overwrite
	@echo "Next: source $(VENV)/bin/activate   # puts archbuilder on PATH; then, e.g.: archbuilder summary lenet5"

# The tests run after the checks that keep the house clean: lint, format and types (pyproject.toml).
# `make test` is the quick lane (about 10 minutes of pytest on a fresh 2-core clone; see the Makefile history and
# the closing notes for each measurement): every behaviour, hypothesis's quick profile.
# `make test-all` adds the slow lane (tests marked slow: native-size and sibling networks, long searches)
# and every hypothesis example (HYPOTHESIS_PROFILE=full). Both print the 20 slowest tests.
PYTEST := $(PY) -m pytest -q -n 2 --dist loadscope --durations=20
test: lint
	$(PYTEST) -m "not slow"

test-all: lint
	HYPOTHESIS_PROFILE=full $(PYTEST)

lint: $(STAMP)
	$(VENV)/bin/ruff check archbuilder tests benchmarks
	$(VENV)/bin/ruff format --check archbuilder tests benchmarks
	$(VENV)/bin/mypy

# pip-compile (pip-tools) resolves pyproject.toml's ranges with the test, search, backends, bench and export
# extras, plus the CPU build of PyTorch (requirements/lock.in), into the lock.
relock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip --disable-pip-version-check -q install 'pip-tools>=7.4,<8'
	cd requirements && ../.venv-lock/bin/pip-compile --quiet --upgrade --strip-extras --no-emit-find-links \
	    --no-emit-index-url --allow-unsafe --extra test --extra search --extra backends --extra bench --extra export -o lock.txt ../pyproject.toml lock.in

clean:
	rm -rf $(VENV) .venv-lock build dist *.egg-info
