# One entry point for people and CI. `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EMBEDDED := $(PY) -m truststream.embedded
# The import contracts in pyproject.toml: an import that points up a layer fails the build.
LINT_IMPORTS := $(VENV)/bin/lint-imports --no-cache

.PHONY: run test lint format check setup clean-var bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,embedded]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(EMBEDDED) run

test: setup
	bin/system-packages
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(LINT_IMPORTS)
	$(EMBEDDED) exec -- $(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(LINT_IMPORTS)
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

check: setup
	$(EMBEDDED) exec -- $(PY) manage.py check --deploy

clean-var:
	rm -rf var

bench: setup
	bin/system-packages
	$(EMBEDDED) exec -- $(PY) bench/planning_bench.py
	$(EMBEDDED) exec -- $(PY) bench/checklists_bench.py
	$(EMBEDDED) exec -- $(PY) bench/packets_bench.py
	$(EMBEDDED) exec -- $(PY) bench/live_bench.py
	$(EMBEDDED) exec -- $(PY) bench/pages_bench.py
	$(EMBEDDED) exec -- $(PY) bench/volume_bench.py
	$(EMBEDDED) exec -- $(PY) bench/reports_bench.py
	$(EMBEDDED) exec -- $(PY) bench/gates_bench.py
	# These two start their own private Postgres and Redis (ports from BENCH_PORT, 8350).
	$(PY) bench/faults_bench.py
	$(PY) bench/scale_bench.py
