# Two entry points for a fresh machine; both set up .venv first (idempotent).
PY ?= .venv/bin/python

LINT_PATHS = mmdet_dynmoe tools tests configs setup.py

.PHONY: install test demo lint format

install:
	bash tools/install.sh

test: install
	$(PY) -m pytest -q tests

demo: install
	$(PY) tools/demo.py

lint: install  # what CI checks: flake8, import order, formatting
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --diff --recursive $(LINT_PATHS)

format: install  # rewrite imports and formatting in place
	$(PY) -m isort $(LINT_PATHS)
	$(PY) -m yapf --in-place --recursive $(LINT_PATHS)
