# Ancrage — the commands a newcomer needs. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TIER ?= commune

.PHONY: demo test test-slow install quality fix lock serve clean

$(STAMP): requirements/base.txt requirements/dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements/base.txt -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

## Run Ancrage on its embedded demo (SQLite), on http://127.0.0.1:8000 (or $$PORT).
demo: install
	$(BIN)/ancrage demo

## The whole suite, lint and format checks, and the migrations check.
test: install quality
	$(BIN)/pytest

## The full sweeps that `make test` leaves out (marked `slow`: every guessed id), and the property
## tests with ten times more examples, at random (hypothesis's profile `full`).
test-slow: install
	HYPOTHESIS_PROFILE=full $(BIN)/pytest -m "slow or hypothesis"

quality: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=sqlite://:memory: DJANGO_SETTINGS_MODULE=ancrage.config.settings.test \
		$(BIN)/ancrage makemigrations --check --dry-run

fix: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

serve: install
	$(BIN)/ancrage serve

## Benchmarks (TIER=commune|departement|national): a table, and bench/results/summary.json.
.PHONY: bench
bench: install
	$(BIN)/python bench/run.py --tier $(TIER)

## Recompile the pinned, hashed lock files from requirements/*.in.
lock:
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o requirements/base.txt requirements/base.in
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o requirements/dev.txt requirements/dev.in

clean:
	rm -rf $(VENV) var
