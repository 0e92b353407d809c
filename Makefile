# OneTime — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# The tests run against PostgreSQL: DATABASE_URL, else the local server as `postgres`.
TEST_DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/onetime)
# Fixed keys for tests only; they protect nothing.
TEST_ENV := DEBUG=0 SECRET_KEY=test-only-not-a-secret \
	ONETIME_ENCRYPTION_KEYS=b25ldGltZS10ZXN0LWtleS1ub3QtZm9yLXByb2QtMDA= \
	ONETIME_RATE_CREATE=off ONETIME_RATE_REVEAL=off ONETIME_RATE_LOOKUP=off

.PHONY: help install run dev test database lint fmt pytest migrations-check messages schema lock clean \
	bench bench-tools bench-cpu bench-servers

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# The project itself goes in editable and without dependencies (the lock has them), for
# the `onetime` command-line client (.venv/bin/onetime, [project.scripts] in pyproject.toml).
$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements-dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

install: $(STAMP) ## Create .venv, install the locked dependencies and the onetime command (when changed)

# What `make run` and `make dev` share: migrate the database (embedded SQLite in .local/
# unless DATABASE_URL says otherwise), then honcho, which interleaves the logs and stops
# everything on Ctrl-C; `-e /dev/null` keeps a compose-oriented .env out of local runs.
# ONETIME_LOCAL_KEYS generates the keys once into .local/dev-keys.json. honcho hands PORT
# to the first process it starts (web or dev) and PORT+100, +200 to the others; WEB_PORT
# tells the bot the web's port, for the links /secret answers with (Procfile).
LOCAL_ENV = ONETIME_LOCAL_KEYS=1 HOST=$(HOST) WEB_PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH"
PROCESSES = scheduler $${TELEGRAM_BOT_TOKEN:+bot}

run: $(STAMP) ## Serve as production does (DEBUG off) on HOST:PORT (127.0.0.1:8000) + scheduler (+ bot)
	DEBUG=0 $(LOCAL_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	DEBUG=0 $(LOCAL_ENV) $(BIN)/python manage.py collectstatic --no-input -v 0
	DEBUG=0 $(LOCAL_ENV) $(BIN)/honcho -e /dev/null start -p $(PORT) web $(PROCESSES)

dev: $(STAMP) ## Like run, but Django's autoreloading development server with DEBUG on
	DEBUG=1 $(LOCAL_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	DEBUG=1 $(LOCAL_ENV) $(BIN)/honcho -e /dev/null start -p $(PORT) dev $(PROCESSES)

test: $(STAMP) database lint migrations-check pytest ## Lint, type-check, migrations check, all tests

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TEST_ENV) $(BIN)/mypy onetime tests

fmt: $(STAMP) ## Format and autofix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

database: ## Start the local PostgreSQL if it is down; create the test run's database
	DATABASE_URL=$(TEST_DATABASE_URL) scripts/ensure-postgres

migrations-check: $(STAMP) ## Fail if a model change has no migration
	$(TEST_ENV) DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python manage.py makemigrations --check --dry-run

# axe-core for the browser tests' accessibility scan (package.json; a test tool, never served).
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package-lock.json
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm is missing: the accessibility scan will be skipped"; fi

pytest: $(STAMP) $(NODE_STAMP) database ## Only the tests: PostgreSQL first, then the `sqlite` subset on SQLite
	$(TEST_ENV) DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)
	mkdir -p .local
	$(TEST_ENV) DATABASE_URL=sqlite:///$(CURDIR)/.local/sqlite.sqlite3 $(BIN)/pytest -m sqlite -q $(PYTEST_ARGS)

messages: $(STAMP) ## Extract and compile translations (needs GNU gettext)
	cd onetime && DEBUG=1 ../$(BIN)/python ../manage.py makemessages -l ru --no-obsolete
	cd onetime && DEBUG=1 ../$(BIN)/python ../manage.py compilemessages -l ru

schema: $(STAMP) ## Write the OpenAPI schema to docs/openapi.yaml
	$(TEST_ENV) $(BIN)/python manage.py spectacular --validate --file docs/openapi.yaml

lock: ## Re-resolve requirements*.lock from pyproject.toml
	$(BIN)/uv pip compile -q --universal --python-version 3.11 pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile -q --universal --python-version 3.11 --extra dev pyproject.toml -o requirements-dev.lock

# Benchmark tools: wrk, redis-server and pgbench from Debian (installed when missing; needs
# root), snappass 1.6.2 (the peer, on its own gunicorn) and py-spy in their own venv under
# .local/bench, never in .venv. The servers compared (granian, gunicorn) are in .venv.
BENCH_VENV := .local/bench/venv
# The server that holds the scratch databases (dropped and re-created per run; --db names
# them, default onetime_bench and onetime_bench_servers).
BENCH_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
BENCH_STAMP := $(BENCH_VENV)/.installed-snappass-1.6.2

$(BENCH_STAMP):
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check \
		snappass==1.6.2 gunicorn==27.0.1 py-spy==0.4.3
	touch $@

bench-tools: $(STAMP) $(BENCH_STAMP) ## Install what the benches need (wrk, redis, pgbench, valgrind, snappass)
	@missing=""; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v pgbench >/dev/null || missing="$$missing postgresql-contrib"; \
	command -v valgrind >/dev/null || missing="$$missing valgrind"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing from Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Bounded: every load run stops by itself (5 s each; BENCH_ARGS="--duration N"), the run
# is interrupted after 40 minutes whatever happens. Traffic goes to 127.0.0.1 only.
bench: bench-tools ## Load-test OneTime as production runs it vs the PostgreSQL floor and snappass
	DATABASE_URL=$(BENCH_ADMIN_URL) scripts/ensure-postgres
	BENCH_ADMIN_URL=$(BENCH_ADMIN_URL) timeout --signal=INT --kill-after=60 2400 $(BIN)/python bench/run.py $(BENCH_ARGS)

# Instructions per request under callgrind: repeatable where `make bench`'s rates drift.
bench-cpu: bench-tools ## CPU per request in instructions (callgrind), for comparing levers
	DATABASE_URL=$(BENCH_ADMIN_URL) scripts/ensure-postgres
	BENCH_ADMIN_URL=$(BENCH_ADMIN_URL) timeout 1200 $(BIN)/python bench/cpu.py $(BENCH_ARGS)

# The HTTP servers side by side, hostile clients included (docs/performance.md, "Choosing
# the server"): ~5 minutes, interrupted after 15 whatever happens.
bench-servers: bench-tools ## gunicorn sync/gthread, granian WSGI and production's server side by side
	DATABASE_URL=$(BENCH_ADMIN_URL) scripts/ensure-postgres
	BENCH_ADMIN_URL=$(BENCH_ADMIN_URL) timeout --signal=INT --kill-after=60 900 $(BIN)/python bench/run.py --servers $(BENCH_ARGS)

clean: ## Remove the virtual environment and local data (.local holds dev keys!)
	rm -rf $(VENV) .local staticfiles .mypy_cache .pytest_cache .ruff_cache node_modules
