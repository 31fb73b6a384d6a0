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

.PHONY: install run demo test bench soak scale clean
install: $(BIN)/collector

run: install  ## the collector under supervisord, in the foreground
	$(BIN)/collector run

demo: install  ## the whole pipeline against the offline simulator (fast clock), demo data only
	$(BIN)/collector demo

test: install  ## the full test suite
	$(BIN)/python -m pytest -q

bench: install  ## every benchmark; writes bench/RESULTS.md
	$(BIN)/python bench/run_all.py

soak: install  ## long soak-and-fault run (minutes)
	$(BIN)/python -m tests.soak

scale: install  ## the pipeline at real scale for 4 cycles (~40 min); writes bench/SCALE.md, bench/scale.json
	$(BIN)/python bench/bench_scale.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
