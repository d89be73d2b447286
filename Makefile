# Switchboard: `make demo` runs the main job on a local cluster; `make test` runs the whole suite.
# Everything it needs (virtualenv, Kubernetes components, Helm) is set up on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
KUBECONFIG_LOCAL := $(CURDIR)/.cluster/kubeconfig
CHART := charts/switchboard
PROMTOOL ?= promtool

.PHONY: help venv binaries cluster-up cluster-down cluster-status packages generate lint chart-lint unit integration test demo demo-stop

help:
	@echo "make demo            bring up the local cluster and run a contact center on it"
	@echo "make test            lint, type checks, unit and integration tests"
	@echo "make cluster-up      start the local Kubernetes control plane (builds it on first use)"
	@echo "make cluster-down    stop it"
	@echo "make cluster-status  say what runs"
	@echo "make packages        install the Debian packages needed (Prometheus, RabbitMQ,"
	@echo "                     PostgreSQL, Chromium) if any is missing"
	@echo "make generate        regenerate the CRD and the API reference from the models"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

binaries:
	hack/build.sh

cluster-up: venv
	$(PY) hack/cluster.py up

cluster-down: venv demo-stop
	$(PY) hack/postgres.py down
	$(PY) hack/rabbitmq.py down
	$(PY) hack/prometheus.py down
	$(PY) hack/cluster.py down

cluster-status: venv
	$(PY) hack/cluster.py status

packages: venv
	$(PY) hack/packages.py

generate: venv
	$(VENV)/bin/switchboard crd > crds/switchboard.io_contactcenters.yaml
	$(VENV)/bin/switchboard crd --reference > docs/reference.md
	$(VENV)/bin/switchboard crd --json-schema > schemas/switchboard.io/contactcenter_v1alpha1.json
	cp crds/switchboard.io_contactcenters.yaml charts/switchboard/files/crd.yaml

lint: venv chart-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The Helm chart with its defaults and with every option on, and its Prometheus rules.
chart-lint: binaries packages
	bin/helm lint --strict $(CHART)
	bin/helm lint --strict $(CHART) --set-json 'watchNamespaces=["support","sales"]' \
		--set metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true \
		--set dashboards.enabled=true,logLevel=debug
	bin/helm template switchboard $(CHART) --namespace switchboard-system >/dev/null
	$(PROMTOOL) check rules $(CHART)/rules/switchboard.rules.yaml
	$(PROMTOOL) test rules $(CHART)/rules/switchboard.rules_test.yaml

unit: venv binaries
	$(VENV)/bin/pytest tests/unit

# The suite runs its own operator: one the demo left running would reconcile its objects too.
integration: venv binaries packages demo-stop
	$(VENV)/bin/pytest tests/integration

test: lint unit integration

demo: cluster-up packages
	$(PY) hack/prometheus.py up
	$(PY) hack/rabbitmq.py up
	$(PY) hack/postgres.py up
	KUBECONFIG=$(KUBECONFIG_LOCAL) hack/demo.sh

demo-stop:
	hack/demo.sh stop
