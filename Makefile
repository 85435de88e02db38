# Salesflow developer commands. GNU make + POSIX sh; needs only Python 3.11 on the machine.
#
#   make run    set up .venv, migrate, seed demo data once, start worker+beat and the dev server
#   make test   set up .venv, run the whole pytest suite (PYTEST_ARGS="-k invoice -x" passes options)
#   make lint   ruff + check that no model change lacks a migration
#
# The embedded defaults (SQLite in var/, Celery on an SQLite broker in var/) need no server; set
# DATABASE_URL / CELERY_BROKER_URL to use PostgreSQL / Redis instead.

SHELL := /bin/sh
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
DEMO_PASSWORD := salesflow-demo

.PHONY: help setup run test lint messages migrate seed clean distclean

help:
	@echo "make run      start Salesflow with demo data on http://$(HOST):$(PORT)/"
	@echo "make test     run the test suite (PYTEST_ARGS=... passes options to pytest)"
	@echo "make lint     ruff + makemigrations --check"
	@echo "make messages compile translations (needs gettext)"
	@echo "make clean    remove var/ (database, broker, media, logs) and caches; distclean also .venv"

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found (install python3.11 or set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Re-install only when requirements.txt changed since the last successful install.
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	@touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(PY) manage.py migrate --noinput

# Demo data only into an empty database: never touches a database someone already uses.
seed: migrate
	@has_users=$$($(PY) manage.py shell -v 0 -c 'from crm.models import User; print(User.objects.exists())'); \
	case "$$has_users" in \
		False) $(PY) manage.py seed_demo ;; \
		True) echo "The database already has users: not seeding demo data." ;; \
		*) echo "Could not check the database for users." >&2; exit 1 ;; \
	esac

# The worker (with beat) and the PDF backfill run in the background and are stopped when the dev server
# exits, whether it is stopped with Ctrl-C or killed.
run: seed
	@mkdir -p var; \
	$(VENV)/bin/celery -A crm worker -B --scheduler django_celery_beat.schedulers:DatabaseScheduler \
		-l info --concurrency 1 >>var/celery.log 2>&1 & \
	worker=$$!; \
	render=""; \
	if $(PY) manage.py help render_documents >/dev/null 2>&1; then \
		$(PY) manage.py render_documents >>var/render.log 2>&1 & \
		render=$$!; \
	fi; \
	trap 'kill $$worker $$render 2>/dev/null; wait $$worker 2>/dev/null; trap - EXIT; exit 0' EXIT INT TERM HUP; \
	echo ""; \
	echo "  Salesflow is starting on  http://$(HOST):$(PORT)/"; \
	echo "  Log in as  seller / $(DEMO_PASSWORD)   (a seller of Team North: start the tour here)"; \
	echo "  Others:    manager, manager2 (sales managers), seller2..seller5, accountant, admin (superuser)"; \
	echo "             all with the password $(DEMO_PASSWORD); admin site at http://$(HOST):$(PORT)/admin/"; \
	echo "  Two-factor sign-in is optional here (user menu > Security); production enforces it for"; \
	echo "             admin and accountant (SALESFLOW_REQUIRE_2FA=1 to try that now)"; \
	echo "  Celery worker+beat log: var/celery.log   PDF backfill log: var/render.log"; \
	echo ""; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run

messages: setup
	$(PY) manage.py compilemessages --ignore $(VENV)

clean:
	rm -rf var .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

# Benchmarks (issue 6, see bench/README.md). PostgreSQL only; databases are created when missing.
#   make bench-data    fill salesflow_bench at BENCH_SCALE (1 = 100k leads; adds a dataset on each call)
#   make bench         the full run: S=0.01 and S=1 side by side, HTTP, import, sweep, PDF, export (long)
#   make bench-smoke   a tiny run in the test database (seconds; also part of `make test`)
BENCH_HOST ?= 127.0.0.1
BENCH_PG ?= postgres://postgres@$(BENCH_HOST):5432
BENCH_SCALE ?= 1
BENCH_ARGS ?=

.PHONY: bench-data bench bench-smoke

bench-data: setup
	@createdb -h $(BENCH_HOST) -U postgres salesflow_bench 2>/dev/null || true
	DATABASE_URL=$(BENCH_PG)/salesflow_bench $(PY) bench/generate.py --migrate --scale $(BENCH_SCALE)

bench: setup
	BENCH_PG=$(BENCH_PG) $(PY) bench/run.py $(BENCH_ARGS)

bench-smoke: setup
	$(PY) -m pytest -q tests/test_bench_smoke.py
