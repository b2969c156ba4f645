# The project's front door: `make run` (the whole stack, locally) and `make test` (the whole suite).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-smoke install clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $(STAMP)

# axe-core for the browser tests (npm registry); Chromium itself is Debian's (.ci/run installs it).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch node_modules/.installed

install: $(STAMP)

run: $(STAMP)
	./scripts/run.sh

test: $(STAMP) node_modules/.installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The benchmark drives the API with wrk (Debian: apt-get install wrk) and runs every scenario
# on SQLite and on PostgreSQL (POSTGRES_URL, default postgres@127.0.0.1:5432), then the
# scale-out (two sets of the processes, one consumer and one worker SIGKILLed). bench-smoke
# (CI) fails on an email lost or repeated; no timing is asserted.
WRK := $(shell command -v wrk)

bench: $(STAMP)
	@test -n "$(WRK)" || { echo "make bench needs wrk: sudo apt-get install wrk" >&2; exit 1; }
	ABIERTO_ENV=development $(PY) bench/pipeline.py --backends sqlite,postgresql
	ABIERTO_ENV=development $(PY) bench/webhooks.py

bench-smoke: $(STAMP)
	@test -n "$(WRK)" || { echo "make bench-smoke needs wrk: sudo apt-get install wrk" >&2; exit 1; }
	ABIERTO_ENV=development $(PY) bench/pipeline.py --smoke --backends sqlite,postgresql

clean:
	rm -rf $(VENV) data test-output node_modules
