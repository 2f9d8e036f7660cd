# Two commands on a fresh machine (Python >= 3.10):  make demo  |  make test
# Both create .venv and install archbuilder with its test tools and CPU backends first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,search]'
	# CPU builds of the other Keras backends, for the backend smoke tests.
	$(PY) -m pip install -q 'jax[cpu]>=0.4.30,<0.11' 'torch==2.13.0'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/archbuilder train lenet5 --data digits --resize

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check archbuilder tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info
