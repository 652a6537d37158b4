# yizhi — two commands for a new user: `make demo` and `make test`.
# Both create the environment (.venv at the repository root) through `make install`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(PY) -m uv pip sync --quiet --python $(PY) requirements.lock
	$(PY) -m uv pip install --quiet --python $(PY) --no-deps --config-setting editable_mode=compat -e .
	touch $(STAMP)

demo: install
	$(VENV)/bin/yizhi demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

bench: install
	$(PY) -m benchmarks $(BENCH_ARGS)

lock:
	$(PY) -m uv pip compile pyproject.toml --extra dev --extra dask -p 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var/*.duckdb var/*.wal
