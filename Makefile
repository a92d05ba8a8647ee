# Sinergi: the two commands are `make demo` (stack + demonstration) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install up down status demo test lint typecheck unit integration rules bench bench-quick chaos clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml deploy/bootstrap.sh
	deploy/bootstrap.sh $(PYTHON) $(VENV)
	@touch $(STAMP)

install: $(STAMP) ## Install system prerequisites (if missing) and the Python environment

up: $(STAMP) ## Start Kafka, PostgreSQL and the schema registry (idempotent)
	$(BIN)/sinergi stack up

down: $(STAMP) ## Stop the processor and the stack (data stays in .sinergi/)
	$(BIN)/sinergi stack down

status: $(STAMP) ## Show what runs
	$(BIN)/sinergi stack status

demo: $(STAMP) ## Start everything, publish months of realistic activity, show the ledger
	$(BIN)/sinergi demo

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy --strict on the project's packages
	$(BIN)/mypy

rules: ## Check the Prometheus configuration and test its alerting rules with promtool
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/rules_test.yml deploy/prometheus/tests/daily_rules_test.yml

unit: $(STAMP) ## Unit tests (no network, seconds)
	$(BIN)/python -m pytest tests/unit -q

integration: $(STAMP) ## Integration and end-to-end tests (starts and stops the test stack)
	$(BIN)/python -m pytest tests/integration tests/e2e -q --durations=15

test: lint typecheck unit integration ## Everything CI runs: lint, types, unit, integration, e2e

bench: $(STAMP) ## Issue 8's table (1,000,000 events) in its own stack: prints it, writes bench/results.json
	$(BIN)/python -m bench.run $(ARGS)

bench-quick: $(STAMP) ## The same table with 100,000 events (10 to 15 minutes here)
	$(BIN)/python -m bench.run --quick $(ARGS)

chaos: $(STAMP) ## Fault scenarios, larger and repeated, in their own stack: prints lost/duplicated (must be 0)
	$(BIN)/python -m bench.chaos

clean: ## Remove the Python environment and all local data (stops nothing: run make down first)
	rm -rf $(VENV) .sinergi .sinergi-test .sinergi-test-cluster .sinergi-chaos .sinergi-bench .sinergi-build
