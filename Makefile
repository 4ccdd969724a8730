# The README's commands: `make run`, `make test` and `make demo`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv run demo sim test doctor docs lint audit faults long-drills soak bench bench-quick bench-tools migrate clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## run: the service on embedded defaults (SQLite and an embedded Redis under instance/)
run: $(STAMP)
	$(PY) -m service.local_run

## demo: the service, a simulated Zoom and a meeting's life in one command (`--once` via DEMO_ARGS stops after)
demo: $(STAMP)
	$(PY) -m demo $(DEMO_ARGS)

## sim: a standalone Zoom simulator on port 9100 (SIM_ARGS="--help" lists its flags)
sim: $(STAMP)
	$(PY) -m zoomsim --control $(SIM_ARGS)

## doctor: check the service `make run` started (settings, stores, workers, cron, Zoom); a deployment runs
##   `flask --app service.app:create_app doctor` in its own environment instead
doctor: $(STAMP)
	$(PY) -m service.local_run doctor

## docs: rewrite docs/zoom-setup.md's generated lists (the events to subscribe to, the scopes) from the code
docs: $(STAMP)
	$(PY) -m tools.zoom_setup_doc

## migrate: apply migrations to DATABASE_URL (default: SQLite under instance/)
migrate: $(STAMP)
	$(VENV)/bin/alembic upgrade head

## test: the machine's set-up (tools/test-machine.sh), lint, then unit, integration (real Redis and PostgreSQL)
##   and end-to-end tests
test:
	./tools/test-machine.sh
	@$(MAKE) --no-print-directory venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

## faults: the fault tests alone (tests/faults: Redis killed, PostgreSQL cut off, a worker SIGKILLed, Zoom down,
##   a 429 storm, the daily cap at midnight, tokens expiring under two workers, a short soak)
faults: $(STAMP)
	$(VENV)/bin/pytest tests/faults -m ""  # every drill, the long ones too

## long-drills: the fault drills that wait out real time (marked `long`: RQ's minute-long scheduler lock, Zoom down
##   20 s then storming, a simulated UTC midnight), left out of `make test` to keep it under 15 minutes; CI runs them
long-drills: $(STAMP)
	$(VENV)/bin/pytest -m long

## soak: the long soak run (bench/soak.py) on PostgreSQL; SOAK_ARGS="--help" lists its flags
soak: $(STAMP)
	$(PY) -m bench.soak $(SOAK_ARGS)

## bench: every benchmark in bench/ (intake, intake parts, reconcile, outbound, scale-out, report pull), tables appended to docs/benchmarks.md
bench: $(STAMP) bench-tools
	$(PY) -m bench

## bench-quick: each benchmark's quick mode, as CI runs them: fails on a crash or a wrong result, never on a time
bench-quick: $(STAMP) bench-tools
	$(PY) -m bench --quick

# The intake benchmark's load generator, Debian's wrk: installed here when missing and we are root.
bench-tools:
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
	  || { echo "the benchmarks need wrk: apt-get install wrk"; exit 1; }

## audit: pip-audit over both requirements files; fails on a vulnerability with a fix (AUDIT_SKIPPED=FILE: unreachable passes)
audit: $(STAMP)
	$(PY) tools/audit_dependencies.py $(if $(AUDIT_SKIPPED),--skipped-file $(AUDIT_SKIPPED))

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) instance/*.db instance/*.db-* .pytest_cache
