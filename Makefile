# Two commands a newcomer needs: `make run` (the collector) and `make test` (the suite).
# Both create .venv themselves from the system python3 (>= 3.11).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/collector: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Test workers: most tests wait on real processes and sockets, so 4 overlap well even on 2 cores.
# --dist loadfile: each test file runs on one worker (module fixtures built once, soak runs serial).
TEST_WORKERS ?= 4

.PHONY: install run demo test test-fast bench soak scale clean
install: $(BIN)/collector

run: install  ## the collector under supervisord, in the foreground
	$(BIN)/collector run

demo: install  ## the whole pipeline against the offline simulator (fast clock), demo data only
	$(BIN)/collector demo

test: install  ## the full test suite
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-fast: install  ## the suite without the tests marked slow (soak runs, whole pipelines)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

bench: install  ## every benchmark; writes bench/RESULTS.md
	$(BIN)/python bench/run_all.py

soak: install  ## long soak-and-fault run (minutes)
	$(BIN)/python -m tests.soak

scale: install  ## the pipeline at real scale for 4 cycles (~40 min); writes bench/SCALE.md, bench/scale.json
	$(BIN)/python bench/bench_scale.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
