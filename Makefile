# The two commands of the README, and the pieces they are made of.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The pure core compiled with mypyc: about 1.3x faster, same source. If it cannot
# be compiled (no C compiler), everything runs interpreted, only slower.
CORE_SOURCES := $(wildcard custodywatch/core/*.py)
CORE_BUILD   := build/core.stamp

# Plain `make`: the venv if needed, then the core rebuilt if any of its sources changed.
.DEFAULT_GOAL := core

.PHONY: demo test lint unit unit-interpreted integration bench schemas core clean-core clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CORE_BUILD): $(STAMP) $(CORE_SOURCES) tools/compile_core.py
	mkdir -p build
	@if $(BIN)/python tools/compile_core.py >build/compile_core.log 2>&1; then \
		touch custodywatch/core/*.so; \
		echo "custodywatch/core compiled with mypyc"; \
	else \
		rm -f custodywatch/core/*.so; \
		echo "custodywatch/core NOT compiled (see build/compile_core.log): it runs interpreted"; \
	fi
	touch $@

core: $(CORE_BUILD)

clean-core:
	rm -f custodywatch/core/*.so $(CORE_BUILD)

demo: $(CORE_BUILD)
	$(BIN)/custodywatch demo

# Tests run in TEST_WORKERS processes (pytest-xdist), each with its own broker and
# PostgreSQL: most of the suite waits on real services, not on the CPU.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup

test: lint unit-interpreted $(CORE_BUILD)
	$(PYTEST) tests

# The unit tests on the interpreted core too (what a plain `pip install` and the
# Docker image run): a copy of the package without its compiled modules.
unit-interpreted: $(STAMP)
	rm -rf build/interpreted && mkdir -p build/interpreted
	cp -r custodywatch schemas build/interpreted/   # laid out as a checkout: schemas/ beside the package
	rm -f build/interpreted/custodywatch/core/*.so
	PYTHONPATH=build/interpreted $(BIN)/python -P -c \
		'import custodywatch as c; assert c.core_build() == "interpreted", c.__file__'
	PYTHONPATH=build/interpreted $(PYTEST) -p no:cacheprovider tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/custodywatch schemas export --check

unit: $(CORE_BUILD)
	$(PYTEST) tests/unit

integration: $(CORE_BUILD)
	$(PYTEST) tests/integration tests/e2e

bench: $(CORE_BUILD)
	$(BIN)/python benchmarks/bench_core.py

schemas: $(STAMP)
	$(BIN)/custodywatch schemas export

clean: clean-core
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .hypothesis
