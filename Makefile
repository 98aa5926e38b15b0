# Two entry points for a fresh machine; both set up .venv first (idempotent).
PY ?= .venv/bin/python

.PHONY: install test demo

install:
	bash tools/install.sh

test: install
	$(PY) -m pytest -q tests

demo: install
	$(PY) tools/demo.py
