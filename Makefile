# The two commands: `make run` (everything, zero configuration) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: run dev test lint setup manage bench bench-tenants bench-usage bench-invoices bench-api bench-analytics install clean-data help

help:
	@echo "make run     start web (gunicorn) + worker + beat (embedded PostgreSQL/Redis and the Stripe emulator when unconfigured)"
	@echo "make dev     the same with Django's autoreloading development server and DEBUG=1"
	@echo "make test    run the test suite (ARGS='-k auth' to select)"
	@echo "make lint    ruff check, ruff format --check and mypy (fails on any finding)"
	@echo "make setup   install, migrate and load demo data without starting"
	@echo "make manage  ARGS='advance_clock --tenant acme --days 32': a manage.py command on make run's services"
	@echo "make bench   run the benchmarks in bench/ (or one: make bench-tenants | bench-usage | bench-invoices | bench-api | bench-analytics)"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime

run: $(VENV)/.runtime
	$(PY) scripts/dev.py run

# While editing code: runserver reloads on every change (one thread per request: not for load).
dev: $(VENV)/.runtime
	$(PY) scripts/dev.py dev

setup: $(VENV)/.runtime
	$(PY) scripts/dev.py setup

# A manage.py command on the database, Redis and Stripe emulator `make run` uses (running or not).
manage: $(VENV)/.runtime
	$(PY) scripts/dev.py manage $(ARGS)

test: $(VENV)/.dev
	$(PY) scripts/dev.py test $(ARGS)

# The quality gates (configuration in pyproject.toml); each step fails on any finding.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Every benchmark, one after the other (about 10 minutes); each prints its own figures.
bench: bench-tenants bench-usage bench-invoices bench-api bench-analytics

bench-tenants: $(VENV)/.dev
	$(PY) bench/tenants.py $(ARGS)

bench-usage: $(VENV)/.dev
	$(PY) bench/usage.py $(ARGS)

bench-invoices: $(VENV)/.dev
	$(PY) bench/invoices.py $(ARGS)

# Outbound webhooks: deliveries/s and event->delivery p50/p99 to local sinks, then with one 5-s sink.
.PHONY: bench-webhooks
bench-webhooks: $(VENV)/.dev
	$(PY) bench/webhooks.py $(ARGS)

# API overhead: the service against a bare Django view serving the same bytes (wrk when installed).
bench-api: $(VENV)/.dev
	$(PY) bench/api.py $(ARGS)

# Finance overview and analytics API over 10,000 tenants x 24 months of generated facts (p50/p95).
bench-analytics: $(VENV)/.dev
	$(PY) bench/analytics.py $(ARGS)

clean-data:
	rm -rf .data
