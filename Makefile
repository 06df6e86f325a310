# The supported entry points. `make test` is what CI runs (.ci/run); `make run` starts the local stack.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test test-realpds lint typecheck unit run key synth bench deploy layer clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Everything: lint, types, unit + integration + infra + end-to-end tests.
test: lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile -q

unit: setup
	$(BIN)/pytest -q tests/unit

# crosspost's Bluesky adapter against the official PDS (npm @atproto/pds, installed into .cache/pds on first use).
test-realpds: setup
	$(BIN)/pytest -q -m realpds tests/realpds

# make run ARGS="--port 8080 --jitter"
run: setup
	$(BIN)/python -m local.run $(ARGS)

key: setup
	$(BIN)/python -m local.key

synth: setup
	$(BIN)/python app.py

layer: setup
	$(BIN)/python layers/deps/build.py

bench: setup
	$(BIN)/python -m bench

deploy: setup layer
	npx --yes aws-cdk@2 deploy

clean:
	rm -rf $(VENV) cdk.out .crosspost .pytest_cache .mypy_cache .ruff_cache
