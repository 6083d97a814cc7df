# Commons: `make run` to try it, `make test` to check it. Both create .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test audit migrate seed bench clean

# `commons up` migrates and, on an empty database, loads the demo before it starts.
run: $(VENV)/.installed
	$(BIN)/commons up

test: $(VENV)/.installed-test
	.ci/ensure-chromium
	$(BIN)/python -m pytest -n 3 -q

# Known vulnerabilities in every installed package, from PyPI's vulnerability data (.ci/audit_dependencies.py).
audit: $(VENV)/.installed-test
	$(BIN)/python .ci/audit_dependencies.py

migrate: $(VENV)/.installed
	$(BIN)/commons migrate

seed: migrate
	$(BIN)/commons seed demo

# Ceilings, rush and browse on this machine against a fresh PostgreSQL database (docs/benchmarks.md).
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.run

# A new venv starts with the pip and setuptools its Python shipped, which have known vulnerabilities.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools

# Stamp files: reinstall only when the package definition changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
